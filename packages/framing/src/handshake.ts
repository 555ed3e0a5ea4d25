/**
 * The handshake of stream-socket transports (docs/wire.md §2.1): the server's first frame is a status
 * frame — accepted, refused, or busy — sent before the server reads a single byte from the client. So a
 * refused client learns why, at `connect()`, and a client of a listener that never answers times out
 * ({@link DEFAULT_HANDSHAKE_TIMEOUT}), told that a server which is not @ipc wants `handshake: false`
 * (plain frames from the first byte, docs/wire.md §2.1).
 */
import type { Socket } from "node:net";
import {
  ConnectionRefusedError,
  ConnectionResetError,
  InvalidArgumentError,
  PeerRejectedError,
  ProtocolError,
  TimeoutError,
  type Connection,
  type WaitOptions,
} from "@ipc/core";
import { publishConnect, publishRefuse } from "@ipc/core/transport";
import { encodeFrame } from "./encoder.js";

/** The first byte of a status frame; the rest of the frame is a UTF-8 reason (empty when accepted). */
export const HandshakeStatus = {
  /** The server accepted the connection: messages follow. */
  Accepted: 0x06,
  /** The server refused this client (credentials, certificate…); it closes the connection. */
  Refused: 0x15,
  /** The server cannot take more connections now (backlog or connection limit); it closes the connection. */
  Busy: 0x18,
} as const;

/** One of the {@link HandshakeStatus} values. */
export type HandshakeStatusCode = (typeof HandshakeStatus)[keyof typeof HandshakeStatus];

/** The status frame's payload: the status byte, then the reason. */
export function statusMessage(status: HandshakeStatusCode, reason = ""): Uint8Array {
  const text = new TextEncoder().encode(reason);
  const message = new Uint8Array(1 + text.byteLength);
  message[0] = status;
  message.set(text, 1);
  return message;
}

/**
 * Turns a client away on a socket whose bytes were never read: writes the status frame (none when
 * `status` is `undefined`: a listener with `handshake: false` has no way to say why), half-closes, and
 * closes once it is written. Resolves when the socket is closed.
 */
export function refuse(socket: Socket, status: HandshakeStatusCode | undefined, reason: string): Promise<void> {
  return new Promise((resolve) => {
    socket.on("error", () => undefined);
    socket.once("close", () => resolve());
    const done = (): void => void socket.destroy();
    if (status === undefined) socket.end(done);
    else socket.end(encodeFrame(statusMessage(status, reason)), done);
  });
}

/** How long a client waits for the status frame when not told otherwise (ms): 10 s. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/** The timeouts of {@link awaitAccepted} that were the status frame's own limit. */
const handshakeTimeouts = new WeakSet<object>();

/**
 * True when `error` is {@link awaitAccepted}'s `TimeoutError` for the status frame's own limit (not the
 * caller's `timeout`): its message already says what to do, and a caller should not restate it.
 */
export function isHandshakeTimeout(error: unknown): boolean {
  return typeof error === "object" && error !== null && handshakeTimeouts.has(error);
}

/**
 * Checks a `handshake` / `handshakeTimeout` option pair (of `connect()` or `listen()`); returns the
 * status frame's time limit in ms.
 */
export function resolveHandshake(options: { readonly handshake?: unknown; readonly handshakeTimeout?: unknown } | undefined): number {
  const handshake = options?.handshake;
  if (handshake !== undefined && typeof handshake !== "boolean") {
    throw new InvalidArgumentError(`handshake must be true or false, got ${String(handshake)}`);
  }
  const limit = options?.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  if (typeof limit !== "number" || Number.isNaN(limit) || limit <= 0) {
    throw new InvalidArgumentError(`handshakeTimeout must be a number of milliseconds > 0 (or Infinity), got ${String(limit)}`);
  }
  return limit;
}

/**
 * The client's side: waits for the server's status frame on a fresh connection, for at most
 * `handshakeTimeout` ms (default {@link DEFAULT_HANDSHAKE_TIMEOUT}) within `options`. Resolves when
 * accepted; otherwise aborts the connection and rejects with `PeerRejectedError` (refused),
 * `ConnectionRefusedError` (busy), `TimeoutError` (from `options`, or the status frame's own limit: then the
 * message suggests `handshake: false`, for a server that is not @ipc), `AbortError`, or the error that broke
 * the connection.
 */
export async function awaitAccepted(
  connection: Connection,
  address: string,
  options?: WaitOptions,
  handshakeTimeout: number = DEFAULT_HANDSHAKE_TIMEOUT,
): Promise<void> {
  // The status frame's own limit applies when it ends before the caller's.
  const own = handshakeTimeout !== Infinity && (options?.timeout === undefined || options.timeout > handshakeTimeout);
  let message: Uint8Array | undefined;
  try {
    message = await connection.receive(own ? { signal: options?.signal, timeout: handshakeTimeout } : options);
  } catch (error) {
    let failure = error as Error;
    if (own && error instanceof TimeoutError) {
      failure = new TimeoutError(
        `connect to ${address}: no status frame from the server within ${handshakeTimeout} ms. An @ipc server sends ` +
          `one at once; a server that is not @ipc (a plain length-prefixed stream, docs/wire.md §2.1) never does: ` +
          `connect to it with handshake: false (or raise handshakeTimeout for a slow @ipc server)`,
        handshakeTimeout,
        { cause: error },
      );
      handshakeTimeouts.add(failure);
    }
    connection.abort(failure);
    throw failure;
  }
  const status = message?.[0];
  if (status === HandshakeStatus.Accepted) return publishConnect(connection, address);
  const reason = message === undefined ? "" : new TextDecoder().decode(message.subarray(1));
  const error =
    message === undefined
      ? new ConnectionResetError(`connect to ${address}: the server closed the connection before accepting it`)
      : status === HandshakeStatus.Refused
        ? new PeerRejectedError(`connect to ${address}: the server refused this client${reason ? `: ${reason}` : ""}`)
        : status === HandshakeStatus.Busy
          ? new ConnectionRefusedError(`connect to ${address}: the server is busy${reason ? `: ${reason}` : ""}; try again later`)
          : new ProtocolError(`connect to ${address}: the server's first frame is not a status frame (is it an @ipc server?)`);
  if (status === HandshakeStatus.Refused || status === HandshakeStatus.Busy) publishRefuse("client", address, reason, undefined, error);
  connection.abort(error);
  throw error;
}
