/**
 * `runBench()`: selects the groups and cases of a profile, runs every case in fresh processes in each regime,
 * in interleaved rounds (each round visits every case × regime, in a rotated order, so that a noisy
 * neighbour hurts all alike), and builds the report's rows from the medians.
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Budget, Group, GroupRow, Metrics, Regime } from "./case.js";
import { measurementsOf, type Measurements } from "./measurements.js";
import { pinned } from "./processes.js";
import { catalogue, type Catalogue, type ModuleName, type WorkerSpec } from "./registry.js";
import { buildRows, type Check, type Row } from "./rows.js";

/** The profiles: what `pnpm bench` runs, and the quick subset `ipc bench` runs. */
export const PROFILES = {
  /** Every group, both regimes (and one core where a case asks), sizes 64 B, 64 KiB and 1 MiB: about half an hour. */
  full: { sizes: [64, 64 * 1024, 1024 * 1024], regimes: ["unpinned", "split", "one core"], rounds: 3, budget: { warmupMs: 250, measureMs: 750 } },
  /** The transports and RPC at 64 B and 64 KiB, unpinned, without the reference loops: under a minute. */
  quick: { sizes: [64, 64 * 1024], regimes: ["unpinned"], rounds: 3, budget: { warmupMs: 100, measureMs: 150 } },
} as const satisfies Record<string, { sizes: readonly number[]; regimes: readonly Regime[]; rounds: number; budget: Budget }>;

export type ProfileName = keyof typeof PROFILES;

/** The other libraries `--vs` can add, and the npm packages each needs. */
export const PEERS: Readonly<Record<string, readonly string[]>> = {
  zeromq: ["zeromq"],
  "node-ipc": ["node-ipc"],
  "vscode-jsonrpc": ["vscode-jsonrpc"],
  "grpc-js": ["@grpc/grpc-js", "@grpc/proto-loader"],
};

/** What to run, and how. Every option has a default. */
export interface RunOptions {
  /** Default `"full"`. */
  readonly profile?: ProfileName | undefined;
  /** Only groups whose title, or cases whose id, contains one of these words (a case brings its group's baseline and reference). Default: all. */
  readonly only?: readonly string[] | undefined;
  /** Only the groups of these transports (unix, tcp, tls, shm, pipe, fifo, memory, rpc). Default: all. */
  readonly transports?: readonly string[] | undefined;
  /** Message sizes of the transport cases, in bytes. Default: the profile's. */
  readonly sizes?: readonly number[] | undefined;
  /** Interleaved rounds; the report shows medians and ranges. Default: the profile's (3). */
  readonly rounds?: number | undefined;
  /** Default: the profile's (full: unpinned, split and one core; quick: unpinned). */
  readonly regimes?: readonly Regime[] | undefined;
  /** Warm-up and measured time of each case run. Default: the profile's. */
  readonly budget?: Partial<Budget> | undefined;
  /** Other libraries to measure too: `true` for all of {@link PEERS}, or some of their names. Default: none. */
  readonly peers?: boolean | readonly string[] | undefined;
  /**
   * A lock file taken exclusively (flock) while measuring, so that other work sharing the machine and the
   * lock pauses meanwhile, and runs between cases (or rounds: see {@link lockScope}). Default: none.
   */
  readonly lock?: string | undefined;
  /** Whether {@link lock} is held around each case run (default) or each round. */
  readonly lockScope?: "case" | "round" | undefined;
  /**
   * A directory for CPU profiles: every process of every case runs with `node --cpu-prof` and writes its
   * profile there (`CPU.<date>.<pid>.….cpuprofile`) when it exits. Profiling slows what it measures. Default: none.
   */
  readonly cpuProf?: string | undefined;
  /** Stops the run: the running case's processes are killed, its directory removed, and runBench() rejects. */
  readonly signal?: AbortSignal | undefined;
  /** Called before each case run, and once at the end (`done === total`). */
  readonly onProgress?: ((progress: Progress) => void) | undefined;
}

export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly round: number;
  readonly rounds: number;
  /** The case about to run and its regime, e.g. "unix-rtt-64B (split)". */
  readonly label: string;
  /** Why the previous case run failed, if it did. */
  readonly failure?: string | undefined;
}

/** Everything a run measured: what `latest.json` holds (docs/benchmarks.md documents it). */
export interface BenchRun {
  readonly tool: "@ipc/bench";
  readonly version: 2;
  readonly environment: {
    readonly date: string;
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    /** The CPUs this process may use. */
    readonly affinity: string;
    /** The CPU of the measuring side and of its peer when pinned (split; one core uses the first). */
    readonly pinning: { readonly cpu: string; readonly peerCpu: string } | null;
    readonly loadBefore: readonly number[];
    readonly loadAfter: readonly number[];
    readonly seconds: number;
    readonly lock: string | null;
  };
  readonly options: {
    readonly profile: ProfileName;
    readonly rounds: number;
    readonly regimes: readonly Regime[];
    readonly sizes: readonly number[];
    readonly budget: Budget;
    readonly only: readonly string[] | null;
    readonly transports: readonly string[] | null;
    readonly peers: readonly string[];
  };
  /** One per group × regime × row × metric, in report order. */
  readonly rows: readonly Row[];
  /** The self-check: each baseline against its reference loop. */
  readonly checks: readonly Check[];
  /** Each case run's metrics, by `case@regime`, in round order. */
  readonly samples: Readonly<Record<string, readonly Metrics[]>>;
  /** Case runs that failed: "case (regime, round N): why". */
  readonly failures: readonly string[];
  /** What was left out and why (another library not installed, no taskset). */
  readonly skipped: readonly string[];
  /** The figures choose() decides by, from this run (see @ipc/kit's measurements.json). */
  readonly measurements: Measurements;
}

/** Thrown by runBench() when its signal aborts; `code` is stable. */
export class BenchAbortedError extends Error {
  readonly code = "IPC_BENCH_ABORTED";
  constructor() {
    super("the benchmark run was stopped");
    this.name = "BenchAbortedError";
  }
}

function affinity(): string {
  return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "unknown";
}

function allowedCpus(): number[] {
  return affinity()
    .split(",")
    .flatMap((part) => {
      const [from, to] = part.split("-").map(Number);
      if (from === undefined || Number.isNaN(from)) return [];
      return to === undefined ? [from] : Array.from({ length: to - from + 1 }, (_, i) => from + i);
    });
}

/** Two CPUs for the pinned regimes, when taskset works and two are allowed. */
function pinningCpus(): { cpu: string; peerCpu: string } | undefined {
  const allowed = allowedCpus();
  if (allowed.length < 2 || spawnSync("taskset", ["-c", String(allowed[0]), "true"]).status !== 0) return undefined;
  return { cpu: String(allowed[0]), peerCpu: String(allowed[1]) };
}

/** Whether `name` can be imported from here. */
function installed(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** The pinned CPUs of a regime. */
function cpusOf(regime: Regime, pin: { cpu: string; peerCpu: string } | undefined): { cpu?: string; peerCpu?: string } {
  if (regime === "unpinned" || pin === undefined) return {};
  return regime === "split" ? pin : { cpu: pin.cpu, peerCpu: pin.cpu };
}

/** A group as the run shows it: the rows selected. */
export interface SelectedGroup extends Group {
  readonly rows: readonly GroupRow[];
}

/** The groups and rows a run shows, and what it left out. */
export function select(cat: Catalogue, options: RunOptions): { groups: SelectedGroup[]; skipped: string[]; peers: string[] } {
  const profile = options.profile ?? "full";
  const skipped: string[] = [];
  const wantedPeers = options.peers === true ? Object.keys(PEERS) : options.peers === false || options.peers === undefined ? [] : [...options.peers];
  for (const name of wantedPeers) if (PEERS[name] === undefined) throw new Error(`unknown library '${name}' (known: ${Object.keys(PEERS).join(", ")})`);
  const peers = wantedPeers.filter((name) => {
    const absent = PEERS[name]!.filter((p) => !installed(p));
    if (absent.length > 0) skipped.push(`${name}: not installed (npm i -D ${absent.join(" ")}, or use the @ipc monorepo's pnpm bench)`);
    return absent.length === 0;
  });
  const rowWanted = (group: Group, row: GroupRow): boolean => {
    const needs = cat.cases.get(row.case)!.bench.needs;
    if (needs !== undefined && !peers.some((p) => PEERS[p]![0] === needs[0])) return false;
    if (profile === "full") return true;
    return (row.profiles ?? group.profiles ?? []).includes(profile);
  };
  const words = options.only?.map((w) => w.toLowerCase());
  // A baseline or reference named by --only shows in the first group that lists it (its own), not in every
  // group that borrows it (the raw Unix socket loop is also the shared-memory groups' baseline).
  const home = new Map<string, string>();
  for (const group of cat.groups) for (const row of group.rows) if (!home.has(row.case)) home.set(row.case, group.title);
  const groups: SelectedGroup[] = [];
  for (const group of cat.groups) {
    if (profile !== "full" && !(group.profiles ?? []).includes(profile)) continue;
    if (options.transports !== undefined && (group.transport === undefined || !options.transports.includes(group.transport))) continue;
    let rows = group.rows.filter((row) => rowWanted(group, row));
    if (words !== undefined && !words.some((w) => group.title.toLowerCase().includes(w))) {
      const named = rows.filter(
        (row) => words.some((w) => row.case.toLowerCase().includes(w)) && (row.role === "ours" || row.role === "other" || home.get(row.case) === group.title),
      );
      if (named.length === 0) continue;
      const vs = new Set((group.targets ?? []).map((t) => t.vs));
      rows = rows.filter((row) => named.includes(row) || row.role === "baseline" || row.role === "reference" || vs.has(row.case));
    }
    // A group whose only rows are other libraries' says nothing on its own; nor one against another library
    // that is not measured in this run.
    if (rows.length === 0 || rows.every((row) => row.role === "other")) continue;
    if (group.rows.some((row) => row.role === "baseline" && !rows.includes(row) && cat.cases.get(row.case)!.bench.needs !== undefined)) continue;
    groups.push({ ...group, rows });
  }
  return { groups, skipped, peers };
}

const worker = fileURLToPath(new URL("../worker.js", import.meta.url));

/**
 * Takes an exclusive flock on `file` and holds it until the returned function is called: a `flock` process
 * holds it for us (Node has no flock), and lets go when its stdin closes — also if this process dies.
 */
async function holdLock(file: string, signal: AbortSignal | undefined): Promise<() => void> {
  const holder = spawn("flock", ["-x", file, "sh", "-c", "echo locked; exec cat >/dev/null"], { stdio: ["pipe", "pipe", "inherit"] });
  const release = (): void => void holder.stdin.end();
  const onAbort = (): void => void holder.kill("SIGKILL");
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const [chunk] = (await Promise.race([once(holder.stdout, "data"), once(holder, "exit").then(() => [undefined])])) as [Buffer | undefined];
    if (chunk === undefined) throw signal?.aborted ? new BenchAbortedError() : new Error(`could not take the lock ${file}`);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return release;
}

/** Runs one case in a worker process; its peer and children end with it (their stdin closes). */
function runOnce(spec: WorkerSpec, timeoutMs: number, signal: AbortSignal | undefined): Promise<Metrics> {
  const command = pinned(spec.cpu, [process.execPath, ...(spec.nodeArgs ?? []), worker, JSON.stringify(spec)]);
  return new Promise((resolve, reject) => {
    execFile(command[0]!, command.slice(1), { maxBuffer: 1 << 20, timeout: timeoutMs, killSignal: "SIGKILL", signal }, (error, stdout, stderr) => {
      if (error !== null) {
        const why =
          stderr
            .trim()
            .split("\n")
            .filter((l) => /\S/.test(l))
            .pop() || (error.killed ? `timed out after ${timeoutMs / 1000} s` : error.message.split("\n")[0]);
        return reject(new Error(why));
      }
      try {
        resolve(JSON.parse(stdout.trim().split("\n").pop()!) as Metrics);
      } catch {
        reject(new Error(`the worker printed no result: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

/** Runs a profile (see {@link RunOptions}) and returns everything it measured. */
export async function runBench(options: RunOptions = {}): Promise<BenchRun> {
  const profileName = options.profile ?? "full";
  const profile = PROFILES[profileName];
  const sizes = [...(options.sizes ?? profile.sizes)];
  const budget: Budget = { ...profile.budget, ...options.budget };
  const rounds = options.rounds ?? profile.rounds;
  const cat = await catalogue({ sizes });
  const { groups, skipped, peers } = select(cat, options);
  const pin = pinningCpus();
  let regimes: Regime[] = [...(options.regimes ?? profile.regimes)];
  if (pin === undefined && regimes.some((r) => r !== "unpinned")) {
    skipped.push("the split and one-core regimes: taskset is missing, or fewer than 2 CPUs are allowed");
    regimes = ["unpinned"];
  }
  // Every case of the selected rows, in each of its regimes that the run measures.
  const runs: { id: string; module: ModuleName; regime: Regime }[] = [];
  const seen = new Set<string>();
  for (const group of groups) {
    for (const row of group.rows) {
      if (seen.has(row.case)) continue;
      seen.add(row.case);
      const { bench, module } = cat.cases.get(row.case)!;
      for (const regime of regimes) if ((bench.regimes ?? ["unpinned", "split"]).includes(regime)) runs.push({ id: row.case, module, regime });
    }
  }
  const samples = new Map<string, Metrics[]>();
  const failures: string[] = [];
  const started = Date.now();
  const environment = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    affinity: affinity(),
    pinning: pin ?? null,
    loadBefore: loadavg().map((l) => Number(l.toFixed(2))),
    loadAfter: [] as number[],
    seconds: 0,
    lock: options.lock ?? null,
  };
  const timeoutMs = 60_000 + 10 * (budget.warmupMs + budget.measureMs);
  const total = runs.length * rounds;
  let done = 0;
  let failure: string | undefined;
  const scope = options.lockScope ?? "case";
  const locked = async (scoped: "case" | "round"): Promise<() => void> =>
    options.lock === undefined || scope !== scoped ? () => undefined : holdLock(options.lock, options.signal);
  for (let round = 0; round < rounds; round++) {
    const releaseRound = await locked("round");
    for (let i = 0; i < runs.length; i++) {
      const run = runs[(i + round) % runs.length]!;
      const label = `${run.id} (${run.regime})`;
      options.onProgress?.({ done, total, round: round + 1, rounds, label, failure });
      if (options.signal?.aborted) throw new BenchAbortedError();
      const dir = mkdtempSync(join(tmpdir(), "ipc-bench-"));
      let releaseCase: (() => void) | undefined;
      try {
        releaseCase = await locked("case");
        const nodeArgs = options.cpuProf === undefined ? undefined : ["--cpu-prof", `--cpu-prof-dir=${resolve(options.cpuProf)}`];
        const spec: WorkerSpec = { module: run.module, id: run.id, params: { sizes }, dir, budget, regime: run.regime, ...cpusOf(run.regime, pin), nodeArgs };
        const metrics = await runOnce(spec, timeoutMs, options.signal);
        const key = `${run.id}@${run.regime}`;
        samples.set(key, [...(samples.get(key) ?? []), metrics]);
        failure = undefined;
      } catch (error) {
        if (options.signal?.aborted) {
          releaseRound();
          throw new BenchAbortedError();
        }
        failure = `${label}, round ${round + 1}: ${(error as Error).message}`;
        failures.push(failure);
      } finally {
        releaseCase?.();
        rmSync(dir, { recursive: true, force: true });
      }
      done++;
    }
    releaseRound();
  }
  options.onProgress?.({ done, total, round: rounds, rounds, label: "done", failure });
  environment.loadAfter = loadavg().map((l) => Number(l.toFixed(2)));
  environment.seconds = Math.round((Date.now() - started) / 100) / 10;
  const { rows, checks } = buildRows(groups, regimes, samples, cat.metrics, cat.cases);
  const result: Omit<BenchRun, "measurements"> = {
    tool: "@ipc/bench",
    version: 2,
    environment,
    options: {
      profile: profileName,
      rounds,
      regimes,
      sizes,
      budget,
      only: options.only === undefined ? null : [...options.only],
      transports: options.transports === undefined ? null : [...options.transports],
      peers,
    },
    rows,
    checks,
    samples: Object.fromEntries(samples),
    failures,
    skipped,
  };
  return { ...result, measurements: measurementsOf(result) };
}
