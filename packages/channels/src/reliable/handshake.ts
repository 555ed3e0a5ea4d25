/** The Hello / Welcome exchange that starts or resumes a session on a new connection. */
import { ConnectionResetError, PeerRejectedError, ProtocolError, type Connection, type WaitOptions } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { PROTOCOL_VERSION, decodeSessionFrame, encodeHello, type Handshake } from "./codec.js";

/** The server answered a Hello with Goodbye(SESSION_UNKNOWN): the session to resume is gone. */
export class SessionUnknown extends PeerRejectedError {
  constructor(message: string) {
    super(`the server does not know this session: ${message}`);
  }
}

/** Sends `hello` on `connection` and waits for the server's Welcome (within `options`). */
export async function clientHandshake(connection: Connection, hello: Omit<Handshake, "version">, options: WaitOptions): Promise<Handshake> {
  await connection.send(encodeHello(hello), options);
  const bytes = await connection.receive(options);
  if (bytes === undefined) {
    throw new ConnectionResetError(`${connection.remoteAddress} closed the connection before answering the session handshake`);
  }
  const frame = decodeSessionFrame(bytes);
  if (frame.kind === "goodbye") {
    if (frame.reason === ipc.Goodbye.Reason.REASON_SESSION_UNKNOWN) throw new SessionUnknown(frame.message);
    throw new PeerRejectedError(`${connection.remoteAddress} refused the reliable session: ${frame.message || "no reason given"}`);
  }
  if (frame.kind !== "welcome") {
    throw new ProtocolError(`${connection.remoteAddress} answered the session handshake with ${frame.kind === "other" ? frame.name : frame.kind}, not a Welcome`);
  }
  if (frame.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(`${connection.remoteAddress} speaks session protocol version ${frame.version}, this end ${PROTOCOL_VERSION}`);
  }
  if (frame.session.byteLength !== 16 || (hello.session.byteLength > 0 && !sameBytes(frame.session, hello.session))) {
    throw new ProtocolError(`${connection.remoteAddress} welcomed this client into a different session than it asked for`);
  }
  return frame;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
