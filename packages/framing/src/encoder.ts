/**
 * The frame format (docs/wire.md §1): a 4-byte big-endian unsigned length N, then N bytes of payload.
 */
import { InvalidArgumentError, MAX_MESSAGE_SIZE_LIMIT } from "@ipc/core";

/** Bytes of the length prefix. */
export const HEADER_SIZE = 4;

/** Writes the 4-byte big-endian length prefix for a payload of `length` bytes at `target[offset]`. */
export function writeHeader(target: Uint8Array, offset: number, length: number): void {
  target[offset] = length >>> 24;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
}

/** One frame — header and payload in one new array. The pure encoder, for tests and benchmarks. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.byteLength > MAX_MESSAGE_SIZE_LIMIT) {
    throw new InvalidArgumentError(`a frame holds at most ${MAX_MESSAGE_SIZE_LIMIT} bytes, got ${payload.byteLength}`);
  }
  const frame = new Uint8Array(HEADER_SIZE + payload.byteLength);
  writeHeader(frame, 0, payload.byteLength);
  frame.set(payload, HEADER_SIZE);
  return frame;
}
