import net from "node:net";
import {
  ConnectionRefusedError,
  TimeoutError,
  deadline,
  fromSystemError,
  isIpcError,
  resolveConnectionOptions,
  throwIfAborted,
  wait,
  type Connection,
  type WaitOptions,
} from "@ipc/core";
import { FrameReader, awaitAccepted, framed } from "@ipc/framing";
import { closeFd, connectSocket, peerCredentials, type SocketName } from "./native.js";
import type { UnixConnectOptions } from "./options.js";
import { resolveTarget, type UnixTarget } from "./target.js";

/** How long a connect without a timeout keeps retrying while the listener's backlog is full. */
const BUSY_RETRY_LIMIT = 2000;

/**
 * A connected fd. A Unix connect fails at once (EAGAIN) while the listener's kernel backlog is full —
 * a server momentarily behind on accepting — so it is retried with backoff, within the deadline (or for
 * {@link BUSY_RETRY_LIMIT} ms without one).
 */
async function connectWithRetry(
  name: SocketName,
  what: string,
  options: UnixConnectOptions | undefined,
  remaining: () => WaitOptions,
): Promise<number> {
  const giveUp = performance.now() + (options?.timeout ?? BUSY_RETRY_LIMIT);
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    try {
      return connectSocket(name, what);
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
 * Connects to a Unix socket listener and waits for it to accept this client. Rejects with
 * `ConnectionRefusedError` (nobody listens, or the server is busy), `PermissionDeniedError` (the socket's
 * mode forbids it), `PeerRejectedError` (the server refused this client), `TimeoutError`, `AbortError`.
 */
export async function connect(target: UnixTarget, options?: UnixConnectOptions): Promise<Connection> {
  const { url, name } = resolveTarget(target);
  const settings = resolveConnectionOptions(options);
  const what = `connect to ${url}`;
  throwIfAborted(options?.signal, what);
  const remaining = deadline(options);
  const fd = await connectWithRetry(name, what, options, remaining);
  let peer;
  let socket: net.Socket;
  const reader = new FrameReader({ maxMessageSize: settings.maxMessageSize });
  try {
    peer = peerCredentials(fd, what);
    // `onread` is a documented Socket option that @types/node 20 only declares for net.connect().
    const socketOptions = { fd, readable: true, writable: true, allowHalfOpen: true, onread: reader.onread };
    socket = new net.Socket(socketOptions as net.SocketConstructorOpts);
  } catch (error) {
    closeFd(fd);
    throw fromSystemError(error, what);
  }
  const connection = framed(socket, { ...settings, reader, peer, localAddress: url, remoteAddress: url });
  try {
    await awaitAccepted(connection, url, remaining());
    return connection;
  } catch (error) {
    if (error instanceof TimeoutError && options?.timeout !== undefined) {
      throw new TimeoutError(`${what} timed out after ${options.timeout} ms waiting for the server to accept`, options.timeout, {
        cause: error,
      });
    }
    throw error;
  }
}
