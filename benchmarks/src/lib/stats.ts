/** Percentiles, medians and the clock every case uses. */

/** Nanoseconds since the process started, as a float (performance.now() allocates nothing; hrtime.bigint() does). */
export function now(): number {
  return performance.now() * 1e6;
}

/** The value below which `p` (0–1) of `sorted` lies (nearest rank). `sorted` must be ascending. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

/** The median of `values` (any order). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const MAX_SAMPLES = 1 << 20;

/**
 * Round-trip samples over a time budget: {@link begin} before sending, {@link end} once the answer is in;
 * `end()` says whether to go on. The first `warmupMs` are not recorded; at least 10 samples are.
 */
export class Sampler {
  readonly #samples = new Float64Array(MAX_SAMPLES);
  readonly #warmupEnds: number;
  readonly #ends: number;
  #count = 0;
  #started = 0;

  constructor(budget: { readonly warmupMs: number; readonly measureMs: number }) {
    const t = now();
    this.#warmupEnds = t + budget.warmupMs * 1e6;
    this.#ends = this.#warmupEnds + budget.measureMs * 1e6;
  }

  begin(): void {
    this.#started = now();
  }

  /** Records the sample begun last (after the warm-up); false once the budget is spent. */
  end(): boolean {
    const t = now();
    if (t >= this.#warmupEnds && this.#count < MAX_SAMPLES) this.#samples[this.#count++] = t - this.#started;
    return t < this.#ends || this.#count < 10;
  }

  /** p50 and p99 in microseconds. */
  result(): { "p50 µs": number; "p99 µs": number } {
    const samples = this.#samples.subarray(0, this.#count).sort();
    return { "p50 µs": percentile(samples, 0.5) / 1000, "p99 µs": percentile(samples, 0.99) / 1000 };
  }
}

/** Rates of `messages` of `size` bytes in `nanoseconds`. */
export function rates(messages: number, size: number, nanoseconds: number): { "msgs/s": number; "bytes/s": number } {
  const seconds = nanoseconds / 1e9;
  return { "msgs/s": messages / seconds, "bytes/s": (messages * size) / seconds };
}
