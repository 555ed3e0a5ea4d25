/** The results table: medians over rounds, ratios to the baseline of the same run, targets. */
import type { BenchCase, MetricSpec, Target } from "./case.js";
import { median } from "./stats.js";

export interface Row {
  readonly group: string;
  readonly label: string;
  readonly role: BenchCase["role"];
  readonly metric: string;
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** ours / baseline, in the direction of the metric (≥ 1 is better for rates, ≤ 1 for latencies). */
  readonly ratio: number | undefined;
  readonly target: string | undefined;
  readonly met: boolean | undefined;
}

export function buildRows(
  cases: readonly BenchCase[],
  samples: ReadonlyMap<string, Record<string, number>[]>,
  groupMetrics: Record<string, string[]>,
  metrics: Record<string, MetricSpec>,
  targets: readonly Target[],
): Row[] {
  const rows: Row[] = [];
  const groups = [...new Set(cases.map((c) => c.group))];
  for (const group of groups) {
    const members = cases.filter((c) => c.group === group);
    const baseline = members.find((c) => c.role === "baseline");
    for (const metric of groupMetrics[group] ?? []) {
      const spec = metrics[metric]!;
      const valueOf = (c: BenchCase): number[] => (samples.get(c.id) ?? []).map((r) => r[metric]!).filter(Number.isFinite);
      const base = baseline === undefined ? undefined : median(valueOf(baseline));
      for (const c of members) {
        const values = valueOf(c);
        if (values.length === 0) continue;
        const value = median(values);
        const ratio = c.role === "baseline" || base === undefined ? undefined : value / base;
        const target = c.role === "ours" ? targets.find((t) => t.group === group && t.metric === metric) : undefined;
        let met: boolean | undefined;
        if (target?.ratio !== undefined && ratio !== undefined) {
          met = spec.higherIsBetter ? ratio >= target.ratio : ratio <= target.ratio;
        } else if (target?.absolute !== undefined) {
          met = spec.higherIsBetter ? value >= target.absolute : value <= target.absolute;
        }
        const scale = spec.scale ?? 1;
        rows.push({
          group,
          label: c.label,
          role: c.role,
          metric,
          unit: spec.unit,
          median: value / scale,
          min: Math.min(...values) / scale,
          max: Math.max(...values) / scale,
          ratio,
          target: target?.text,
          met,
        });
      }
    }
  }
  return rows;
}

const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function cells(row: Row): string[] {
  return [
    row.group,
    `${row.label}${row.role === "baseline" ? " (baseline)" : row.role === "reference" ? " (reference)" : ""}`,
    `${fmt(row.median)} ${row.unit}`,
    `${fmt(row.min)}–${fmt(row.max)}`,
    row.ratio === undefined ? "" : `${row.ratio.toFixed(2)}×`,
    row.target === undefined ? "" : `${row.target} ${row.met ? "✓" : "✗"}`,
  ];
}

const HEADER = ["case", "variant", "median", "range", "vs baseline", "target"];

/** A plain-text table for the terminal. */
export function textTable(rows: readonly Row[]): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((r) => [...r[i]!].length)));
  const line = (r: string[]): string => r.map((c, i) => c + " ".repeat(widths[i]! - [...c].length)).join("  ").trimEnd();
  return [line(table[0]!), widths.map((w) => "─".repeat(w)).join("  "), ...table.slice(1).map(line)].join("\n");
}

/** The same table in Markdown. */
export function markdownTable(rows: readonly Row[]): string {
  const line = (r: string[]): string => `| ${r.join(" | ")} |`;
  return [line(HEADER), line(HEADER.map(() => "---")), ...rows.map((r) => line(cells(r)))].join("\n");
}
