/**
 * Deterministic randomness for fault plans: the same `seed` injects the same faults, so a failure found
 * once can be run again.
 */

/** A number, or a range `[min, max]` drawn from anew each time it is used. */
export type Amount = number | readonly [number, number];

/** mulberry32: small, fast, and good enough to scatter faults. Returns floats in [0, 1). */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Draws `amount`: itself if a number, an integer in `[min, max]` if a range. */
export function draw(amount: Amount, random: () => number): number {
  if (typeof amount === "number") return amount;
  const [min, max] = amount;
  return Math.floor(min + random() * (max - min + 1));
}

/** A copy of `bytes` with one random byte inverted (a single corrupted byte, like a bad link would). */
export function flipByte(bytes: Uint8Array, random: () => number): Uint8Array {
  if (bytes.byteLength === 0) return bytes;
  const copy = bytes.slice();
  const at = Math.floor(random() * copy.byteLength);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
