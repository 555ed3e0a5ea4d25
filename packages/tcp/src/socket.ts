/** What every TCP connection gets, on both sides: socket options, buffer sizes, idle and write watchdogs. */
import type net from "node:net";
import { InvalidArgumentError, TimeoutError, type Connection } from "@ipc/core";
import { canReadSettings, checkBufferSizes, socketSettings, type SocketSettings } from "./native.js";
import type { TcpSocketOptions } from "./options.js";

/** A TCP connection: the core `Connection`, plus what the kernel says about its socket. */
export interface TcpConnection extends Connection {
  /** The socket's Nagle, keep-alive and buffer settings as the kernel reports them, after the options. */
  readonly socket: SocketSettings;
}

/** The fd of a socket Node created (a stable, if undocumented, property of its handle). */
export function socketFd(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new InvalidArgumentError("this socket has no file descriptor");
  return fd;
}

function checkMilliseconds(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
    throw new InvalidArgumentError(`${name} must be a number of milliseconds > 0, got ${String(value)}`);
  }
}

/**
 * Rejects bad socket options up front; buffer sizes where native calls cannot be made are an
 * `UnsupportedError` (Node alone cannot set them on a TCP socket).
 */
export function checkSocketOptions(options: TcpSocketOptions | undefined): void {
  checkMilliseconds("idleTimeout", options?.idleTimeout);
  checkMilliseconds("writeTimeout", options?.writeTimeout);
  for (const name of ["sendBufferSize", "receiveBufferSize"] as const) {
    const size = options?.[name];
    if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > 2 ** 30)) {
      throw new InvalidArgumentError(`${name} must be an integer number of bytes from 1 to 2^30, got ${String(size)}`);
    }
  }
  checkBufferSizes(options?.sendBufferSize, options?.receiveBufferSize);
}

/**
 * Applies Nagle, keep-alive and buffer sizes to the TCP socket itself; returns what the kernel reports
 * (without native calls: Nagle and keep-alive as Node set them, and no buffer sizes).
 */
export function configureSocket(socket: net.Socket, options: TcpSocketOptions | undefined, what: string): SocketSettings {
  const noDelay = options?.noDelay ?? true;
  const keepAlive = options?.keepAlive ?? true;
  socket.setNoDelay(noDelay);
  socket.setKeepAlive(keepAlive, options?.keepAliveInitialDelay ?? 10_000);
  if (!canReadSettings()) return { noDelay, keepAlive, sendBufferSize: undefined, receiveBufferSize: undefined };
  return socketSettings(socketFd(socket), options?.sendBufferSize, options?.receiveBufferSize, what);
}

/** Arms the idle and write timeouts of `stream` (the TCP or TLS socket) over `connection`. */
export function watch(stream: net.Socket, connection: Connection, options: TcpSocketOptions | undefined, what: string): void {
  const idle = options?.idleTimeout;
  if (idle !== undefined) {
    stream.setTimeout(idle, () => connection.abort(new TimeoutError(`${what}: nothing was sent or received for ${idle} ms (idleTimeout)`, idle)));
  }
  const limit = options?.writeTimeout;
  if (limit === undefined) return;
  let written = stream.bytesWritten;
  let progress = performance.now();
  const timer = setInterval(
    () => {
      const now = performance.now();
      if (stream.writableLength === 0 || stream.bytesWritten !== written) {
        written = stream.bytesWritten;
        progress = now;
      } else if (now - progress >= limit) {
        connection.abort(new TimeoutError(`${what}: the peer took none of the pending data for ${limit} ms (writeTimeout)`, limit));
      }
    },
    Math.max(5, limit / 4),
  );
  timer.unref();
  void connection.closed.catch(() => undefined).finally(() => clearInterval(timer));
}

/** Adds the socket's settings to a framed connection. */
export function withSettings(connection: Connection, settings: SocketSettings): TcpConnection {
  return Object.defineProperty(connection, "socket", { value: settings, enumerable: true }) as TcpConnection;
}
