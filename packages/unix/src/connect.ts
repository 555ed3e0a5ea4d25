import net from "node:net";
import { ConnectionRefusedError, TimeoutError, deadline, fromSystemError, isIpcError, resolveConnectionOptions, throwIfAborted, type Connection } from "@ipc/core";
import { FrameReader, awaitAccepted, framed } from "@ipc/framing";
import { closeFd, connectSocket, peerCredentials } from "./native.js";
import type { UnixConnectOptions } from "./options.js";
import { resolveTarget, type UnixTarget } from "./target.js";

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
  let fd: number;
  try {
    fd = connectSocket(name, what);
  } catch (error) {
    // EAGAIN: the listener's backlog is full.
    if (isIpcError(error) && (error.cause as { code?: string } | undefined)?.code === "EAGAIN") {
      throw new ConnectionRefusedError(`${what}: the server's backlog is full; try again later`, { cause: error });
    }
    throw error;
  }
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
