/**
 * What a benchmark is made of. A case is one measurement (run in its own processes); a group is one
 * section of the report: the cases compared there, each with its role, the metrics shown and the targets.
 * Cases and groups are separate because one case can serve several groups (the raw Unix socket loop is the
 * baseline of the Unix socket group and of the shared-memory groups alike): it is measured once per round.
 */

/**
 * How processes are placed on CPUs while a case runs:
 * - `"unpinned"`: wherever the kernel puts them, as a library's users get (the default regime);
 * - `"split"`: with `taskset`, the case on one CPU and its peer on another (a client and a server on two cores);
 * - `"one core"`: both on the same CPU (no cross-core wake-ups: what the code itself costs shows).
 */
export type Regime = "unpinned" | "split" | "one core";

/** Every regime, in report order. */
export const REGIMES: readonly Regime[] = ["unpinned", "split", "one core"];

/**
 * A row's part in its group: `ours` is measured against `baseline` (the fastest straightforward raw code for
 * the job); `reference` is the same job written the plain way in standalone programs, which the baseline is
 * checked against (see docs/benchmarks.md, "Self-check"); `other` is shown for comparison only (another
 * library, another way of writing it).
 */
export type Role = "ours" | "baseline" | "reference" | "other";

/** Metric name → value, in the metric's raw unit (per second, microseconds, MiB). */
export type Metrics = Record<string, number>;

/** How long a case warms up (unmeasured) and then measures, in milliseconds. */
export interface Budget {
  readonly warmupMs: number;
  readonly measureMs: number;
}

/** What the measuring side of a case gets. */
export interface CaseContext {
  /** The argument the peer was started with (see {@link BenchCase.peerArg}). */
  readonly arg: string;
  /** What the peer printed after "ready " on its first line (an address, a port), or "". */
  readonly ready: string;
  /** A fresh directory for sockets, FIFOs and certificates, removed after the case. */
  readonly dir: string;
  readonly budget: Budget;
  /** The CPU the case runs on, when pinned (its own children inherit it). */
  readonly cpu?: string | undefined;
  /** The CPU for the other side, when pinned: cases that start their own children pin them here. */
  readonly peerCpu?: string | undefined;
  /** Writes one line to the peer's stdin (where to connect, when the case listens and the peer dials). */
  tellPeer(line: string): void;
  /**
   * The command line that runs this case's {@link BenchCase.child} with `arg` in a process of its own, on the
   * peer's CPU when pinned: for cases whose other side is a child process talking over its stdio.
   */
  childCommand(arg: string): string[];
}

/** A measurement, run in a worker process of its own (and a peer process, if it has one). */
export interface BenchCase {
  /** Unique over every case module: on the worker's command line and in the JSON. */
  readonly id: string;
  /** What the report calls it (a group row may say it differently). */
  readonly label: string;
  /** Measures and returns its metrics. */
  run(context: CaseContext): Promise<Metrics>;
  /**
   * The other process's part, if the case needs one: started first, pinned to the other CPU in the split
   * regime. It prints `ready [text]` on stdout once it serves, then serves until its stdin closes.
   */
  peer?(arg: string): Promise<void>;
  /** The other side as a child process of the case, over its stdio (see {@link CaseContext.childCommand}). */
  child?(arg: string): Promise<void>;
  /** The argument both sides get. Default: `{"dir": <the case's directory>}` as JSON. */
  peerArg?(dir: string): string;
  /** The regimes it is measured in. Default: unpinned and split. */
  readonly regimes?: readonly Regime[];
  /** npm packages it loads (other libraries, optional): the case is skipped, and says so, without them. */
  readonly needs?: readonly string[];
}

/** How a metric is read and shown. */
export interface MetricSpec {
  /** The unit shown after a value (already scaled). */
  readonly unit: string;
  /** True for rates (more is better), false for latencies and sizes. */
  readonly higherIsBetter: boolean;
  /** The raw value is divided by this for display (1e6 shows msgs/s as M msgs/s). Default 1. */
  readonly scale?: number;
}

/**
 * A target from an issue, checked for the `ours` rows of its group in every regime: a bound on the ratio to
 * the baseline (or to the row of case `vs`), or on the absolute value.
 */
export interface Target {
  readonly metric: string;
  /** ours / baseline (latency: at most; rate: at least). */
  readonly ratio?: number;
  /** The case the ratio is taken against, instead of the group's baseline. */
  readonly vs?: string;
  /** Bound on the absolute value, in the metric's raw unit (latency: at most; rate: at least). */
  readonly absolute?: number;
  /** Only for the rows of these cases (default: every `ours` row of the group). */
  readonly cases?: readonly string[];
  /** A stretch goal: shown, never counted as a miss. */
  readonly stretch?: boolean;
  /** As the report shows it: "≥ 0.9× raw". */
  readonly text: string;
}

/** One row of a group: a case, its role there, and optionally how the group names it. */
export interface GroupRow {
  readonly case: string;
  readonly role: Role;
  readonly label?: string;
  /** Profiles besides "full" that show this row. Default: those of its group. */
  readonly profiles?: readonly string[];
}

/** A section of the report. Groups with the same title (from different modules) are merged. */
export interface Group {
  readonly title: string;
  readonly metrics: readonly string[];
  readonly rows: readonly GroupRow[];
  readonly targets?: readonly Target[];
  /** The `ipc bench --transports` name it belongs to, if any (unix, tcp, shm, pipe, fifo, memory, rpc). */
  readonly transport?: string;
  /** Profiles besides "full" that include it. */
  readonly profiles?: readonly string[];
}

/** What a case module is told when its cases are made (the same in the runner and in each worker). */
export interface CaseParams {
  /** Message sizes of the size-parametrised cases (the transports' round trips and streams), in bytes. */
  readonly sizes: readonly number[];
}

/** What each file under cases/ exports as `module`. */
export interface CaseModule {
  cases(params: CaseParams): readonly BenchCase[];
  groups?(params: CaseParams): readonly Group[];
  /** Metrics beyond the shared ones (lib/metrics.ts). */
  readonly metrics?: Readonly<Record<string, MetricSpec>>;
}
