/** A benchmark case: runs inside its own worker process, optionally with a peer process. */
export interface BenchCase {
  /** Unique id, used on the worker's command line. */
  readonly id: string;
  /** Cases with the same group are compared; exactly one of them has `role: "baseline"`. */
  readonly group: string;
  readonly role: "baseline" | "ours" | "reference";
  /** What the table calls this variant. */
  readonly label: string;
  /** Measures, and returns metric name → value. */
  run(peer: PeerHandle | undefined): Promise<Record<string, number>>;
  /** The other process's part, if the case needs one: started first, with the same id. */
  peer?(arg: string): Promise<void>;
  /**
   * The argument both sides get (`peer(arg)` and `run({ arg })`), from a fresh temp dir the worker
   * removes afterwards. Default: `JSON.stringify({ path: join(dir, "s.sock") })`.
   */
  peerArg?(dir: string): string;
  /**
   * Where the peer runs when processes are pinned: on the other core (`"split"`, the default: what a
   * client and a server usually get) or on the same core as the case (`"shared"`: no cross-core
   * wake-ups, so the CPU cost of the code itself shows).
   */
  readonly placement?: "split" | "shared";
}

/** What a case with a peer gets: the argument the peer was started with, and what it said when ready. */
export interface PeerHandle {
  readonly arg: string;
  /** The text after "ready " on the peer's first line (a URL with the port it picked, say), or "". */
  readonly ready: string;
}

/** How a metric is read. */
export interface MetricSpec {
  readonly name: string;
  readonly unit: string;
  /** True for rates (more is better), false for latencies. */
  readonly higherIsBetter: boolean;
  /** Divides the raw value for display (1e6 shows frames/s as M frames/s). */
  readonly scale?: number;
}

/** A target from an issue: on the ratio to the group's baseline, or on the absolute value. */
export interface Target {
  readonly group: string;
  readonly metric: string;
  /** For "ours" variants: a bound on ours/baseline (latency: at most; rate: at least). */
  readonly ratio?: number;
  /** A bound on the absolute value (latency: at most; rate: at least), in the metric's raw unit. */
  readonly absolute?: number;
  readonly text: string;
}

/** What each case file exports; cases/index.ts merges them. */
export interface CaseModule {
  readonly cases: readonly BenchCase[];
  /** Metric columns per group, in order. */
  readonly groupMetrics: Readonly<Record<string, readonly string[]>>;
  readonly targets?: readonly Target[];
  /** Metrics beyond the shared ones in cases/index.ts. */
  readonly metrics?: Readonly<Record<string, MetricSpec>>;
}
