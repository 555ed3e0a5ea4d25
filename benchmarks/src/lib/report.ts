/**
 * The report, as aligned text for the terminal and as Markdown: one line per group, case and metric, with a
 * column pair per regime (median and range; ratio to the baseline, with ✓/✗ per target), the targets, and the
 * self-check's flags. Then a summary, the self-check, and what failed or was skipped.
 */
import type { Regime, Role } from "./case.js";
import type { Row } from "./rows.js";

/** What the report needs of a run (a BenchRun has it all). */
export interface Reportable {
  readonly environment: {
    readonly date: string;
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly pinning: { readonly cpu: string; readonly peerCpu: string } | null;
    readonly loadBefore: readonly number[];
    readonly loadAfter: readonly number[];
    readonly seconds: number;
  };
  readonly options: {
    readonly profile: string;
    readonly rounds: number;
    readonly regimes: readonly Regime[];
    readonly budget: { readonly warmupMs: number; readonly measureMs: number };
  };
  readonly rows: readonly Row[];
  readonly checks: readonly { readonly ok: boolean; readonly group: string; readonly regime: Regime; readonly speed: number }[];
  readonly failures: readonly string[];
  readonly skipped: readonly string[];
}

const REGIME_TITLES: Readonly<Record<Regime, string>> = { unpinned: "unpinned", split: "split-core", "one core": "one core" };

export function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

const ROLE_SUFFIX: Readonly<Record<Role, string>> = { ours: "", baseline: " (baseline)", reference: " (reference)", other: "" };

/** ✓ or ✗ (in brackets for a stretch goal); nothing when the run did not measure what the target needs. */
function mark(met: boolean | null, stretch: boolean): string {
  if (met === null) return "";
  const sign = met ? "✓" : "✗";
  return stretch ? `(${sign})` : sign;
}

/** The lines of the table: one per group, case and metric, with the regimes side by side. */
function lines(rows: readonly Row[], regimes: readonly Regime[]): string[][] {
  const keys = new Map<string, Row[]>();
  for (const row of rows) {
    const key = `${row.group}\u0000${row.case}\u0000${row.metric}`;
    keys.set(key, [...(keys.get(key) ?? []), row]);
  }
  const out: string[][] = [];
  for (const same of keys.values()) {
    const first = same[0]!;
    const cells = [first.group, `${first.label}${ROLE_SUFFIX[first.role]}`];
    for (const regime of regimes) {
      const row = same.find((r) => r.regime === regime);
      if (row === undefined) {
        cells.push("", "");
        continue;
      }
      cells.push(`${fmt(row.median)} ${row.unit} (${fmt(row.min)}–${fmt(row.max)})`);
      const marks = row.targets
        .map((t) => mark(t.met, t.stretch))
        .filter(Boolean)
        .join(" ");
      cells.push([row.ratio === null ? "" : `${row.ratio.toFixed(2)}×`, marks].filter(Boolean).join(" "));
    }
    cells.push(first.targets.map((t) => (t.stretch ? `stretch: ${t.text}` : t.text)).join("; "));
    const flags = same.flatMap((r) => r.flags.map((f) => (regimes.length > 1 ? `${REGIME_TITLES[r.regime]}: ${f}` : f)));
    cells.push(flags.length === 0 ? "" : `⚠ ${flags.join("; ")}`);
    out.push(cells);
  }
  return out;
}

function header(regimes: readonly Regime[]): string[] {
  return ["case", "variant", ...regimes.flatMap((r) => [REGIME_TITLES[r], "vs baseline"]), "target", "self-check"];
}

/** The regimes that have rows (in the run's order). */
function shown(run: Reportable): Regime[] {
  return run.options.regimes.filter((r) => run.rows.some((row) => row.regime === r));
}

/** The table as aligned text; a group's title only on its first line. */
export function textTable(run: Reportable): string {
  const regimes = shown(run);
  const body = lines(run.rows, regimes).map((cells, i, all) => (i > 0 && all[i - 1]![0] === cells[0] ? ["", ...cells.slice(1)] : cells));
  const table = [header(regimes), ...body];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => [...r[i]!].length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c + " ".repeat(widths[i]! - [...c].length))
      .join("  ")
      .trimEnd();
  return [line(table[0]!), widths.map((w) => "─".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** The table in Markdown (every row names its group, for grep). */
export function markdownTable(run: Reportable, filter?: (row: Row) => boolean): string {
  const regimes = shown(run);
  const escapeCell = (cell: string): string => cell.replace(/\|/g, "\\|");
  const line = (r: string[]): string => `| ${r.map(escapeCell).join(" | ")} |`;
  const rows = filter === undefined ? run.rows : run.rows.filter(filter);
  const head = header(regimes);
  return [line(head), line(head.map(() => "---")), ...lines(rows, regimes).map(line)].join("\n");
}

/** One line: how, where and when. */
export function summaryLine(run: Reportable): string {
  const e = run.environment;
  const o = run.options;
  const pinned = e.pinning !== null && o.regimes.some((r) => r !== "unpinned");
  const pinning = pinned ? ` (pinned: the case on cpu ${e.pinning!.cpu}, its peer on cpu ${e.pinning!.peerCpu}, or on the same one)` : "";
  return (
    `${o.profile} profile · ${o.rounds} rounds × (${o.budget.warmupMs} ms warm-up + ${o.budget.measureMs} ms) per case and regime, in ${fmt(e.seconds)} s · ` +
    `regimes: ${o.regimes.map((r) => REGIME_TITLES[r]).join(", ")}${pinning} · node ${e.node} · ${e.cpus}× ${e.cpuModel} · ` +
    `load ${e.loadBefore.join(" ")} → ${e.loadAfter.join(" ")} · ${e.date}`
  );
}

/** The self-check's verdict, and failures and skips, as text lines. */
export function notes(run: Reportable): string[] {
  const out: string[] = [];
  const slow = run.checks.filter((c) => !c.ok);
  out.push(
    run.checks.length === 0
      ? "Self-check: no reference loop ran (they run in the full profile: pnpm bench, or --profile full)."
      : slow.length === 0
        ? `Self-check: every baseline is within 20 % of its reference loop (${run.checks.length} checks).`
        : `Self-check: ${slow.length} of ${run.checks.length} baselines are more than 20 % slower than their reference loop: ${slow.map((c) => `${c.group} (${REGIME_TITLES[c.regime]}, ${c.speed.toFixed(2)}×)`).join("; ")}.`,
  );
  const wide = run.rows.filter((r) => r.flags.some((f) => f.startsWith("range"))).length;
  if (wide > 0) out.push(`${wide} rows have a range wider than 2× (flagged ⚠): their ratios mean little.`);
  if (run.skipped.length > 0) out.push(`Skipped: ${run.skipped.join("; ")}.`);
  if (run.failures.length > 0) out.push(`Failed:\n${run.failures.map((f) => `- ${f}`).join("\n")}`);
  return out;
}

/** The whole report in Markdown (latest.md). */
export function markdownReport(run: Reportable, title = "@ipc benchmarks"): string {
  return `# ${title}\n\n${markdownTable(run)}\n\n${summaryLine(run)}\n\n${notes(run).join("\n\n")}\n`;
}

/** The whole report as text (what the CLI prints). */
export function textReport(run: Reportable): string {
  return `${textTable(run)}\n\n${summaryLine(run)}\n${notes(run).join("\n")}\n`;
}
