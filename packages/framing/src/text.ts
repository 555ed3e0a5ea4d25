/**
 * A length prefix made of printable ASCII ("hell" = 1751477356) over the limit is almost always text written
 * on a framed channel (a child's `console.log` on its stdout, a peer speaking another protocol): say so, and
 * show the start of it, instead of blaming `maxMessageSize`.
 */
import { FrameTooLargeError } from "@ipc/core";

/** Bytes of the text shown in the message. */
const PREVIEW = 40;

/** Printable ASCII, or a tab, newline or carriage return. */
function isText(byte: number): boolean {
  return (byte >= 0x20 && byte <= 0x7e) || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * The error for a `length` over `limit` whose four bytes are text, followed by `rest` (what the chunk holds
 * after them); `undefined` when the length does not look like text. It stays a `FrameTooLargeError` (the
 * condition and its code are those of a length over the limit), with a message that says what happened.
 */
export function textOnChannel(length: number, rest: Uint8Array, peerName: string, limit: number): FrameTooLargeError | undefined {
  const head = [length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
  if (!head.every(isText)) return undefined;
  const bytes = [...head];
  for (let i = 0; i < rest.byteLength && bytes.length < PREVIEW; i++) bytes.push(rest[i]!);
  const more = rest.byteLength > PREVIEW - 4;
  const preview = JSON.stringify(Buffer.from(bytes).toString("latin1"))
    .slice(1, -1)
    .replace(/[\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
  const error = new FrameTooLargeError(length, limit);
  error.message =
    `${peerName} wrote text on the channel instead of frames: "${preview}${more ? "…" : ""}" ` +
    `(its first 4 bytes, read as a frame length, say ${length} bytes, over maxMessageSize ${limit}); ` +
    `only length-prefixed frames may be written to it (docs/wire.md §1)`;
  return error;
}
