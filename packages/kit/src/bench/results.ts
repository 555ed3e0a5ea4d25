/**
 * The results of `ipc bench`: what each case measured in each round, their medians and ranges, and the
 * environment — the shape of the JSON file it writes (`version: 1`).
 */
import { median, type Metrics } from "./measure.js";
import type { Family, Kind } from "./spec.js";

/** One case: a subject, a kind of measurement, a message size. */
export interface CaseResult {
  readonly subject: string;
  readonly label: string;
  readonly family: Family;
  readonly kind: Kind;
  readonly size: number;
  /** The subject this one's ratios are against, if any. */
  readonly baseline?: string | undefined;
  /** Each round's metrics (rounds that failed are missing). */
  readonly rounds: Metrics[];
  /** Why rounds failed, one line each. */
  readonly errors: string[];
}

/** What `ipc bench` writes to `<out>/latest.json`. */
export interface BenchResults {
  readonly tool: "ipc bench";
  readonly version: 1;
  readonly environment: {
    readonly date: string;
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly pinning: string;
    readonly loadBefore: readonly number[];
    loadAfter: readonly number[];
    seconds: number;
  };
  readonly options: { readonly rounds: number; readonly duration: number; readonly sizes: readonly number[]; readonly subjects: readonly string[] };
  readonly cases: CaseResult[];
}

export type MetricName = keyof Metrics;

/** The median of a metric over a case's rounds, and its range. */
export function summary(result: CaseResult, metric: MetricName): { median: number; min: number; max: number } | undefined {
  const values = result.rounds.map((r) => r[metric]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  if (values.length === 0) return undefined;
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** The case of `subject`, `kind`, `size`, if measured. */
export function find(results: BenchResults, subject: string, kind: Kind, size: number): CaseResult | undefined {
  return results.cases.find((c) => c.subject === subject && c.kind === kind && c.size === size);
}
