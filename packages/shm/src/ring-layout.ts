/**
 * The control words of a message ring (docs/wire.md §5.5) and the check of its header at open: what the
 * bytes before the data mean, for ring.ts and for a C program that shares the ring.
 *
 * Layout (offsets from the ring's start, little-endian u32 words, each group on its own cache line):
 *   0    capacity (bytes of data, a power of two)       4   version (1)
 *   64   head: bytes written, mod 2^32 (producer)        68  producer finished (1)   72  producer pid
 *   128  tail: bytes read, mod 2^32 (consumer)          132  consumer finished (1)  136  consumer pid
 *   192  consumer asleep (1) — set by the consumer, cleared by whoever wakes it
 *   256  producer asleep (1) — set by the producer, cleared by whoever wakes it
 *   320  data: `capacity` bytes
 */
import { ProtocolError } from "@ipc/core";

/** Bytes before the data. */
export const RING_HEADER = 320;
export const CAPACITY = 0;
export const VERSION = 1;
export const HEAD = 16;
export const PRODUCER_DONE = 17;
export const PRODUCER_PID = 18;
export const TAIL = 32;
export const CONSUMER_DONE = 33;
export const CONSUMER_PID = 34;
export const CONSUMER_ASLEEP = 48;
export const PRODUCER_ASLEEP = 64;
/** The ring layout's version (word 1). */
export const RING_VERSION = 1;
const MIN_CAPACITY = 64;
const MAX_CAPACITY = 2 ** 30;

export const isCapacity = (capacity: number): boolean =>
  Number.isInteger(capacity) && capacity >= MIN_CAPACITY && capacity <= MAX_CAPACITY && (capacity & (capacity - 1)) === 0;

/** Bytes a ring with `capacity` bytes of data takes. */
export function ringSize(capacity: number): number {
  return RING_HEADER + capacity;
}

/**
 * Checks a ring's header words (docs/wire.md §5.5) and returns its capacity: the version is 1, the capacity
 * a power of two from 64 to 2^30 that fits the buffer (and equals `expected` when the caller knows it), the
 * finished and asleep words 0 or 1, and a recorded pid positive. `ProtocolError` otherwise.
 */
export function checkHeader(words: Int32Array, byteOffset: number, bufferLength: number, expected: number | undefined): number {
  const bad = (what: string): never => {
    throw new ProtocolError(`not a valid message ring: ${what}`);
  };
  const version = Atomics.load(words, VERSION) >>> 0;
  if (version !== RING_VERSION) bad(`version ${version} (this side speaks version ${RING_VERSION})`);
  const capacity = Atomics.load(words, CAPACITY) >>> 0;
  if (!isCapacity(capacity)) bad(`capacity ${capacity} is not a power of two from ${MIN_CAPACITY} to 2^30`);
  if (byteOffset + ringSize(capacity) > bufferLength) bad(`capacity ${capacity} does not fit the ${bufferLength - byteOffset} bytes of its segment`);
  if (expected !== undefined && capacity !== expected) bad(`capacity ${capacity}, where ${expected} was agreed`);
  for (const [index, name] of [
    [PRODUCER_DONE, "producer-finished"],
    [CONSUMER_DONE, "consumer-finished"],
    [CONSUMER_ASLEEP, "consumer-asleep"],
    [PRODUCER_ASLEEP, "producer-asleep"],
  ] as const) {
    const value = Atomics.load(words, index);
    if (value !== 0 && value !== 1) bad(`the ${name} word is ${value} (0 or 1)`);
  }
  for (const [index, name] of [
    [PRODUCER_PID, "producer"],
    [CONSUMER_PID, "consumer"],
  ] as const) {
    if (Atomics.load(words, index) < 0) bad(`the ${name}'s pid is ${Atomics.load(words, index)}`);
  }
  return capacity;
}
