/**
 * The system calls of @ipc/unix that Node lacks, declared on @ipc/native's shared C library and made on
 * first use (importing @ipc/unix loads no native code): binding and connecting abstract names with their
 * exact bytes, the mode of a socket file before bind, SO_PEERCRED, duplicating an accepted socket's fd,
 * and flock() on the lock file that makes replacing a stale socket file atomic (bind-lock.ts). Every
 * failure is @ipc/native's typed error naming the call; where native calls cannot be made, each feature's
 * `UnsupportedError` (the callers fall back to node:net where Node alone can do the job).
 */
import type { Peer } from "@ipc/core";
import { declare, failure, isSupported, lastErrno, requireFeature, type NativeFeature } from "@ipc/native";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const F_DUPFD_CLOEXEC = 1030;
const LOCK_EX = 2;
const LOCK_NB = 4;
const EAGAIN = 11; // EWOULDBLOCK on Linux
/** struct sockaddr_un: a 2-byte family, then 108 bytes of path. */
const SOCKADDR_UN_SIZE = 110;

interface Ucred {
  pid?: number;
  uid?: number;
  gid?: number;
}

const sys = declare((libc, koffi) => {
  // Anonymous types: koffi's type names are global to the process, and other packages declare their own.
  const ucred = koffi.struct({ pid: "int32_t", uid: "uint32_t", gid: "uint32_t" });
  return {
    socket: libc.func("int socket(int domain, int type, int protocol)") as (domain: number, type: number, protocol: number) => number,
    bind: libc.func("int bind(int fd, const void *address, uint32_t length)") as (fd: number, address: Buffer, length: number) => number,
    connect: libc.func("int connect(int fd, const void *address, uint32_t length)") as (fd: number, address: Buffer, length: number) => number,
    fchmod: libc.func("int fchmod(int fd, uint32_t mode)") as (fd: number, mode: number) => number,
    close: libc.func("int close(int fd)") as (fd: number) => number,
    flock: libc.func("int flock(int fd, int operation)") as (fd: number, operation: number) => number,
    fcntl: libc.func("fcntl", "int", ["int", "int", "long"]) as (fd: number, command: number, argument: number) => number,
    getsockopt: libc.func("getsockopt", "int", ["int", "int", "int", koffi.out(koffi.pointer(ucred)), koffi.inout(koffi.pointer("uint32_t"))]) as (
      fd: number,
      level: number,
      name: number,
      value: Ucred,
      length: number[],
    ) => number,
  };
});

/** The features of @ipc/unix that need native calls. */
export type UnixFeature = Extract<NativeFeature, "unix.peerCredentials" | "unix.abstract" | "sockets.inPlaceReads">;

/** True when the feature's native calls can be made here (the callers fall back to node:net otherwise). */
export function canUse(feature: UnixFeature): boolean {
  return isSupported(feature);
}

/** Throws the feature's `UnsupportedError` where its native calls cannot be made. */
export function mustUse(feature: UnixFeature): void {
  requireFeature(feature);
}

/** A socket file's path, or a name in the abstract namespace. */
export type SocketName = { readonly path: string } | { readonly abstract: string };

/**
 * Socket files are bound and connected through these calls where the peer's credentials can be read (the
 * same native layer), and through node:net elsewhere; abstract names only through these calls.
 */
function featureOf(name: SocketName): UnixFeature {
  return "path" in name ? "unix.peerCredentials" : "unix.abstract";
}

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
  const c = sys(featureOf(name));
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw failure("socket", what);
  try {
    if ("path" in name && c.fchmod(fd, mode) !== 0) throw failure("fchmod", what);
    const { address, length } = socketAddress(name);
    if (c.bind(fd, address, length) !== 0) throw failure("bind", what);
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
  const c = sys(featureOf(name));
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw failure("socket", what);
  const { address, length } = socketAddress(name);
  if (c.connect(fd, address, length) !== 0) {
    const error = failure("connect", what); // errno first: close() would overwrite it
    c.close(fd);
    throw error;
  }
  return fd;
}

/** Closes an fd this module handed out (after a failure, before Node owns it). */
export function closeFd(fd: number): void {
  sys("sockets.inPlaceReads").close(fd);
}

/** A duplicate of `fd` (close-on-exec), for taking over a socket Node accepted. */
export function duplicate(fd: number, what: string): number {
  const c = sys("sockets.inPlaceReads");
  const copy = c.fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw failure("fcntl(F_DUPFD_CLOEXEC)", what);
  return copy;
}

/** The pid, uid and gid of the process at the other end of the Unix socket `fd` (SO_PEERCRED). */
export function peerCredentials(fd: number, what: string): Peer {
  const c = sys("unix.peerCredentials");
  const value: Ucred = {};
  if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, value, [12]) !== 0) throw failure("getsockopt(SO_PEERCRED)", what);
  return { pid: value.pid ?? 0, uid: value.uid ?? 0, gid: value.gid ?? 0 };
}

/**
 * flock(LOCK_EX | LOCK_NB) on `fd`: true when this open file now holds the lock, false when another open
 * file (of this process or another) holds it. The lock goes with the open file: closing the last descriptor
 * of it, or dying, releases it. Socket files are bound through native calls exactly where this can be made.
 */
export function tryLock(fd: number, what: string): boolean {
  if (sys("unix.peerCredentials").flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const errno = lastErrno(); // right away: any other native call would overwrite it
  if (errno === EAGAIN) return false;
  throw failure("flock", what, errno);
}
