/**
 * `ipc bench`: the quick profile of the benchmark harness (@ipc/bench, the same cases and code as `pnpm
 * bench`): prints a table, writes JSON, Markdown, SVG and the measurements `ipc choose --results` reads.
 */
import { mkdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { BenchAbortedError, PEERS, PROFILES, parseSize, runBench, textReport, writeResults, type ProfileName, type Regime } from "@ipc/bench";
import type { Command } from "commander";
import { progressReporter } from "../progress.js";
import { UsageError, positiveInteger, report } from "../fail.js";
import { onSignals } from "../signals.js";

/** The `--transports` names. */
const TRANSPORTS = ["unix", "tcp", "tls", "shm", "pipe", "fifo", "memory", "rpc"];
const REGIMES = ["unpinned", "split", "one-core"];

interface BenchFlags {
  profile: string;
  transports?: string;
  only?: string;
  sizes?: string;
  rounds?: string;
  duration?: string;
  warmup?: string;
  regimes?: string;
  vs?: string;
  out: string;
  pin: boolean;
}

function list(name: string, text: string, known: readonly string[]): string[] {
  const items = text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = items.filter((t) => !known.includes(t));
  if (unknown.length > 0) throw new UsageError(`unknown ${name} '${unknown.join(",")}' (known: ${known.join(", ")})`);
  if (items.length === 0) throw new UsageError(`${name} is empty`);
  return items;
}

function sizes(text: string): number[] {
  return text.split(",").map((t) => {
    const value = parseSize(t);
    if (!Number.isSafeInteger(value) || value < 1 || value > 64 << 20) {
      throw new UsageError(`--sizes takes sizes from 1 byte to 64 MiB such as 64,4k,64k,1m; got '${t.trim()}'`);
    }
    return value;
  });
}

/**
 * Creates the results folder before measuring, so that a bad --out fails at once, not minutes later.
 * `created` is the first directory it made, if any (removed again when the bench is interrupted).
 */
function outDir(dir: string): { out: string; created: string | undefined } {
  const out = resolve(dir);
  try {
    return { out, created: mkdirSync(out, { recursive: true }) };
  } catch (error) {
    throw new UsageError(`--out ${dir}: cannot create it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

async function bench(flags: BenchFlags): Promise<void> {
  if (!(flags.profile in PROFILES)) throw new UsageError(`--profile must be one of ${Object.keys(PROFILES).join(", ")}, got '${flags.profile}'`);
  const peers = flags.vs === undefined ? undefined : flags.vs === "peers" ? true : list("library", flags.vs, Object.keys(PEERS));
  const regimes = !flags.pin ? ["unpinned"] : flags.regimes === undefined ? undefined : list("regime", flags.regimes, REGIMES).map((r) => r.replace("-", " "));
  const stop = new AbortController();
  const options = {
    profile: flags.profile as ProfileName,
    transports: flags.transports === undefined ? undefined : list("transport", flags.transports, TRANSPORTS),
    only: flags.only
      ?.split(",")
      .map((w) => w.trim())
      .filter(Boolean),
    sizes: flags.sizes === undefined ? undefined : sizes(flags.sizes),
    rounds: flags.rounds === undefined ? undefined : positiveInteger("--rounds", flags.rounds),
    budget: {
      ...(flags.duration === undefined ? {} : { measureMs: positiveInteger("--duration", flags.duration) }),
      ...(flags.warmup === undefined ? {} : { warmupMs: positiveInteger("--warmup", flags.warmup) }),
    },
    regimes: regimes as Regime[] | undefined,
    peers,
    onProgress: progressReporter(),
    signal: stop.signal,
  };
  const { out, created } = outDir(flags.out);
  const run = runBench(options);
  // Ctrl-C: stop the case running (its processes, its temporary directory), write nothing, exit 130.
  onSignals(async () => {
    stop.abort();
    await run.catch(() => undefined);
    if (created !== undefined) rmSync(created, { recursive: true, force: true });
    process.stderr.write(`${process.stderr.isTTY ? "\r\x1b[K" : ""}ipc bench: interrupted; no results written\n`);
  });
  const results = await run;
  for (const skipped of results.skipped) process.stderr.write(`skipped ${skipped}\n`);
  if (results.rows.length === 0 && results.failures.length === 0) throw new UsageError("no case matches --transports, --only and --sizes");
  process.stdout.write(`\n${textReport(results)}`);
  const latest = writeResults(results, out, "ipc bench");
  process.stdout.write(`results: ${latest}, latest.json, latest.svg, measurements.json (ipc choose --results reads it)\n`);
  if (results.failures.length > 0) {
    process.stderr.write(`${results.failures.length} case run(s) failed: see Failed in ${latest}\n`);
    process.exitCode = 1;
  }
}

export function benchCommand(program: Command): void {
  const quick = PROFILES.quick;
  program
    .command("bench")
    .description("measure every transport on this machine against raw Node: round trips, message rates, throughput, RPC")
    .option("--profile <name>", "quick (the transports and RPC) or full (every case of pnpm bench)", "quick")
    .option("-t, --transports <list>", `only these transports (${TRANSPORTS.join(",")})`)
    .option("--only <words>", "only groups whose title, or cases whose id, contains one of these words")
    .option("-s, --sizes <list>", `message sizes (k and m suffixes: 1024-based; quick default ${quick.sizes.join(",")})`)
    .option("-r, --rounds <n>", `interleaved rounds; the tables show medians and ranges (default ${quick.rounds})`)
    .option("-d, --duration <ms>", `how long each case measures, per round (quick default ${quick.budget.measureMs})`)
    .option("--warmup <ms>", `unmeasured time before each measurement (quick default ${quick.budget.warmupMs})`)
    .option("--regimes <list>", "unpinned (what a library gets), split (taskset: one CPU each), one-core; quick default unpinned")
    .option("--vs <peers>", `also measure other libraries: 'peers' for all, or some of ${Object.keys(PEERS).join(",")}`)
    .option("-o, --out <dir>", "where to write latest.json, latest.md, latest.svg and measurements.json", "ipc-bench-results")
    .option("--no-pin", "only the unpinned regime (the same as --regimes unpinned)")
    .addHelpText(
      "after",
      "\nThe cases and code of @ipc/bench (pnpm bench in the repository runs all of them): each case in fresh\n" +
        "processes, in interleaved rounds, against raw Node on the same mechanism measured in the same run.\n" +
        "The quick profile takes about a minute on 2 CPUs.\n\n" +
        "Examples:\n  ipc bench\n  ipc bench --vs peers\n  ipc bench -t unix,shm -s 64,4k,1m -r 5 --regimes unpinned,split",
    )
    .action(async (flags: BenchFlags) => {
      try {
        await bench(flags);
      } catch (error) {
        // Interrupted: the signal handler says so and exits 130.
        if (!(error instanceof BenchAbortedError)) report("bench", error);
      }
    });
}
