/**
 * The figures `choose()` of @ipc/kit decides by, taken from a run: per scheme and message size, the round
 * trip (p50) and the one-way throughput, in the default regime (unpinned: what a library gets). Written as
 * `measurements.json` next to every run's results, and into @ipc/kit's own copy with `--measurements FILE`
 * (from a full run). docs/benchmarks.md documents the format. Also the README's "Which mechanism?" table,
 * from the same run.
 */
import type { Metrics, Regime } from "./case.js";
import { fmt } from "./report.js";
import { sizeId, sizeText } from "./sizes.js";

/** One scheme's figures at one message size. */
export interface SizeNumbers {
  /** Round trip, median of the rounds' p50, microseconds. */
  readonly roundTripP50Us?: number;
  /** One-way stream: payload bytes per second. */
  readonly bytesPerSecond?: number;
  /** One-way stream: messages per second. */
  readonly messagesPerSecond?: number;
}

/** One scheme's figures: at 64 B and 64 KiB (the fields choose() has always read), and by size. */
export interface SchemeNumbers {
  readonly roundTripP50Us?: number;
  readonly bytesPerSecond?: number;
  /** Keyed by the message size in bytes ("64", "65536", "1048576"). */
  readonly bySize?: Readonly<Record<string, SizeNumbers>>;
}

/** The contents of measurements.json. */
export interface Measurements {
  /** How, where and when (one line, quoted by choose()'s answers). */
  readonly source: string;
  readonly date: string;
  readonly regime: Regime;
  readonly schemes: Readonly<Record<string, SchemeNumbers>>;
}

/** The schemes choose() knows, with the raw mechanism each is measured against. */
const SCHEMES = ["unix", "tcp", "shm", "pipe", "fifo", "memory"] as const;
const RAW_OF: Readonly<Record<string, string | undefined>> = { unix: "unix", tcp: "tcp", shm: "unix", pipe: "stdio", fifo: "fifo" };

interface RunLike {
  readonly environment: { readonly date: string; readonly node: string; readonly cpus: number; readonly cpuModel: string };
  readonly options: { readonly profile: string; readonly rounds: number; readonly regimes: readonly Regime[]; readonly sizes: readonly number[] };
  readonly samples: Readonly<Record<string, readonly Metrics[]>>;
}

function medianOf(run: RunLike, id: string, regime: Regime, metric: string): number | undefined {
  const values = (run.samples[`${id}@${regime}`] ?? [])
    .map((m) => m[metric]!)
    .filter((v) => Number.isFinite(v))
    .sort((a, b) => a - b);
  if (values.length === 0) return undefined;
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

function sizeNumbers(run: RunLike, prefix: string, size: number, regime: Regime): SizeNumbers | undefined {
  const numbers = {
    roundTripP50Us: medianOf(run, `${prefix}-rtt-${sizeId(size)}`, regime, "p50 µs"),
    bytesPerSecond: medianOf(run, `${prefix}-stream-${sizeId(size)}`, regime, "bytes/s"),
    messagesPerSecond: medianOf(run, `${prefix}-stream-${sizeId(size)}`, regime, "msgs/s"),
  };
  const present = Object.entries(numbers).filter(([, v]) => v !== undefined);
  return present.length === 0 ? undefined : (Object.fromEntries(present) as SizeNumbers);
}

/** The regime choose() uses: unpinned when the run measured it. */
function regimeOf(run: RunLike): Regime {
  return run.options.regimes.includes("unpinned") ? "unpinned" : (run.options.regimes[0] ?? "unpinned");
}

export function measurementsOf(run: RunLike, regime: Regime = regimeOf(run)): Measurements {
  const schemes: Record<string, SchemeNumbers> = {};
  for (const scheme of SCHEMES) {
    const bySize: Record<string, SizeNumbers> = {};
    for (const size of run.options.sizes) {
      const numbers = sizeNumbers(run, scheme, size, regime);
      if (numbers !== undefined) bySize[String(size)] = numbers;
    }
    if (Object.keys(bySize).length === 0) continue;
    schemes[scheme] = { roundTripP50Us: bySize["64"]?.roundTripP50Us, bytesPerSecond: bySize["65536"]?.bytesPerSecond, bySize };
  }
  const e = run.environment;
  return {
    source: `@ipc/bench ${run.options.profile} profile, ${e.date} (${e.cpus}× ${e.cpuModel}, Node.js ${e.node}, ${run.options.rounds} rounds, medians, ${regime})`,
    date: e.date,
    regime,
    schemes,
  };
}

const LABELS: Readonly<Record<string, string>> = {
  unix: "@ipc/unix (`unix://`)",
  tcp: "@ipc/tcp (`tcp://`)",
  shm: "@ipc/shm (`shm://`)",
  pipe: "@ipc/pipe (`pipe:`, child stdio)",
  fifo: "@ipc/pipe (`fifo://`)",
  memory: "`memory://` (one process)",
};
const RAW_LABELS: Readonly<Record<string, string>> = {
  unix: "raw node:net, Unix socket",
  tcp: "raw node:net, TCP",
  stdio: "raw Node child stdio",
  fifo: "raw Node FIFO pair",
};

/**
 * The "Which mechanism?" table of the README: per transport (and the raw Node baseline beside it) the round
 * trip and the stream at each size of the run, in `regime`, with the ratio to raw Node in the same run.
 */
export function mechanismTable(run: RunLike, regime: Regime): string {
  const sizes = [...run.options.sizes].sort((a, b) => a - b);
  const header = ["transport", ...sizes.flatMap((s) => [`round trip ${sizeText(s)} (p50)`, s < 4096 ? `${sizeText(s)} msgs/s` : `${sizeText(s)} messages`])];
  const cell = (value: number | undefined, base: number | undefined, kind: "rtt" | "msgs" | "bytes"): string => {
    if (value === undefined) return "";
    const text =
      kind === "rtt"
        ? value >= 1000
          ? `${fmt(value / 1000)} ms`
          : `${fmt(value)} µs`
        : kind === "msgs"
          ? `${fmt(value / 1e6)} M`
          : `${fmt(value / 1e9)} GB/s`;
    return base === undefined ? text : `${text} (${(value / base).toFixed(2)}×)`;
  };
  const rowOf = (prefix: string, label: string, basePrefix: string | undefined): string[] | undefined => {
    const cells = sizes.flatMap((s) => {
      const ours = sizeNumbers(run, prefix, s, regime);
      const base = basePrefix === undefined ? undefined : sizeNumbers(run, basePrefix, s, regime);
      return [
        cell(ours?.roundTripP50Us, base?.roundTripP50Us, "rtt"),
        s < 4096 ? cell(ours?.messagesPerSecond, base?.messagesPerSecond, "msgs") : cell(ours?.bytesPerSecond, base?.bytesPerSecond, "bytes"),
      ];
    });
    return cells.every((c) => c === "") ? undefined : [label, ...cells];
  };
  const rows: string[][] = [];
  const rawShown = new Set<string>();
  for (const scheme of SCHEMES) {
    const raw = RAW_OF[scheme];
    const ours = rowOf(scheme, LABELS[scheme]!, raw === undefined ? undefined : `raw-${raw}`);
    if (ours !== undefined) rows.push(ours);
    if (raw !== undefined && !rawShown.has(raw)) {
      const base = rowOf(`raw-${raw}`, RAW_LABELS[raw]!, undefined);
      if (base !== undefined) {
        rows.push(base);
        rawShown.add(raw);
      }
    }
  }
  const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
