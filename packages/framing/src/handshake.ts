/**
 * The handshake of stream-socket transports (docs/wire.md §2.1): the server's first frame is a status
 * frame — accepted, refused, or busy — sent before the server reads a single byte from the client. So a
 * refused client learns why, at `connect()`, and a client of a listener that never answers times out.
 */
import type { Socket } from "node:net";
import {
  ConnectionRefusedError,
  ConnectionResetError,
  PeerRejectedError,
  ProtocolError,
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
 * Turns a client away on a socket whose bytes were never read: writes the status frame, half-closes,
 * and closes once it is written. Resolves when the socket is closed.
 */
export function refuse(socket: Socket, status: HandshakeStatusCode, reason: string): Promise<void> {
  return new Promise((resolve) => {
    socket.on("error", () => undefined);
    socket.once("close", () => resolve());
    socket.end(encodeFrame(statusMessage(status, reason)), () => socket.destroy());
  });
}

/**
 * The client's side: waits for the server's status frame on a fresh connection. Resolves when accepted;
 * otherwise aborts the connection and rejects with `PeerRejectedError` (refused), `ConnectionRefusedError`
 * (busy), `TimeoutError`/`AbortError` (from `options`), or the error that broke the connection.
 */
export async function awaitAccepted(connection: Connection, address: string, options?: WaitOptions): Promise<void> {
  let message: Uint8Array | undefined;
  try {
    message = await connection.receive(options);
  } catch (error) {
    connection.abort(error as Error);
    throw error;
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
