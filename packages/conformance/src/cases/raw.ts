/** A frame as docs/wire.md defines it, written by hand: 4-byte big-endian length, then the bytes. */
export function rawFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.alloc(4 + payload.byteLength);
  frame.writeUInt32BE(payload.byteLength, 0);
  frame.set(payload, 4);
  return frame;
}
