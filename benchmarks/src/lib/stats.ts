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

/** p50 and p99 of round-trip samples in nanoseconds, in microseconds. */
export function latency(samplesNs: Float64Array): { p50: number; p99: number } {
  samplesNs.sort();
  return { p50: percentile(samplesNs, 0.5) / 1000, p99: percentile(samplesNs, 0.99) / 1000 };
}

/** Nanoseconds since the process started, as a float (performance.now() allocates nothing; hrtime.bigint() does). */
export function now(): number {
  return performance.now() * 1e6;
}
