/**
 * The tables of `ipc bench`: one per message size for the transports (latency, rate, throughput, and the
 * ratios to raw Node on the same mechanism), one per size for RPC; as aligned text and as Markdown.
 */
import { find, summary, type BenchResults, type CaseResult, type MetricName } from "./results.js";
import { sizeText } from "./runner.js";

export interface Table {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

function number(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function rateText(value: number): string {
  if (value >= 1e6) return `${number(value / 1e6)} M`;
  if (value >= 1e3) return `${number(value / 1e3)} k`;
  return number(value);
}

type Format = (value: number) => string;
const micros: Format = number;
const perSecond: Format = rateText;
const megabytes: Format = (v) => number(v / 1e6);

/** "median" or, with ranges, "median (min–max)"; "–" when not measured, "failed" when every round failed. */
function cell(result: CaseResult | undefined, metric: MetricName, format: Format, ranges: boolean): string {
  if (result === undefined) return "–";
  const s = summary(result, metric);
  if (s === undefined) return result.errors.length > 0 ? "failed" : "–";
  return ranges && result.rounds.length > 1 ? `${format(s.median)} (${format(s.min)}–${format(s.max)})` : format(s.median);
}

function ratio(ours: CaseResult | undefined, base: CaseResult | undefined, metric: MetricName): string {
  if (ours === undefined || base === undefined || ours === base) return "";
  const a = summary(ours, metric)?.median;
  const b = summary(base, metric)?.median;
  return a === undefined || b === undefined || b === 0 ? "" : `${(a / b).toFixed(2)}×`;
}

function subjectsOf(results: BenchResults, rpc: boolean): string[] {
  return [...new Set(results.cases.filter((c) => (c.kind === "rpc") === rpc).map((c) => c.subject))];
}

function labelOf(results: BenchResults, subject: string): string {
  const c = results.cases.find((x) => x.subject === subject)!;
  return c.family === "baseline" ? `${c.label} (baseline)` : c.label;
}

/** The tables, in order: transports by size, then RPC by size. */
export function tables(results: BenchResults, ranges: boolean): Table[] {
  const out: Table[] = [];
  for (const size of results.options.sizes) {
    const subjects = subjectsOf(results, false);
    if (subjects.length === 0) break;
    out.push({
      title: `Messages of ${sizeText(size)}`,
      header: ["transport", "round trip p50 µs", "p99 µs", "msgs/s", "MB/s", "p50 vs raw", "MB/s vs raw"],
      rows: subjects.map((s) => {
        const rtt = find(results, s, "rtt", size);
        const stream = find(results, s, "stream", size);
        const base = (rtt ?? stream)?.baseline;
        return [
          labelOf(results, s),
          cell(rtt, "p50Us", micros, ranges),
          cell(rtt, "p99Us", micros, ranges),
          cell(stream, "perSecond", perSecond, ranges),
          cell(stream, "bytesPerSecond", megabytes, ranges),
          base === undefined ? "" : ratio(rtt, find(results, base, "rtt", size), "p50Us"),
          base === undefined ? "" : ratio(stream, find(results, base, "stream", size), "bytesPerSecond"),
        ];
      }),
    });
  }
  for (const size of results.options.sizes) {
    const subjects = subjectsOf(results, true);
    if (subjects.length === 0) break;
    out.push({
      title: `RPC unary calls, ${sizeText(size)} payload (${"calls/s with 32 in flight"})`,
      header: ["library", "call p50 µs", "p99 µs", "calls/s", "p50 vs raw round trip"],
      rows: subjects.map((s) => {
        const c = find(results, s, "rpc", size);
        return [
          labelOf(results, s),
          cell(c, "p50Us", micros, ranges),
          cell(c, "p99Us", micros, ranges),
          cell(c, "perSecond", perSecond, ranges),
          ratio(c, find(results, "raw-unix", "rtt", size), "p50Us"),
        ];
      }),
    });
  }
  return out;
}

/** Aligned plain text, for the terminal. */
export function textTables(results: BenchResults): string {
  return tables(results, false)
    .map((table) => {
      const all = [table.header, ...table.rows];
      const widths = table.header.map((_, i) => Math.max(...all.map((row) => [...(row[i] ?? "")].length)));
      const line = (row: readonly string[]): string =>
        row.map((text, i) => (i === 0 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join("  ").trimEnd();
      return [table.title, line(table.header), ...table.rows.map(line)].join("\n");
    })
    .join("\n\n");
}

/** One line about how, where and when it was measured. */
export function environmentLine(results: BenchResults): string {
  const e = results.environment;
  return (
    `${results.options.rounds} rounds × ${results.options.duration} ms per case in ${e.seconds} s · node ${e.node} · ` +
    `${e.cpus}× ${e.cpuModel} · pinning: ${e.pinning} · load ${e.loadBefore.join(" ")} → ${e.loadAfter.join(" ")}`
  );
}

/** The Markdown report: the tables with ranges, and how to read them. */
export function markdown(results: BenchResults): string {
  const parts = [`# ipc bench — ${results.environment.date}`, ""];
  for (const table of tables(results, true)) {
    parts.push(`## ${table.title}`, "", `| ${table.header.join(" | ")} |`, `|${table.header.map(() => " --- ").join("|")}|`);
    for (const row of table.rows) parts.push(`| ${row.join(" | ")} |`);
    parts.push("");
  }
  const failures = results.cases.filter((c) => c.errors.length > 0);
  if (failures.length > 0) {
    parts.push("## Failures", "");
    for (const c of failures) parts.push(`- ${c.subject} ${c.kind} ${sizeText(c.size)}: ${c.errors[0]}`);
    parts.push("");
  }
  parts.push(
    "Medians over the rounds, the range in parentheses. Round trips: one message there and back, p50 and p99 of",
    "every sample after a warm-up. msgs/s and MB/s: one-way for a fixed time, until the receiver has counted",
    "everything. Ratios are against raw Node on the same mechanism, measured in the same run (below 1× is",
    "faster for latency, above 1× is faster for MB/s).",
    "",
    environmentLine(results),
    "",
  );
  return parts.join("\n");
}
