/**
 * The system calls Node lacks, through koffi, loaded on first use (importing @ipc/unix loads no native
 * code). Linux x86-64 and arm64 (glibc). Every failure becomes a typed error naming the call.
 */
import { constants } from "node:os";
import type * as Koffi from "koffi";
import { fromSystemError, type IpcError, type Peer, requireNative } from "@ipc/core";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const F_DUPFD_CLOEXEC = 1030;
/** struct sockaddr_un: a 2-byte family, then 108 bytes of path. */
const SOCKADDR_UN_SIZE = 110;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, address: Buffer, length: number): number;
  connect(fd: number, address: Buffer, length: number): number;
  fchmod(fd: number, mode: number): number;
  close(fd: number): number;
  fcntl(fd: number, command: number, argument: number): number;
  getsockopt(fd: number, level: number, name: number, value: { pid?: number; uid?: number; gid?: number }, length: number[]): number;
  errno(): number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc !== undefined) return libc;
  const koffi = requireNative<typeof Koffi>("koffi", import.meta.url); // see requireNative: a Node bug
  const lib = koffi.load("libc.so.6");
  // Anonymous types: koffi's type names are global to the process, and other packages declare their own.
  const ucred = koffi.struct({ pid: "int32_t", uid: "uint32_t", gid: "uint32_t" });
  libc = {
    socket: lib.func("int socket(int domain, int type, int protocol)"),
    bind: lib.func("int bind(int fd, const void *address, uint32_t length)"),
    connect: lib.func("int connect(int fd, const void *address, uint32_t length)"),
    fchmod: lib.func("int fchmod(int fd, uint32_t mode)"),
    close: lib.func("int close(int fd)"),
    fcntl: lib.func("fcntl", "int", ["int", "int", "long"]),
    getsockopt: lib.func("getsockopt", "int", ["int", "int", "int", koffi.out(koffi.pointer(ucred)), koffi.inout(koffi.pointer("uint32_t"))]),
    errno: () => koffi.errno(),
  };
  return libc;
}

/** errno → name, keeping the first name of aliases (EAGAIN, not EWOULDBLOCK). */
const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);

/** The typed error for a failed call; `errno` must be read right after the call. */
function failure(errno: number, call: string, what: string): IpcError {
  const code = errnoNames.get(errno) ?? `errno ${errno}`;
  return fromSystemError(Object.assign(new Error(`${call}() failed: ${code}`), { code, errno, syscall: call }), what);
}

/** A socket file's path, or a name in the abstract namespace. */
export type SocketName = { readonly path: string } | { readonly abstract: string };

/**
 * struct sockaddr_un and its length. A path ends with a NUL; an abstract name is a NUL then exactly the
 * name's bytes — the form every other language uses (Node's own net module pads abstract names to 108
 * bytes, a different name to the kernel, which is why binding and connecting go through here).
 */
function socketAddress(name: SocketName): { address: Buffer; length: number } {
  const address = Buffer.alloc(SOCKADDR_UN_SIZE);
  address.writeUInt16LE(AF_UNIX, 0);
  if ("path" in name) return { address, length: 2 + address.write(name.path, 2, "utf8") + 1 };
  return { address, length: 2 + 1 + address.write(name.abstract, 3, "utf8") };
}

/**
 * A Unix stream socket bound to `name`. A socket file gets `mode` BEFORE bind, so it never exists with
 * wider permissions (bind() still applies the umask: the caller widens to `mode` afterwards). Returns the
 * fd (close-on-exec), ready for `listen()`. Throws `AddressInUseError` on EADDRINUSE (the caller probes for
 * a live server), or the typed error of the failure.
 */
export function bindSocket(name: SocketName, mode: number, what: string): number {
  const c = load();
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw failure(c.errno(), "socket", what);
  try {
    if ("path" in name && c.fchmod(fd, mode) !== 0) throw failure(c.errno(), "fchmod", what);
    const { address, length } = socketAddress(name);
    if (c.bind(fd, address, length) !== 0) throw failure(c.errno(), "bind", what);
  } catch (error) {
    c.close(fd);
    throw error;
  }
  return fd;
}

/**
 * A Unix stream socket connected to `name` (non-blocking, close-on-exec). A Unix connect completes at
 * once: it fails with ECONNREFUSED or ENOENT when nobody listens, EAGAIN when the listener's backlog is
 * full, EACCES when the socket file's mode forbids it.
 */
export function connectSocket(name: SocketName, what: string): number {
  const c = load();
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw failure(c.errno(), "socket", what);
  const { address, length } = socketAddress(name);
  if (c.connect(fd, address, length) !== 0) {
    const errno = c.errno();
    c.close(fd);
    throw failure(errno, "connect", what);
  }
  return fd;
}

/** Closes an fd this module handed out (after a failure, before Node owns it). */
export function closeFd(fd: number): void {
  load().close(fd);
}

/** A duplicate of `fd` (close-on-exec), for taking over a socket Node accepted. */
export function duplicate(fd: number, what: string): number {
  const c = load();
  const copy = c.fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw failure(c.errno(), "fcntl(F_DUPFD_CLOEXEC)", what);
  return copy;
}

/** The pid, uid and gid of the process at the other end of the Unix socket `fd` (SO_PEERCRED). */
export function peerCredentials(fd: number, what: string): Peer {
  const c = load();
  const value: { pid?: number; uid?: number; gid?: number } = {};
  if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, value, [12]) !== 0) throw failure(c.errno(), "getsockopt(SO_PEERCRED)", what);
  return { pid: value.pid ?? 0, uid: value.uid ?? 0, gid: value.gid ?? 0 };
}
