/** `ipc bench`: measures every transport on this machine, prints a table, writes JSON, Markdown and SVG. */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { isIpcError } from "@ipc/core";
import { progressReporter } from "../bench/progress.js";
import { environmentLine, markdown, textTables } from "../bench/report.js";
import { runBench, selectSubjects } from "../bench/runner.js";
import { PEERS, TRANSPORTS } from "../bench/spec.js";
import { chart } from "../bench/svg.js";
import { UsageError, positiveInteger, report } from "./fail.js";
import { onSignals } from "./signals.js";

interface BenchFlags {
  transports: string;
  sizes: string;
  rounds: string;
  duration: string;
  vs?: string;
  out: string;
  pin: boolean;
}

function list(name: string, text: string, known: readonly string[]): string[] {
  const items = text.split(",").map((t) => t.trim()).filter(Boolean);
  const unknown = items.filter((t) => !known.includes(t));
  if (unknown.length > 0) throw new UsageError(`unknown ${name} '${unknown.join(",")}' (known: ${known.join(", ")})`);
  if (items.length === 0) throw new UsageError(`${name} is empty`);
  return items;
}

function sizes(text: string): number[] {
  return text.split(",").map((t) => {
    const match = /^\s*(\d+)\s*(k|ki|kib|m|mi|mib)?\s*$/i.exec(t);
    const unit = match?.[2]?.toLowerCase()[0];
    const value = match === null ? Number.NaN : Number(match[1]) * (unit === "k" ? 1024 : unit === "m" ? 1 << 20 : 1);
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
  const transports = list("transport", flags.transports, TRANSPORTS);
  const peers = flags.vs === undefined ? [] : flags.vs === "peers" ? PEERS : list("peer", flags.vs, PEERS);
  const stop = new AbortController();
  const options = {
    transports,
    peers,
    sizes: sizes(flags.sizes),
    rounds: positiveInteger("--rounds", flags.rounds),
    duration: positiveInteger("--duration", flags.duration),
    pin: flags.pin,
    onProgress: progressReporter(),
    signal: stop.signal,
  };
  const { out, created } = outDir(flags.out);
  const { missing } = selectSubjects(options);
  for (const m of missing) process.stderr.write(`skipping ${m}: not installed\n`);
  const run = runBench(options);
  // Ctrl-C: stop the case running (its processes, its temporary directory), write nothing, exit 130.
  onSignals(async () => {
    stop.abort();
    await run.catch(() => undefined);
    if (created !== undefined) rmSync(created, { recursive: true, force: true });
    process.stderr.write(`${process.stderr.isTTY ? "\r\x1b[K" : ""}ipc bench: interrupted; no results written\n`);
  });
  const results = await run;
  process.stdout.write(`\n${textTables(results)}\n\n${environmentLine(results)}\n`);
  const stamp = results.environment.date.replace(/[:.]/g, "-");
  const files = { json: `${JSON.stringify(results, null, 2)}\n`, md: markdown(results), svg: chart(results) };
  for (const name of [`bench-${stamp}`, "latest"]) {
    for (const [ext, text] of Object.entries(files)) writeFileSync(join(out, `${name}.${ext}`), text);
  }
  process.stdout.write(`results: ${join(out, "latest.md")}, latest.json, latest.svg\n`);
  const failed = results.cases.filter((c) => c.rounds.length === 0);
  if (failed.length > 0) {
    process.stderr.write(`${failed.length} case(s) failed in every round: see Failures in ${join(out, "latest.md")}\n`);
    process.exitCode = 1;
  }
}

export function benchCommand(program: Command): void {
  program
    .command("bench")
    .description("measure every transport on this machine: latency p50/p99, throughput, message rate, vs raw Node")
    .option("-t, --transports <list>", `transports to measure (${TRANSPORTS.join(",")})`, TRANSPORTS.join(","))
    .option("-s, --sizes <list>", "message sizes in bytes (k and m suffixes: 1024-based)", "64,64k")
    .option("-r, --rounds <n>", "interleaved rounds; the tables show medians", "3")
    .option("-d, --duration <ms>", "how long each case measures, per round", "300")
    .option("--vs <peers>", `also measure other libraries: 'peers' for all, or some of ${PEERS.join(",")}`)
    .option("-o, --out <dir>", "where to write latest.json, latest.md and latest.svg", "ipc-bench-results")
    .option("--no-pin", "do not pin processes to CPUs with taskset")
    .addHelpText(
      "after",
      "\nEach case runs in fresh processes (pinned to two CPUs with taskset when it exists), in interleaved\n" +
        "rounds, against raw Node on the same mechanism measured in the same run.\n\n" +
        "Examples:\n  ipc bench\n  ipc bench --vs peers\n  ipc bench -t unix,shm -s 64,4k,1m -r 5",
    )
    .action(async (flags: BenchFlags) => {
      try {
        await bench(flags);
      } catch (error) {
        // Interrupted: the signal handler says so and exits 130.
        if (!isIpcError(error, "IPC_ERR_ABORTED")) report("bench", error);
      }
    });
}
