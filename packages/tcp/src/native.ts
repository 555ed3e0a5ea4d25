/**
 * The system calls of @ipc/tcp that Node lacks, declared on @ipc/native's shared C library and made on
 * first use: socket buffer sizes (SO_SNDBUF / SO_RCVBUF, set and read back) and duplicating an accepted
 * socket's fd. Where native calls cannot be made, asking for a buffer size is an `UnsupportedError`, the
 * settings are reported as Node set them, and accepted sockets are used as Node made them.
 */
import { declare, failure, isSupported, requireFeature } from "@ipc/native";

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_KEEPALIVE = 9;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const F_DUPFD_CLOEXEC = 1030;

const sys = declare((libc, koffi) => ({
  setsockopt: libc.func("int setsockopt(int fd, int level, int name, const void *value, uint32_t length)") as (
    fd: number,
    level: number,
    name: number,
    value: Int32Array,
    length: number,
  ) => number,
  getsockopt: libc.func("getsockopt", "int", ["int", "int", "int", "void *", koffi.inout(koffi.pointer("uint32_t"))]) as (
    fd: number,
    level: number,
    name: number,
    value: Int32Array,
    length: number[],
  ) => number,
  fcntl: libc.func("fcntl", "int", ["int", "int", "long"]) as (fd: number, command: number, argument: number) => number,
  close: libc.func("int close(int fd)") as (fd: number) => number,
}));

/** A TCP socket's options as the kernel reports them. */
export interface SocketSettings {
  /** TCP_NODELAY: Nagle's algorithm is off. */
  readonly noDelay: boolean;
  /** SO_KEEPALIVE. */
  readonly keepAlive: boolean;
  /**
   * SO_SNDBUF in bytes (Linux doubles what was asked, within net.core.wmem_max); `undefined` where native
   * calls cannot be made (see @ipc/native).
   */
  readonly sendBufferSize: number | undefined;
  /**
   * SO_RCVBUF in bytes (Linux doubles what was asked, within net.core.rmem_max); `undefined` where native
   * calls cannot be made (see @ipc/native).
   */
  readonly receiveBufferSize: number | undefined;
}

/** True when accepted sockets can be taken over (a duplicate fd, so large messages are read in place). */
export function canAdopt(): boolean {
  return isSupported("sockets.inPlaceReads");
}

/** True when socket settings can be set and read back through native calls. */
export function canReadSettings(): boolean {
  return isSupported("tcp.bufferSizes");
}

/** Throws `UnsupportedError` when buffer sizes are asked for where native calls cannot be made. */
export function checkBufferSizes(send: number | undefined, receive: number | undefined): void {
  if (send !== undefined || receive !== undefined) requireFeature("tcp.bufferSizes");
}

/** Sets the send and/or receive buffer size of socket `fd`, then reads its settings back. */
export function socketSettings(fd: number, send: number | undefined, receive: number | undefined, what: string): SocketSettings {
  const c = sys("tcp.bufferSizes");
  const value = new Int32Array(1);
  for (const [name, size, label] of [
    [SO_SNDBUF, send, "SO_SNDBUF"],
    [SO_RCVBUF, receive, "SO_RCVBUF"],
  ] as const) {
    if (size === undefined) continue;
    value[0] = size;
    if (c.setsockopt(fd, SOL_SOCKET, name, value, 4) !== 0) throw failure(`setsockopt(${label})`, what);
  }
  const read = (level: number, name: number, label: string): number => {
    if (c.getsockopt(fd, level, name, value, [4]) !== 0) throw failure(`getsockopt(${label})`, what);
    return value[0]!;
  };
  return {
    noDelay: read(IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY") !== 0,
    keepAlive: read(SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE") !== 0,
    sendBufferSize: read(SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF"),
    receiveBufferSize: read(SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF"),
  };
}

/** A duplicate of `fd` (close-on-exec), for taking over a socket Node accepted. */
export function duplicate(fd: number, what: string): number {
  const c = sys("sockets.inPlaceReads");
  const copy = c.fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw failure("fcntl(F_DUPFD_CLOEXEC)", what);
  return copy;
}

/** Closes an fd this module handed out, before Node owns it. */
export function closeFd(fd: number): void {
  sys("sockets.inPlaceReads").close(fd);
}
