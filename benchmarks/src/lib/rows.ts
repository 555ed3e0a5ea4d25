/**
 * The report's rows: each case's median over the rounds (and its range) per group, regime and metric, the
 * ratio to the group's baseline in the same regime and run, the targets met or missed, and the flags of the
 * self-check: a baseline more than 20 % slower than its reference loop, and a range too wide (max/min > 2)
 * for its ratio to mean anything.
 */
import type { BenchCase, GroupRow, Metrics, MetricSpec, Regime, Role, Target } from "./case.js";
import type { ModuleName } from "./registry.js";
import { median } from "./stats.js";

/** One line of latest.json's `rows` (docs/benchmarks.md, "latest.json"). */
export interface Row {
  readonly group: string;
  readonly regime: Regime;
  /** The case's id (`node dist/run.js --only <id>` runs it alone, with its group's baseline and reference). */
  readonly case: string;
  readonly label: string;
  readonly role: Role;
  readonly metric: string;
  /** The unit of `median`, `min` and `max` (already scaled: "M msgs/s", "GB/s", "µs p50"). */
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** How many rounds measured it. */
  readonly rounds: number;
  /** median / the baseline's median, same regime and run (rates: > 1 is faster; latencies: < 1 is faster). */
  readonly ratio: number | null;
  readonly targets: readonly { readonly text: string; readonly met: boolean | null; readonly stretch: boolean }[];
  /** What the self-check says about this row (empty: nothing). */
  readonly flags: readonly string[];
}

/** A baseline against its reference loop, per group, regime and (first) metric. */
export interface Check {
  readonly group: string;
  readonly regime: Regime;
  readonly metric: string;
  readonly baseline: string;
  readonly reference: string;
  /** How fast the baseline is, as a fraction of the reference's speed (rate ratio, or inverse latency ratio). */
  readonly speed: number;
  /** False when the baseline is more than 20 % slower than its reference. */
  readonly ok: boolean;
}

/** A baseline "more than 20 % slower" than its reference: below 0.8× its rate, or above 1.2× its latency. */
export function slowerThanReference(baseline: number, reference: number, higherIsBetter: boolean): boolean {
  return higherIsBetter ? baseline < 0.8 * reference : baseline > 1.2 * reference;
}

/** A range too wide for a ratio to mean anything. */
export const WIDE_RANGE = 2;

interface GroupLike {
  readonly title: string;
  readonly metrics: readonly string[];
  readonly rows: readonly GroupRow[];
  readonly targets?: readonly Target[];
}

export function buildRows(
  groups: readonly GroupLike[],
  regimes: readonly Regime[],
  samples: ReadonlyMap<string, readonly Metrics[]>,
  metrics: Readonly<Record<string, MetricSpec>>,
  cases: ReadonlyMap<string, { readonly bench: BenchCase; readonly module: ModuleName }>,
): { rows: Row[]; checks: Check[] } {
  const rows: Row[] = [];
  const checks: Check[] = [];
  for (const group of groups) {
    const baseline = group.rows.find((r) => r.role === "baseline");
    const reference = group.rows.find((r) => r.role === "reference");
    for (const regime of regimes) {
      for (const metric of group.metrics) {
        const spec = metrics[metric]!;
        const valuesOf = (id: string): number[] => (samples.get(`${id}@${regime}`) ?? []).map((m) => m[metric]!).filter((v) => Number.isFinite(v));
        const medianOf = (id: string | undefined): number | undefined => {
          const values = id === undefined ? [] : valuesOf(id);
          return values.length === 0 ? undefined : median(values);
        };
        const base = medianOf(baseline?.case);
        const ref = medianOf(reference?.case);
        let check: Check | undefined;
        if (metric === group.metrics[0] && base !== undefined && ref !== undefined) {
          const speed = spec.higherIsBetter ? base / ref : ref / base;
          check = {
            group: group.title,
            regime,
            metric,
            baseline: baseline!.case,
            reference: reference!.case,
            speed,
            ok: !slowerThanReference(base, ref, spec.higherIsBetter),
          };
          checks.push(check);
        }
        for (const row of group.rows) {
          const values = valuesOf(row.case);
          if (values.length === 0) continue;
          const value = median(values);
          const min = Math.min(...values);
          const max = Math.max(...values);
          const ratio = row.role === "baseline" || base === undefined ? null : value / base;
          const targets = (group.targets ?? [])
            .filter((t) => t.metric === metric && row.role === "ours" && (t.cases === undefined || t.cases.includes(row.case)))
            .map((t) => {
              let met: boolean | null = null;
              if (t.ratio !== undefined) {
                const against = t.vs === undefined ? base : medianOf(t.vs);
                if (against !== undefined) met = spec.higherIsBetter ? value / against >= t.ratio : value / against <= t.ratio;
              } else if (t.absolute !== undefined) {
                met = spec.higherIsBetter ? value >= t.absolute : value <= t.absolute;
              }
              return { text: t.text, met, stretch: t.stretch === true };
            });
          const flags: string[] = [];
          if (row.role === "baseline" && check !== undefined && !check.ok) {
            flags.push(`baseline ${Math.round((1 - check.speed) * 100)} % slower than its reference loop`);
          }
          if (min > 0 && max / min > WIDE_RANGE) flags.push(`range ${(max / min).toFixed(1)}×: too wide for a ratio`);
          const scale = spec.scale ?? 1;
          rows.push({
            group: group.title,
            regime,
            case: row.case,
            label: row.label ?? cases.get(row.case)?.bench.label ?? row.case,
            role: row.role,
            metric,
            unit: spec.unit,
            median: value / scale,
            min: min / scale,
            max: max / scale,
            rounds: values.length,
            ratio,
            targets,
            flags,
          });
        }
      }
    }
  }
  return { rows, checks };
}
