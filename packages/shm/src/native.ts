/**
 * The system calls behind @ipc/shm, declared on @ipc/native's shared C library and made on first use:
 * POSIX shared memory (shm_open / ftruncate / mmap / munmap / shm_unlink) and futexes. Linux x86-64 and
 * arm64 (glibc ≥ 2.34, where shm_open lives in libc); elsewhere, and with IPC_NATIVE=off, every call is
 * @ipc/native's `UnsupportedError` for the feature "shm". Every failure is a typed error naming the call.
 */
import type { IpcError } from "@ipc/core";
import { declare, errnoName, failure as nativeFailure, lastErrno, requireFeature } from "@ipc/native";

export const O_RDONLY = 0;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
const O_NOFOLLOW = 0o400000;
const O_CLOEXEC = 0o2000000;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_PRIVATE = 2;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
const FUTEX_WAIT = 0;
const FUTEX_WAKE = 1;
const SYS_FUTEX = process.arch === "arm64" ? 98 : 202;
const SYS_GETTID = process.arch === "arm64" ? 178 : 186;

type Pointer = bigint;
type Timespec = { tv_sec: number; tv_nsec: number } | null;
type FutexCall = ((nr: number, address: Pointer, op: number, value: number, timeout: Timespec, address2: null, value3: number) => number) & {
  async(
    nr: number,
    address: Pointer,
    op: number,
    value: number,
    timeout: Timespec,
    address2: null,
    value3: number,
    done: (error: unknown, result: number) => void,
  ): void;
};

const sys = declare((libc, koffi) => {
  const timespec = koffi.struct({ tv_sec: "int64_t", tv_nsec: "long" });
  const syscall0 = libc.func("syscall", "long", ["long"]) as (nr: number) => number;
  return {
    view: (address: Pointer, length: number): ArrayBuffer => koffi.view(address, length),
    shmOpen: libc.func("int shm_open(const char *name, int flags, uint32_t mode)") as (name: string, flags: number, mode: number) => number,
    shmUnlink: libc.func("int shm_unlink(const char *name)") as (name: string) => number,
    ftruncate: libc.func("int ftruncate(int fd, int64_t length)") as (fd: number, length: number) => number,
    mmap: libc.func("void *mmap(void *address, size_t length, int protection, int flags, int fd, int64_t offset)") as (
      address: Pointer | null,
      length: number,
      protection: number,
      flags: number,
      fd: number,
      offset: number,
    ) => Pointer,
    munmap: libc.func("int munmap(void *address, size_t length)") as (address: Pointer, length: number) => number,
    fchmod: libc.func("int fchmod(int fd, uint32_t mode)") as (fd: number, mode: number) => number,
    close: libc.func("int close(int fd)") as (fd: number) => number,
    futex: libc.func("syscall", "long", ["long", "void *", "int", "int", koffi.pointer(timespec), "void *", "int"]) as unknown as FutexCall,
    gettid: () => syscall0(SYS_GETTID),
  };
});

/** The shm calls, or @ipc/native's `UnsupportedError` for "shm" where they cannot be made. */
const load = () => sys("shm");

/** Throws `UnsupportedError` for "shm" where its native calls cannot be made (before other work starts). */
export function requireShm(): void {
  requireFeature("shm");
}

/** The typed error of the call that just failed (read right after it), with its OS error as `cause`. */
export function failure(call: string, what: string): IpcError & { cause: { code: string } } {
  return nativeFailure(call, what) as IpcError & { cause: { code: string } };
}

/** Opens (or creates) a POSIX shared-memory object; returns its fd (close-on-exec, no symlinks). */
export function shmOpen(name: string, flags: number, mode: number, what: string): number {
  const c = load();
  const fd = c.shmOpen(`/${name}`, flags | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) throw failure("shm_open", what);
  return fd;
}

/** Gives an fd exactly `mode` (the umask narrowed it at creation). */
export function fchmod(fd: number, mode: number, what: string): void {
  const c = load();
  if (c.fchmod(fd, mode) !== 0) throw failure("fchmod", what);
}

export function truncate(fd: number, length: number, what: string): void {
  const c = load();
  if (c.ftruncate(fd, length) !== 0) throw failure("ftruncate", what);
}

export function closeFd(fd: number): void {
  load().close(fd);
}

export function shmUnlink(name: string, what: string): void {
  const c = load();
  if (c.shmUnlink(`/${name}`) !== 0) throw failure("shm_unlink", what);
}

/** A mapping of `length` bytes of `fd` and an ArrayBuffer over it. */
export interface Mapping {
  readonly address: Pointer;
  readonly length: number;
  readonly buffer: ArrayBuffer;
}

/**
 * Maps `fd`. Shared and writable, or — `readOnly` — private and copy-on-write: this process sees the
 * segment as others change it, and its own writes stay its own (a write can never crash it).
 */
export function map(fd: number, length: number, readOnly: boolean, what: string): Mapping {
  const c = load();
  const address = c.mmap(null, length, PROT_READ | PROT_WRITE, readOnly ? MAP_PRIVATE : MAP_SHARED, fd, 0);
  if (address === MAP_FAILED) throw failure("mmap", what);
  return { address, length, buffer: c.view(address, length) };
}

/**
 * Lets go of the segment without invalidating ArrayBuffers over it: private zero-filled memory is mapped
 * over the same addresses, so a stale view reads zeros instead of crashing the process. Call {@link unmap}
 * once no view can be reached any more.
 */
export function detach(mapping: Mapping): void {
  const c = load();
  const address = c.mmap(mapping.address, mapping.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (address === MAP_FAILED) c.munmap(mapping.address, mapping.length);
}

export function unmap(address: Pointer, length: number): void {
  load().munmap(address, length);
}

/** An ArrayBuffer over `length` bytes of a mapping from `offset`. */
export function view(mapping: Mapping, offset: number, length: number): ArrayBuffer {
  return load().view(mapping.address + BigInt(offset), length);
}

/** The address of byte `offset` of a mapping, for futexes. */
export function addressOf(mapping: Mapping, offset: number): Pointer {
  return mapping.address + BigInt(offset);
}

/**
 * FUTEX_WAIT on a shared 32-bit word while it holds `expected`, for at most `timeoutMs` — blocking this
 * thread. Returns "woken", "changed" (the word did not hold `expected`) or "timeout".
 */
export function futexWaitSync(address: Pointer, expected: number, timeoutMs: number): "woken" | "changed" | "timeout" {
  const c = load();
  const timeout = { tv_sec: Math.floor(timeoutMs / 1000), tv_nsec: Math.round((timeoutMs % 1000) * 1e6) };
  const result = c.futex(SYS_FUTEX, address, FUTEX_WAIT, expected | 0, timeout, null, 0);
  if (result === 0) return "woken";
  return errnoName(lastErrno()) === "ETIMEDOUT" ? "timeout" : "changed";
}

/**
 * FUTEX_WAIT on a libuv thread-pool thread, so the event loop runs meanwhile. It holds one pool thread
 * while it waits (4 by default): keep `timeoutMs` short and wait again.
 */
export function futexWait(address: Pointer, expected: number, timeoutMs: number): Promise<"woken" | "changed" | "timeout"> {
  const c = load();
  const timeout = { tv_sec: Math.floor(timeoutMs / 1000), tv_nsec: Math.round((timeoutMs % 1000) * 1e6) };
  return new Promise((resolve) => {
    c.futex.async(SYS_FUTEX, address, FUTEX_WAIT, expected | 0, timeout, null, 0, (_error, result) => {
      if (result === 0) return resolve("woken");
      resolve(errnoName(lastErrno()) === "ETIMEDOUT" ? "timeout" : "changed");
    });
  });
}

/** FUTEX_WAKE: wakes up to `count` waiters on the word. */
export function futexWake(address: Pointer, count: number): number {
  return load().futex(SYS_FUTEX, address, FUTEX_WAKE, count, null, null, 0);
}

/** This thread's kernel id (the pid, on the main thread); unique across the system while it lives. */
let tid: number | undefined;
export function threadId(): number {
  tid ??= load().gettid();
  return tid;
}
