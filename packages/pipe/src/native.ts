/**
 * The system calls Node lacks, through koffi: `pipe2`, `socketpair`, `fcntl` (pipe capacity, duplicating a
 * descriptor), `dup2`, `mkfifo` and `flock`. The C signatures are all here; koffi is loaded on the first call, never at
 * import time; every failure becomes a typed error here, with an OS-style error (`code`, `errno`,
 * `syscall`) kept as its `cause`. Linux only (F_SETPIPE_SZ and friends do not exist elsewhere).
 */
import { readFileSync } from "node:fs";
import type * as Koffi from "koffi";
import {
  AddressInUseError,
  InvalidArgumentError,
  PermissionDeniedError,
  requireNative,
  type IpcError,
} from "@ipc/core";
import { SystemCallError } from "./errors.js";

// Linux (generic and x86-64/arm64) values.
const O_CLOEXEC = 0o2000000;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const F_DUPFD_CLOEXEC = 1030;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const LOCK_EX = 2;
const LOCK_NB = 4;

type CFunction = ReturnType<Koffi.LibraryHandle["func"]>;

interface Libc {
  readonly koffi: typeof Koffi;
  readonly pipe2: CFunction;
  readonly socketpair: CFunction;
  readonly fcntl: CFunction;
  readonly dup2: CFunction;
  readonly mkfifo: CFunction;
  readonly flock: CFunction;
  readonly names: ReadonlyMap<number, string>;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc !== undefined) return libc;
  if (process.platform !== "linux") {
    throw new InvalidArgumentError(`@ipc/pipe's system calls (pipe2, F_SETPIPE_SZ, mkfifo) need Linux, not ${process.platform}`);
  }
  const koffi = requireNative<typeof Koffi>("koffi", import.meta.url); // see requireNative: a Node bug
  const lib = koffi.load("libc.so.6");
  libc = {
    koffi,
    pipe2: lib.func("int pipe2(_Out_ int *fds, int flags)"),
    socketpair: lib.func("int socketpair(int domain, int type, int protocol, _Out_ int *fds)"),
    // Variadic: the third argument is passed as ('int', value), which is right on every ABI.
    fcntl: lib.func("int fcntl(int fd, int cmd, ...)"),
    dup2: lib.func("int dup2(int oldfd, int newfd)"),
    mkfifo: lib.func("int mkfifo(const char *path, uint32_t mode)"),
    flock: lib.func("int flock(int fd, int operation)"),
    names: new Map(Object.entries(koffi.os.errno).map(([name, value]) => [value, name])),
  };
  return libc;
}

/** An OS-style error, as Node makes them: what `cause` holds. */
export interface OsError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
}

/** Reads errno right after a failed call (any other native work would overwrite it). */
function osError(lib: Libc, syscall: string): OsError {
  const errno = lib.koffi.errno();
  const code = lib.names.get(errno) ?? `errno ${errno}`;
  return Object.assign(new Error(`${syscall}: ${code}`), { code, errno: -errno, syscall });
}

function unexpected(what: string, error: OsError): IpcError {
  return new SystemCallError(`${what} failed (${error.code})`, error.syscall, error.code, { cause: error });
}

/** A new pipe, close-on-exec: `[readFd, writeFd]`. */
export function pipe2(): [number, number] {
  const lib = load();
  const fds = [-1, -1];
  if (lib.pipe2(fds, O_CLOEXEC) < 0) {
    const error = osError(lib, "pipe2");
    throw unexpected(
      error.code === "EMFILE" || error.code === "ENFILE" ? "pipe2: too many open files" : "pipe2",
      error,
    );
  }
  return [fds[0]!, fds[1]!];
}

/** A connected pair of Unix stream sockets, close-on-exec: what Node's child_process uses for stdio. */
export function socketpair(): [number, number] {
  const lib = load();
  const fds = [-1, -1];
  if (lib.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw unexpected("socketpair", osError(lib, "socketpair"));
  return [fds[0]!, fds[1]!];
}

function notAPipe(fd: number, error: OsError): IpcError {
  return new InvalidArgumentError(
    `fd ${fd} is not a pipe (${error.code}); Node's stdio 'pipe' is a socketpair: create real pipes ` +
      "with createPipe() or the pipeCapacity option",
    { cause: error },
  );
}

/** F_GETPIPE_SZ: the capacity of the pipe `fd` refers to, in bytes. */
export function getPipeSize(fd: number): number {
  const lib = load();
  const size = lib.fcntl(fd, F_GETPIPE_SZ) as number;
  if (size < 0) {
    const error = osError(lib, "fcntl");
    throw error.code === "EBADF" || error.code === "EINVAL" ? notAPipe(fd, error) : unexpected("F_GETPIPE_SZ", error);
  }
  return size;
}

/** F_SETPIPE_SZ: asks for `bytes` and returns the capacity the kernel gave (rounded up to a power of 2 pages). */
export function setPipeSize(fd: number, bytes: number): number {
  const lib = load();
  const size = lib.fcntl(fd, F_SETPIPE_SZ, "int", bytes) as number;
  if (size >= 0) return size;
  const error = osError(lib, "fcntl");
  switch (error.code) {
    case "EPERM": {
      const max = readPipeMaxSize();
      return throwError(
        new PermissionDeniedError(
          `cannot set the capacity of pipe fd ${fd} to ${bytes} bytes: over /proc/sys/fs/pipe-max-size ` +
            `(${max} bytes) or this user's pipe buffer quota (fs.pipe-user-pages-soft), and this process lacks ` +
            `CAP_SYS_RESOURCE; ask for at most ${max} bytes, or raise the limit (sysctl fs.pipe-max-size)`,
          { cause: error },
        ),
      );
    }
    case "EBUSY":
      return throwError(
        new InvalidArgumentError(
          `cannot shrink pipe fd ${fd} to ${bytes} bytes: it holds more data than that (EBUSY); read it first`,
          { cause: error },
        ),
      );
    case "EBADF":
      return throwError(notAPipe(fd, error));
    case "EINVAL":
      return throwError(
        new InvalidArgumentError(`fd ${fd} is not a pipe, or ${bytes} bytes is not a valid pipe capacity (EINVAL)`, {
          cause: error,
        }),
      );
    default:
      return throwError(unexpected("F_SETPIPE_SZ", error));
  }
}

/** /proc/sys/fs/pipe-max-size: the largest capacity an unprivileged process may ask for. */
export function readPipeMaxSize(): number {
  return Number(readFileSync("/proc/sys/fs/pipe-max-size", "utf8").trim());
}

/** A duplicate of `fd` at the lowest free number ≥ 3, close-on-exec (so children do not inherit it). */
export function dupCloexec(fd: number): number {
  const lib = load();
  const copy = lib.fcntl(fd, F_DUPFD_CLOEXEC, "int", 3) as number;
  if (copy < 0) throw unexpected(`duplicating fd ${fd}`, osError(lib, "fcntl"));
  return copy;
}

/** Makes `newFd` refer to what `oldFd` refers to (closing what `newFd` referred to). */
export function dup2(oldFd: number, newFd: number): void {
  const lib = load();
  if ((lib.dup2(oldFd, newFd) as number) < 0) throw unexpected(`dup2(${oldFd}, ${newFd})`, osError(lib, "dup2"));
}

/** mkfifo(3): creates a FIFO at `path` with `mode` (reduced by the umask). */
export function mkfifo(path: string, mode: number): void {
  const lib = load();
  if ((lib.mkfifo(path, mode) as number) === 0) return;
  const error = Object.assign(osError(lib, "mkfifo"), { path });
  const what = `mkfifo ${path}`;
  switch (error.code) {
    case "EEXIST":
      throw new AddressInUseError(`${what}: the path already exists (EEXIST); remove it or choose another path`, {
        cause: error,
      });
    case "EACCES":
    case "EPERM":
    case "EROFS":
      throw new PermissionDeniedError(`${what}: permission denied (${error.code}); check the directory's permissions`, {
        cause: error,
      });
    case "ENOENT":
    case "ENOTDIR":
      throw new InvalidArgumentError(`${what}: a directory in the path does not exist (${error.code})`, { cause: error });
    case "ENAMETOOLONG":
      throw new InvalidArgumentError(`${what}: the path is too long (ENAMETOOLONG)`, { cause: error });
    default:
      throw unexpected(what, error);
  }
}

/**
 * flock(LOCK_EX | LOCK_NB) on `fd`: true when this process now holds the lock, false when another open
 * file holds it. The lock goes with the descriptor: closing it (or dying) releases it.
 */
export function tryLock(fd: number, path: string): boolean {
  const lib = load();
  if ((lib.flock(fd, LOCK_EX | LOCK_NB) as number) === 0) return true;
  const error = osError(lib, "flock");
  if (error.code === "EWOULDBLOCK" || error.code === "EAGAIN") return false;
  throw unexpected(`locking ${path}`, error);
}

function throwError(error: Error): never {
  throw error;
}
