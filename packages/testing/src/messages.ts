/**
 * Messages whose content says what they are: a reordered, duplicated or corrupted message is detected by
 * looking at it alone (and a truncated one by its length), without keeping a copy of what was sent.
 */

/**
 * A message of `size` bytes whose content depends on `seq`: the first 4 bytes are `seq` big-endian, the
 * rest a pattern derived from it, so a reordered, truncated or corrupted message is detected.
 */
export function patterned(seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  // The pattern repeats every 256 bytes: one period byte by byte, then copies of what is there, doubling.
  const period = Math.min(size, 256);
  for (let i = 0; i < period; i++) bytes[i] = (seq * 31 + i * 7) & 0xff;
  for (let filled = period; filled < size; filled *= 2) bytes.copyWithin(filled, 0, Math.min(filled, size - filled));
  if (size >= 4) new DataView(bytes.buffer).setUint32(0, seq);
  return bytes;
}

/** {@link REFERENCE} bytes of the pattern of the messages whose `seq * 31` is `key` (mod 256), made once each. */
const references = new Map<number, Buffer>();
const REFERENCE = 4096;
function reference(key: number): Buffer {
  let bytes = references.get(key);
  if (bytes === undefined) {
    bytes = Buffer.alloc(REFERENCE);
    for (let i = 0; i < REFERENCE; i++) bytes[i] = (key + i * 7) & 0xff;
    references.set(key, bytes);
  }
  return bytes;
}

/** The `seq` of a {@link patterned} message, or -1 if its content does not match its size and seq. */
export function checkPatterned(bytes: Uint8Array): number {
  if (bytes.byteLength < 4) return -1;
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  // Every byte after the first 4, compared block by block with the pattern (native compares: a byte-by-byte
  // loop made large transfers spend most of their time checking).
  const expected = reference((seq * 31) & 0xff);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < view.byteLength; at += REFERENCE) {
    const from = at === 0 ? 4 : at;
    const end = Math.min(at + REFERENCE, view.byteLength);
    if (view.compare(expected, from - at, end - at, from, end) !== 0) return -1;
  }
  return seq;
}
