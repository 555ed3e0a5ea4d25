/**
 * The system calls of @ipc/pipe that Node lacks, declared on @ipc/native's shared C library and made on
 * first use: `pipe2` and `fcntl` (pipe capacity), `socketpair`, `dup2` and `fcntl` (a child's stdio, a channel
 * moved off fds 0 and 1), `mkfifo` and `flock` (FIFOs). Every failure follows @ipc/native's one errno
 * convention and map; a few get a message that says more about pipes. Where native calls cannot be made,
 * each feature's `UnsupportedError` (the callers fall back to Node where Node alone can do the job).
 */
import { readFileSync } from "node:fs";
import { AddressInUseError, InvalidArgumentError, PermissionDeniedError, fromSystemError, type IpcError } from "@ipc/core";
import { declare, isSupported, osError, requireFeature, type NativeFeature, type OsError } from "@ipc/native";

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

const sys = declare((libc) => ({
  pipe2: libc.func("int pipe2(_Out_ int *fds, int flags)") as (fds: number[], flags: number) => number,
  socketpair: libc.func("int socketpair(int domain, int type, int protocol, _Out_ int *fds)") as (
    domain: number,
    type: number,
    protocol: number,
    fds: number[],
  ) => number,
  // Variadic: the third argument is passed as ('int', value), which is right on every ABI.
  fcntl: libc.func("int fcntl(int fd, int cmd, ...)") as (fd: number, command: number, ...argument: [] | ["int", number]) => number,
  dup2: libc.func("int dup2(int oldfd, int newfd)") as (oldFd: number, newFd: number) => number,
  mkfifo: libc.func("int mkfifo(const char *path, uint32_t mode)") as (path: string, mode: number) => number,
  flock: libc.func("int flock(int fd, int operation)") as (fd: number, operation: number) => number,
}));

/** The features of @ipc/pipe that need native calls. */
export type PipeFeature = Extract<NativeFeature, "pipe.capacity" | "pipe.stdio" | "fifo">;

/** True when the feature's native calls can be made here. */
export function canUse(feature: PipeFeature): boolean {
  return isSupported(feature);
}

/** Throws the feature's `UnsupportedError` where its native calls cannot be made. */
export function mustUse(feature: PipeFeature): void {
  requireFeature(feature);
}

/** The typed error for a failed call whose errno no pipe-specific message covers. */
function typed(what: string, error: OsError): IpcError {
  return fromSystemError(error, what);
}

/** A new pipe, close-on-exec: `[readFd, writeFd]`. */
export function pipe2(): [number, number] {
  const c = sys("pipe.capacity");
  const fds = [-1, -1];
  if (c.pipe2(fds, O_CLOEXEC) < 0) throw typed("create a pipe", osError("pipe2"));
  return [fds[0]!, fds[1]!];
}

/** A connected pair of Unix stream sockets, close-on-exec: what Node's child_process uses for stdio. */
export function socketpair(): [number, number] {
  const c = sys("pipe.stdio");
  const fds = [-1, -1];
  if (c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw typed("create a socket pair", osError("socketpair"));
  return [fds[0]!, fds[1]!];
}

function notAPipe(fd: number, error: OsError): IpcError {
  return new InvalidArgumentError(
    `fd ${fd} is not a pipe (${error.code}); Node's stdio 'pipe' is a socketpair: create real pipes with createPipe() or the pipeCapacity option`,
    { cause: error },
  );
}

/** F_GETPIPE_SZ: the capacity of the pipe `fd` refers to, in bytes. */
export function getPipeSize(fd: number): number {
  const c = sys("pipe.capacity");
  const size = c.fcntl(fd, F_GETPIPE_SZ);
  if (size < 0) {
    const error = osError("fcntl(F_GETPIPE_SZ)");
    throw error.code === "EBADF" || error.code === "EINVAL" ? notAPipe(fd, error) : typed(`read the capacity of fd ${fd}`, error);
  }
  return size;
}

/** F_SETPIPE_SZ: asks for `bytes` and returns the capacity the kernel gave (rounded up to a power of 2 pages). */
export function setPipeSize(fd: number, bytes: number): number {
  const c = sys("pipe.capacity");
  const size = c.fcntl(fd, F_SETPIPE_SZ, "int", bytes);
  if (size >= 0) return size;
  const error = osError("fcntl(F_SETPIPE_SZ)");
  switch (error.code) {
    case "EPERM": {
      const max = readPipeMaxSize();
      throw new PermissionDeniedError(
        `cannot set the capacity of pipe fd ${fd} to ${bytes} bytes: over /proc/sys/fs/pipe-max-size ` +
          `(${max} bytes) or this user's pipe buffer quota (fs.pipe-user-pages-soft), and this process lacks ` +
          `CAP_SYS_RESOURCE; ask for at most ${max} bytes, or raise the limit (sysctl fs.pipe-max-size)`,
        { cause: error },
      );
    }
    case "EBUSY":
      throw new InvalidArgumentError(`cannot shrink pipe fd ${fd} to ${bytes} bytes: it holds more data than that (EBUSY); read it first`, { cause: error });
    case "EBADF":
      throw notAPipe(fd, error);
    case "EINVAL":
      throw new InvalidArgumentError(`fd ${fd} is not a pipe, or ${bytes} bytes is not a valid pipe capacity (EINVAL)`, {
        cause: error,
      });
    default:
      throw typed(`set the capacity of pipe fd ${fd}`, error);
  }
}

/** /proc/sys/fs/pipe-max-size: the largest capacity an unprivileged process may ask for. */
export function readPipeMaxSize(): number {
  return Number(readFileSync("/proc/sys/fs/pipe-max-size", "utf8").trim());
}

/** A duplicate of `fd` at the lowest free number ≥ 3, close-on-exec (so children do not inherit it). */
export function dupCloexec(fd: number): number {
  const c = sys("pipe.stdio");
  const copy = c.fcntl(fd, F_DUPFD_CLOEXEC, "int", 3);
  if (copy < 0) throw typed(`duplicate fd ${fd}`, osError("fcntl(F_DUPFD_CLOEXEC)"));
  return copy;
}

/** Makes `newFd` refer to what `oldFd` refers to (closing what `newFd` referred to). */
export function dup2(oldFd: number, newFd: number): void {
  const c = sys("pipe.stdio");
  if (c.dup2(oldFd, newFd) < 0) throw typed(`point fd ${newFd} at fd ${oldFd}`, osError("dup2"));
}

/** mkfifo(3): creates a FIFO at `path` with `mode` (reduced by the umask). */
export function mkfifo(path: string, mode: number): void {
  const c = sys("fifo");
  if (c.mkfifo(path, mode) === 0) return;
  const error = Object.assign(osError("mkfifo"), { path });
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
      throw typed(what, error);
  }
}

/**
 * flock(LOCK_EX | LOCK_NB) on `fd`: true when this process now holds the lock, false when another open
 * file holds it. The lock goes with the descriptor: closing it (or dying) releases it.
 */
export function tryLock(fd: number, path: string): boolean {
  const c = sys("fifo");
  if (c.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const error = osError("flock");
  if (error.code === "EAGAIN" || error.code === "EWOULDBLOCK") return false;
  throw typed(`lock ${path}`, error);
}
