import net from "node:net";
import {
  ConnectionRefusedError,
  TimeoutError,
  deadline,
  fromSystemError,
  isIpcError,
  throwIfAborted,
  wait,
  type Connection,
  type Peer,
  type WaitOptions,
} from "@ipc/core";
import { publishConnect, resolveConnectionOptions } from "@ipc/core/transport";
import { FrameReader, awaitAccepted, framed, isHandshakeTimeout, resolveHandshake, streamFraming } from "@ipc/framing";
import { canUse, closeFd, connectSocket, mustUse, peerCredentials, type SocketName } from "./native.js";
import type { UnixConnectOptions } from "./options.js";
import { resolveTarget, type UnixTarget } from "./target.js";

/** How long a connect without a timeout keeps retrying while the listener's backlog is full. */
const BUSY_RETRY_LIMIT = 2000;

/** A connected socket, read with `reader`, and the server process's credentials where they can be read. */
interface Connected {
  readonly socket: net.Socket;
  readonly peer: Peer | undefined;
}

/** One native connect: the fd, its credentials, and a socket over it. */
function connectNative(name: SocketName, what: string, reader: FrameReader): Connected {
  const fd = connectSocket(name, what);
  try {
    const peer = peerCredentials(fd, what);
    // `onread` is a documented Socket option that @types/node 20 only declares for net.connect().
    const socketOptions = { fd, readable: true, writable: true, allowHalfOpen: true, onread: reader.onread };
    return { socket: new net.Socket(socketOptions as net.SocketConstructorOpts), peer };
  } catch (error) {
    closeFd(fd);
    throw fromSystemError(error, what);
  }
}

/** One connect through node:net (no native calls: no credentials). */
function connectWithNode(path: string, what: string, reader: FrameReader): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path, allowHalfOpen: true, onread: reader.onread });
    socket.once("error", (error) => {
      socket.destroy();
      reject(fromSystemError(error, what));
    });
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      resolve({ socket, peer: undefined });
    });
  });
}

/**
 * A connected socket. A Unix connect fails at once (EAGAIN) while the listener's kernel backlog is full —
 * a server momentarily behind on accepting — so it is retried with backoff, within the deadline (or for
 * {@link BUSY_RETRY_LIMIT} ms without one).
 */
async function connectWithRetry(
  attempt: () => Connected | Promise<Connected>,
  what: string,
  options: UnixConnectOptions | undefined,
  remaining: () => WaitOptions,
): Promise<Connected> {
  const giveUp = performance.now() + (options?.timeout ?? BUSY_RETRY_LIMIT);
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    try {
      return await attempt();
    } catch (error) {
      const busy = isIpcError(error) && (error.cause as { code?: string } | undefined)?.code === "EAGAIN";
      if (!busy) throw error;
      if (performance.now() + pause > giveUp) {
        throw new ConnectionRefusedError(`${what}: the server's backlog stayed full; it is not accepting fast enough`, { cause: error });
      }
      await wait<void>(what, remaining(), (resolve) => {
        const timer = setTimeout(resolve, pause);
        return () => clearTimeout(timer);
      });
    }
  }
}

/**
 * Connects to a Unix socket listener and waits for it to accept this client (its status frame; with
 * `handshake: false`, only for the connect: the server is then any length-prefixed stream). Rejects with
 * `ConnectionRefusedError` (nobody listens, or the server is busy), `PermissionDeniedError` (the socket's
 * mode forbids it), `PeerRejectedError` (the server refused this client), `TimeoutError`, `AbortError`, or
 * `UnsupportedError` for an abstract name where native calls cannot be made.
 */
export async function connect(target: UnixTarget, options?: UnixConnectOptions): Promise<Connection> {
  const { url, name } = resolveTarget(target);
  const settings = { ...resolveConnectionOptions(options), ...streamFraming(options) };
  const handshakeTimeout = resolveHandshake(options);
  const what = `connect to ${url}`;
  throwIfAborted(options?.signal, what);
  if (!("path" in name)) mustUse("unix.abstract");
  const remaining = deadline(options);
  const reader = new FrameReader({ maxMessageSize: settings.maxMessageSize });
  // Without native calls a socket file is reached through node:net, and the server's credentials are unknown.
  const attempt = "path" in name && !canUse("unix.peerCredentials") ? () => connectWithNode(name.path, what, reader) : () => connectNative(name, what, reader);
  const { socket, peer } = await connectWithRetry(attempt, what, options, remaining);
  const connection = framed(socket, { ...settings, reader, peer, localAddress: url, remoteAddress: url });
  if (options?.handshake === false) {
    publishConnect(connection, url); // plain frames from the first byte (docs/wire.md §2.1): connected now
    return connection;
  }
  try {
    await awaitAccepted(connection, url, remaining(), handshakeTimeout);
    return connection;
  } catch (error) {
    if (error instanceof TimeoutError && options?.timeout !== undefined && !isHandshakeTimeout(error)) {
      throw new TimeoutError(`${what} timed out after ${options.timeout} ms waiting for the server to accept`, options.timeout, {
        cause: error,
      });
    }
    throw error;
  }
}
