/** Writing a run: JSON, Markdown, SVG and measurements.json; and the README blocks made from a run. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Regime } from "./case.js";
import { mechanismTable } from "./measurements.js";
import { markdownReport, markdownTable, notes, summaryLine } from "./report.js";
import type { BenchRun } from "./runner.js";
import { chart } from "./svg.js";

/**
 * Writes `latest.json`, `latest.md`, `latest.svg` and `measurements.json` to `dir` (created if missing), with
 * time-stamped copies of the first three. Returns the path of latest.md.
 */
export function writeResults(run: BenchRun, dir: string, title = "@ipc benchmarks"): string {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const stamp = run.environment.date.replace(/[:.]/g, "-");
  const files = { json: `${JSON.stringify(run, null, 2)}\n`, md: markdownReport(run, title), svg: chart(run, title) };
  for (const name of [`bench-${stamp}`, "latest"]) {
    for (const [ext, text] of Object.entries(files)) writeFileSync(join(out, `${name}.${ext}`), text);
  }
  writeMeasurements(run, join(out, "measurements.json"));
  return join(out, "latest.md");
}

/** Writes the figures choose() decides by (see lib/measurements.ts) to `file`. */
export function writeMeasurements(run: BenchRun, file: string): void {
  writeFileSync(file, `${JSON.stringify(run.measurements, null, 2)}\n`);
}

const REGIME_TITLES: Readonly<Record<Regime, string>> = {
  unpinned: "Unpinned (what a library gets)",
  split: "Split-core (taskset: one CPU each)",
  "one core": "Both on one core",
};

/** The README's "Which mechanism?" block: one table per two-process regime of the run. */
export function mechanismBlock(run: BenchRun): string {
  const parts = run.options.regimes.filter((r) => r !== "one core").map((regime) => `**${REGIME_TITLES[regime]}**\n\n${mechanismTable(run, regime)}`);
  return `${parts.join("\n\n")}\n\nMedians of ${run.options.rounds} rounds; in brackets, the ratio to raw Node on the same mechanism in the same run and regime (shared memory against a Unix socket). ${summaryLine(run)}`;
}

/** The README's targets block: every row of the groups that have a target. */
export function targetsBlock(run: BenchRun): string {
  const withTargets = new Set(run.rows.filter((r) => r.targets.length > 0).map((r) => r.group));
  const table = markdownTable(run, (row) => withTargets.has(row.group) && row.role !== "other" && !row.metric.startsWith("p99"));
  return `${table}\n\n${summaryLine(run)}\n\n${notes(run).join("\n\n")}`;
}

/**
 * Replaces what is between `<!-- name:start -->` and `<!-- name:end -->` in `file` with `content`; a file
 * without the markers is left alone. Returns whether it replaced.
 */
export function replaceBlock(file: string, name: string, content: string): boolean {
  const text = readFileSync(file, "utf8");
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) return false;
  writeFileSync(file, `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`);
  return true;
}
