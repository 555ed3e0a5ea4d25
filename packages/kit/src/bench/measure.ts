/**
 * The measuring loops every bench subject shares, so that all of them are timed the same way: a round trip
 * is sampled after a warm-up; a stream runs for a fixed time, then the receiver says how much it got.
 */

/** What one run of a case measured (microseconds, per second). */
export interface Metrics {
  /** Round trip, median, µs. */
  p50Us?: number;
  /** Round trip, 99th percentile, µs. */
  p99Us?: number;
  /** Messages (or calls) per second. */
  perSecond?: number;
  /** Payload bytes per second. */
  bytesPerSecond?: number;
}

/**
 * Milliseconds every measurement first runs unmeasured (JIT, caches, socket buffers, a shared-memory
 * side's spin calibration), or the duration if that is shorter. A fifth of 300 ms was too little: the
 * first 100 ms of a fresh process showed as millisecond p99s and halved call rates.
 */
const WARMUP_MS = 200;

/** The warm-up before a measurement of `durationMs`. */
export function warmupMs(durationMs: number): number {
  return Math.min(WARMUP_MS, durationMs);
}

/** What {@link warmedStream} sent: in all, and after the warm-up (from `start`, in ns). */
export interface WarmedStream {
  readonly sent: number;
  readonly measured: number;
  readonly start: number;
}

/**
 * One stream whose first {@link warmupMs} is not measured: calls `send(batch)` (which sends `batch`
 * messages, waiting on backpressure) until the warm-up and `durationMs` have passed.
 */
export async function warmedStream(durationMs: number, batch: number, send: (batch: number) => Promise<void> | void): Promise<WarmedStream> {
  const warmup = warmupMs(durationMs);
  let sent = 0;
  let before = 0;
  const begin = now();
  let start = begin;
  while (!elapsed(begin, warmup + durationMs)) {
    if (start === begin && elapsed(begin, warmup)) {
      start = now();
      before = sent;
    }
    await send(batch);
    sent += batch;
  }
  return { sent, measured: sent - before, start };
}
const MAX_SAMPLES = 1 << 20;

/** Nanoseconds since the process started (performance.now() allocates nothing). */
export function now(): number {
  return performance.now() * 1e6;
}

/** The value below which `p` (0–1) of `sorted` lies (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** The median of `values` (any order). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Times round trips for `durationMs`: call {@link begin} before sending, {@link end} when the answer is in;
 * `end()` says whether to go on. A warm-up ({@link warmupMs}) comes first and is not recorded.
 */
export class Sampler {
  readonly #samples = new Float64Array(MAX_SAMPLES);
  readonly #warmupEnds: number;
  readonly #ends: number;
  #count = 0;
  #started = 0;

  constructor(durationMs: number) {
    const t = now();
    this.#warmupEnds = t + warmupMs(durationMs) * 1e6;
    this.#ends = this.#warmupEnds + durationMs * 1e6;
  }

  begin(): void {
    this.#started = now();
  }

  end(): boolean {
    const t = now();
    if (t >= this.#warmupEnds && this.#count < MAX_SAMPLES) this.#samples[this.#count++] = t - this.#started;
    return t < this.#ends || this.#count < 10;
  }

  result(): Metrics {
    const samples = this.#samples.subarray(0, this.#count).sort();
    return { p50Us: percentile(samples, 0.5) / 1000, p99Us: percentile(samples, 0.99) / 1000 };
  }
}

/** Round trips with an awaitable `once()` (send, then wait for the answer). */
export async function roundTrips(durationMs: number, once: () => Promise<unknown>): Promise<Metrics> {
  const sampler = new Sampler(durationMs);
  do {
    sampler.begin();
    await once();
  } while (sampler.end());
  return sampler.result();
}

/** Whether a stream that started at `start` (ns) has run for `durationMs`. */
export function elapsed(start: number, durationMs: number): boolean {
  return now() - start >= durationMs * 1e6;
}

/** Rates from a count of `size`-byte messages and the nanoseconds they took. */
export function rates(messages: number, size: number, nanoseconds: number): Metrics {
  const seconds = nanoseconds / 1e9;
  return { perSecond: messages / seconds, bytesPerSecond: (messages * size) / seconds };
}

/** A payload of `size` bytes. */
export function payload(size: number): Uint8Array {
  return new Uint8Array(size).fill(0x61);
}

/** An 8-byte little-endian count, the receiver's answer at the end of a stream. */
export function encodeCount(count: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, count, true);
  return bytes;
}

export function decodeCount(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
}
