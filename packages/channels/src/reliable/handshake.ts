/** The Hello / Welcome exchange that starts or resumes a session on a new connection, and its checks. */
import { ConnectionResetError, PeerRejectedError, ProtocolError, type Connection, type WaitOptions } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { PROTOCOL_VERSION, decodeSessionFrame, encodeHello, type Handshake } from "./codec.js";
import { MESSAGE_OVERHEAD } from "./options.js";

/** Bytes of a session id (docs/wire.md §8.2.1). */
export const SESSION_ID_BYTES = 16;

/** The server answered a Hello with Goodbye(SESSION_UNKNOWN): the session to resume is gone. */
export class SessionUnknown extends PeerRejectedError {
  constructor(message: string) {
    super(`the server does not know this session: ${message}`);
  }
}

/**
 * The server answered a resume with Goodbye(PROTOCOL or VERSION): it will refuse every later attempt
 * the same way, so the session cannot go on.
 */
export class ResumeRefused extends PeerRejectedError {}

/**
 * The peer broke the session protocol in the handshake (what it sent, not how the connection carried it):
 * the session fails. A connection that breaks, even inside a frame, is only a lost connection
 * (docs/wire.md §8.2.6).
 */
export class SessionProtocolError extends ProtocolError {}

/**
 * Why the position a peer announces in its Hello or Welcome cannot be true, or `undefined` if it can:
 * `sent` is the last id this side sent, `acknowledged` the highest id the peer acknowledged before
 * (docs/wire.md §8.2.2). A position that passes can be replayed from: every message after `received` is
 * still kept here.
 */
export function impossiblePosition(peer: Handshake, sent: number, acknowledged: number): string | undefined {
  if (peer.window < MESSAGE_OVERHEAD) {
    return `announces a window of ${peer.window} bytes, less than one empty message costs (${MESSAGE_OVERHEAD})`;
  }
  if (peer.received > sent) return `claims to hold message ${peer.received}, but only ${sent} were sent`;
  if (peer.received < acknowledged) return `claims to hold ${peer.received} messages, but it acknowledged ${acknowledged}`;
  if (peer.ack > peer.received) return `says its application took message ${peer.ack}, but it holds only ${peer.received}`;
  return undefined;
}

/** Sends `hello` on `connection` and waits for the server's Welcome (within `options`). */
export async function clientHandshake(connection: Connection, hello: Omit<Handshake, "version">, options: WaitOptions): Promise<Handshake> {
  await connection.send(encodeHello(hello), options);
  const bytes = await connection.receive(options);
  if (bytes === undefined) {
    throw new ConnectionResetError(`${connection.remoteAddress} closed the connection before answering the session handshake`);
  }
  let frame;
  try {
    frame = decodeSessionFrame(bytes);
  } catch (error) {
    throw new SessionProtocolError((error as Error).message, { cause: error });
  }
  if (frame.kind === "goodbye") {
    const why = frame.message || "no reason given";
    if (frame.reason === ipc.Goodbye.Reason.REASON_SESSION_UNKNOWN) throw new SessionUnknown(why);
    if (frame.reason === ipc.Goodbye.Reason.REASON_PROTOCOL || frame.reason === ipc.Goodbye.Reason.REASON_VERSION) {
      throw new ResumeRefused(`${connection.remoteAddress} refused the reliable session: ${why}`);
    }
    throw new PeerRejectedError(`${connection.remoteAddress} refused the reliable session: ${why}`);
  }
  if (frame.kind !== "welcome") {
    throw new SessionProtocolError(
      `${connection.remoteAddress} answered the session handshake with ${frame.kind === "other" ? frame.name : frame.kind}, not a Welcome`,
    );
  }
  if (frame.version !== PROTOCOL_VERSION) {
    throw new SessionProtocolError(`${connection.remoteAddress} speaks session protocol version ${frame.version}, this end ${PROTOCOL_VERSION}`);
  }
  if (frame.session.byteLength !== SESSION_ID_BYTES || (hello.session.byteLength > 0 && !sameBytes(frame.session, hello.session))) {
    throw new SessionProtocolError(`${connection.remoteAddress} welcomed this client into a different session than it asked for`);
  }
  return frame;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
