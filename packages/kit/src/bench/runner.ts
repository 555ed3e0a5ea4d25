/**
 * Runs the cases of `ipc bench`: each in fresh processes (a worker and its peer, pinned with taskset to
 * two CPUs when it can), in interleaved rounds (each round visits every case, in a rotated order, so that
 * a noisy neighbour hurts every case alike), and collects the results.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { abortError } from "@ipc/core";
import type { Metrics } from "./measure.js";
import type { BenchResults, CaseResult } from "./results.js";
import { SUBJECTS, type CaseSpec, type Kind, type Subject } from "./spec.js";

/** What to measure, and how. */
export interface BenchOptions {
  /** `--transports` names (see TRANSPORTS). */
  readonly transports: readonly string[];
  /** Payload sizes in bytes. */
  readonly sizes: readonly number[];
  readonly rounds: number;
  /** Milliseconds each case measures for, per round. */
  readonly duration: number;
  /** Other libraries to compare with (see PEERS). */
  readonly peers: readonly string[];
  /** Pin processes to CPUs with taskset when it exists. */
  readonly pin: boolean;
  /** Called before each run and once at the end (`done === total`). */
  readonly onProgress?: ((progress: Progress) => void) | undefined;
  /**
   * Stops the bench: the running case's processes are killed, its temporary directory removed, and
   * `runBench()` rejects with an `AbortError`. Default: none.
   */
  readonly signal?: AbortSignal | undefined;
}

export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly round: number;
  readonly rounds: number;
  /** The case about to run, e.g. "unix rtt 64 B". */
  readonly label: string;
  /** The last run's failure, if it failed. */
  readonly failure?: string | undefined;
}

const worker = fileURLToPath(new URL("./worker.js", import.meta.url));

/** Whether `name` can be imported from here (optional peer dependencies). */
function installed(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** The subjects to run, and the peers left out because their package is not installed. */
export function selectSubjects(options: Pick<BenchOptions, "transports" | "peers">): { subjects: Subject[]; missing: string[] } {
  const wanted = new Set(options.transports);
  const ours = SUBJECTS.filter((s) => s.family === "ours" && wanted.has(s.transport));
  const baselines = new Set(ours.map((s) => s.baseline).filter((b): b is string => b !== undefined));
  const messaging = ours.some((s) => s.transport !== "rpc");
  const missing: string[] = [];
  const subjects = SUBJECTS.filter((s) => {
    if (s.family === "ours") return wanted.has(s.transport);
    if (s.family === "baseline") return baselines.has(s.id);
    if (!options.peers.includes(s.id) || (s.transport === "rpc" ? !wanted.has("rpc") : !messaging)) return false;
    const absent = (s.needs ?? []).filter((name) => !installed(name));
    if (absent.length > 0) missing.push(`${s.id} (npm i ${absent.join(" ")})`);
    return absent.length === 0;
  });
  if (subjects.some((s) => s.baseline === "raw-unix") && !subjects.some((s) => s.id === "raw-unix")) {
    subjects.push(SUBJECTS.find((s) => s.id === "raw-unix")!);
  }
  return { subjects, missing };
}

function affinity(): number[] {
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "";
  return list.split(",").flatMap((part) => {
    const [from, to] = part.split("-").map(Number);
    if (from === undefined || Number.isNaN(from)) return [];
    return to === undefined ? [from] : Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** The case's CPU and its peer's, when taskset works and two CPUs are allowed. */
function pinning(enabled: boolean): { cpu: string; peerCpu: string } | undefined {
  if (!enabled) return undefined;
  const allowed = affinity();
  if (allowed.length < 2 || spawnSync("taskset", ["-c", String(allowed[0]), "true"]).status !== 0) return undefined;
  return { cpu: String(allowed[0]), peerCpu: String(allowed[1]) };
}

/**
 * Runs one case in a worker process. Killing the worker (a timeout, the signal) takes its peer and child
 * with it: they watch their stdin, a pipe from the worker that closes however the worker ends.
 */
function runOnce(spec: CaseSpec, signal: AbortSignal | undefined): Promise<Metrics> {
  const args = [worker, JSON.stringify(spec)];
  const command = spec.cpu === undefined ? [process.execPath, ...args] : ["taskset", "-c", spec.cpu, process.execPath, ...args];
  const limits = { maxBuffer: 1 << 20, timeout: 30_000 + spec.duration * 20, killSignal: "SIGKILL" as const, signal };
  return new Promise((resolve, reject) => {
    execFile(command[0]!, command.slice(1), limits, (error, stdout, stderr) => {
      if (error !== null) {
        const why = stderr.trim().split("\n").pop() || (error.killed ? "timed out" : error.message.split("\n")[0]);
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

export function sizeText(size: number): string {
  if (size >= 1 << 20 && size % (1 << 20) === 0) return `${size >> 20} MiB`;
  if (size >= 1024 && size % 1024 === 0) return `${size >> 10} KiB`;
  return `${size} B`;
}

/** Runs every case `rounds` times, interleaved, and returns the results. */
export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const { subjects } = selectSubjects(options);
  const cases: CaseResult[] = subjects.flatMap((s) =>
    s.kinds.flatMap((kind: Kind) =>
      options.sizes.map((size) => ({ subject: s.id, label: s.label, family: s.family, kind, size, baseline: s.baseline, rounds: [], errors: [] })),
    ),
  );
  const pin = pinning(options.pin);
  const started = Date.now();
  const results: BenchResults = {
    tool: "ipc bench",
    version: 1,
    environment: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      pinning: pin === undefined ? "none" : `worker on cpu ${pin.cpu}, its peer on cpu ${pin.peerCpu}`,
      loadBefore: loadavg().map((l) => Number(l.toFixed(2))),
      loadAfter: [],
      seconds: 0,
    },
    options: { rounds: options.rounds, duration: options.duration, sizes: options.sizes, subjects: subjects.map((s) => s.id) },
    cases,
  };
  const total = cases.length * options.rounds;
  let done = 0;
  let failure: string | undefined;
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + round) % cases.length]!;
      const label = `${c.subject} ${c.kind} ${sizeText(c.size)}`;
      options.onProgress?.({ done, total, round: round + 1, rounds: options.rounds, label, failure });
      if (options.signal?.aborted) throw abortError(options.signal, "ipc bench");
      const dir = mkdtempSync(join(tmpdir(), "ipc-bench-"));
      try {
        c.rounds.push(await runOnce({ subject: c.subject, kind: c.kind, size: c.size, duration: options.duration, dir, cpu: pin?.cpu, peerCpu: pin?.peerCpu }, options.signal));
        failure = undefined;
      } catch (error) {
        if (options.signal?.aborted) throw abortError(options.signal, "ipc bench");
        failure = `${label}: ${(error as Error).message}`;
        c.errors.push((error as Error).message);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      done++;
    }
  }
  options.onProgress?.({ done, total, round: options.rounds, rounds: options.rounds, label: "done", failure });
  results.environment.loadAfter = loadavg().map((l) => Number(l.toFixed(2)));
  results.environment.seconds = Math.round((Date.now() - started) / 100) / 10;
  return results;
}
