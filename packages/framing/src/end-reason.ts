/**
 * The end marker of docs/wire.md §2.4: how an end tells its peer that it aborted, refused a frame over its
 * `maxMessageSize`, or dropped the connection, which a plain end-of-stream cannot say. On the wire:
 * the length 0xFFFFFFFF, a 2-byte big-endian size S (1–1024), then S bytes: a reason code and its data.
 */
import { HEADER_SIZE, writeHeader } from "./encoder.js";

/** The frame length that announces an end reason instead of a frame. */
export const END_MARKER = 0xffff_ffff;
/** The largest end reason (code and data), in bytes. */
export const MAX_END_REASON = 1024;

/** The reason codes of docs/wire.md §2.4. */
export const enum EndReasonCode {
  /** The sender aborted the connection; data: a UTF-8 text. */
  Aborted = 1,
  /** The sender refused a frame over its maxMessageSize; data: the frame's length N and the limit M (uint32 BE each). */
  TooLarge = 2,
  /** The sender dropped the connection for another fault of the peer (a stalled frame, bad bytes); data: UTF-8 text. */
  Dropped = 3,
}

/** A decoded end reason. `size` and `limit` are set for {@link EndReasonCode.TooLarge}. */
export interface EndReason {
  readonly code: number;
  readonly text: string;
  readonly size: number;
  readonly limit: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The bytes of an end reason with a text (codes 1 and 3): the marker, the size, the code, the text. */
export function encodeEndText(code: EndReasonCode, text: string): Uint8Array {
  let body: Uint8Array = encoder.encode(text);
  if (body.byteLength > MAX_END_REASON - 1) body = truncateUtf8(body, MAX_END_REASON - 1);
  const bytes = new Uint8Array(HEADER_SIZE + 3 + body.byteLength);
  writeHeader(bytes, 0, END_MARKER);
  bytes[4] = (body.byteLength + 1) >>> 8;
  bytes[5] = (body.byteLength + 1) & 0xff;
  bytes[6] = code;
  bytes.set(body, 7);
  return bytes;
}

/** The bytes of a "too large" end reason: the peer's frame of `size` bytes was over this side's `limit`. */
export function encodeEndTooLarge(size: number, limit: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE + 2 + 9);
  writeHeader(bytes, 0, END_MARKER);
  bytes[5] = 9;
  bytes[6] = EndReasonCode.TooLarge;
  writeHeader(bytes, 7, size);
  writeHeader(bytes, 11, Math.min(limit, END_MARKER));
  return bytes;
}

/** Reads a reason's code and data (the bytes after the size). */
export function readEndReason(body: Uint8Array): EndReason {
  const code = body[0]!;
  if (code === EndReasonCode.TooLarge && body.byteLength >= 9) {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    return { code, text: "", size: view.getUint32(1), limit: view.getUint32(5) };
  }
  return { code, text: decoder.decode(body.subarray(1)), size: 0, limit: 0 };
}

/** Cuts UTF-8 bytes to at most `max` without splitting a character. */
function truncateUtf8(bytes: Uint8Array, max: number): Uint8Array {
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
