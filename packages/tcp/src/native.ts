/**
 * The system calls Node lacks for TCP, through koffi, loaded on first use: socket buffer sizes
 * (SO_SNDBUF / SO_RCVBUF, set and read back) and duplicating an accepted socket's fd.
 */
import { constants } from "node:os";
import type * as Koffi from "koffi";
import { fromSystemError, type IpcError, requireNative } from "@ipc/core";

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_KEEPALIVE = 9;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const F_DUPFD_CLOEXEC = 1030;

interface Libc {
  setsockopt(fd: number, level: number, name: number, value: Int32Array, length: number): number;
  getsockopt(fd: number, level: number, name: number, value: Int32Array, length: number[]): number;
  fcntl(fd: number, command: number, argument: number): number;
  close(fd: number): number;
  errno(): number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc !== undefined) return libc;
  const koffi = requireNative<typeof Koffi>("koffi", import.meta.url); // see requireNative: a Node bug
  const lib = koffi.load("libc.so.6");
  libc = {
    setsockopt: lib.func("int setsockopt(int fd, int level, int name, const void *value, uint32_t length)"),
    getsockopt: lib.func("getsockopt", "int", ["int", "int", "int", "void *", koffi.inout(koffi.pointer("uint32_t"))]),
    fcntl: lib.func("fcntl", "int", ["int", "int", "long"]),
    close: lib.func("int close(int fd)"),
    errno: () => koffi.errno(),
  };
  return libc;
}

/** errno → name, keeping the first name of aliases (EAGAIN, not EWOULDBLOCK). */
const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);

function failure(errno: number, call: string, what: string): IpcError {
  const code = errnoNames.get(errno) ?? `errno ${errno}`;
  return fromSystemError(Object.assign(new Error(`${call}() failed: ${code}`), { code, errno, syscall: call }), what);
}

/** A TCP socket's options as the kernel reports them. */
export interface SocketSettings {
  /** TCP_NODELAY: Nagle's algorithm is off. */
  readonly noDelay: boolean;
  /** SO_KEEPALIVE. */
  readonly keepAlive: boolean;
  /** SO_SNDBUF in bytes (Linux doubles what was asked, within net.core.wmem_max). */
  readonly sendBufferSize: number;
  /** SO_RCVBUF in bytes (Linux doubles what was asked, within net.core.rmem_max). */
  readonly receiveBufferSize: number;
}

/** Sets the send and/or receive buffer size of socket `fd`, then reads its settings back. */
export function socketSettings(fd: number, send: number | undefined, receive: number | undefined, what: string): SocketSettings {
  const c = load();
  const value = new Int32Array(1);
  for (const [name, size, label] of [[SO_SNDBUF, send, "SO_SNDBUF"], [SO_RCVBUF, receive, "SO_RCVBUF"]] as const) {
    if (size === undefined) continue;
    value[0] = size;
    if (c.setsockopt(fd, SOL_SOCKET, name, value, 4) !== 0) throw failure(c.errno(), `setsockopt(${label})`, what);
  }
  const read = (level: number, name: number, label: string): number => {
    if (c.getsockopt(fd, level, name, value, [4]) !== 0) throw failure(c.errno(), `getsockopt(${label})`, what);
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
  const c = load();
  const copy = c.fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw failure(c.errno(), "fcntl(F_DUPFD_CLOEXEC)", what);
  return copy;
}

/** Closes an fd this module handed out, before Node owns it. */
export function closeFd(fd: number): void {
  load().close(fd);
}
