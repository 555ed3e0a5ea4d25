#!/usr/bin/env node
/**
 * The harness's command (`pnpm bench`, `node benchmarks/dist/run.js`, `npx ipc-bench`): runs a profile, prints
 * the table, writes latest.{json,md,svg} and measurements.json to --out. See USAGE.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { REGIMES, type Regime } from "./lib/case.js";
import { mechanismBlock, replaceBlock, targetsBlock, writeMeasurements, writeResults } from "./lib/files.js";
import { progressReporter } from "./lib/progress.js";
import { textReport } from "./lib/report.js";
import { BenchAbortedError, PEERS, PROFILES, runBench, type BenchRun, type ProfileName } from "./lib/runner.js";
import { parseSize } from "./lib/sizes.js";

const here = dirname(fileURLToPath(import.meta.url));

const USAGE = `usage: node benchmarks/dist/run.js [options]
  --profile NAME      full (every case: pnpm bench) or quick (the transports and RPC: ipc bench); default full
  --rounds N          interleaved rounds; the table shows medians and ranges (default: the profile's, 3)
  --only WORDS        only groups whose title, or cases whose id, contains one of these comma-separated words
                      (a case comes with its group's baseline and reference loop)
  --transports LIST   only these transports' groups: unix,tcp,tls,shm,pipe,fifo,memory,rpc
  --sizes LIST        message sizes of the transport cases, e.g. 64,64k,1m (default: full 64,64k,1m; quick 64,64k)
  --regimes LIST      unpinned,split,one-core (default: full all three; quick unpinned)
  --no-pin            the same as --regimes unpinned
  --warmup MS         unmeasured time before each measurement (default: full 300, quick 100)
  --duration MS       measured time of each case run (default: full 1000, quick 200)
  --vs LIST           also measure other libraries: peers (all), or some of ${Object.keys(PEERS).join(",")}
  --lock FILE         take an exclusive flock on FILE while measuring (others run between cases, or rounds)
  --lock-per SCOPE    case (default) or round: how long each hold of --lock lasts
  --out DIR           where latest.{json,md,svg} and measurements.json go (default benchmarks/results)
  --measurements FILE also write the figures choose() decides by there (e.g. packages/kit/measurements.json)
  --readme FILE       replace the ipc-bench and bench blocks of FILE (the README) with this run's tables
  --cpu-prof DIR      every process of every case runs with node --cpu-prof, writing its profile to DIR
  --from FILE         measure nothing: report the run saved in FILE (a latest.json), for --measurements/--readme`;

/** --help: the usage on stdout. Bad usage: the problem and the usage on stderr, exit code 2, no stack trace. */
function usage(problem?: string): never {
  if (problem === undefined) process.stdout.write(`${USAGE}\n`);
  else process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(problem === undefined ? 0 : 2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        profile: { type: "string", default: "full" },
        rounds: { type: "string" },
        only: { type: "string" },
        transports: { type: "string" },
        sizes: { type: "string" },
        regimes: { type: "string" },
        "no-pin": { type: "boolean", default: false },
        warmup: { type: "string" },
        duration: { type: "string" },
        vs: { type: "string" },
        lock: { type: "string" },
        "lock-per": { type: "string", default: "case" },
        out: { type: "string", default: join(here, "..", "results") },
        measurements: { type: "string" },
        readme: { type: "string" },
        from: { type: "string" },
        "cpu-prof": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
}

const list = (text: string | undefined): string[] | undefined =>
  text
    ?.split(",")
    .map((w) => w.trim())
    .filter(Boolean);

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) usage(`${name} must be a positive integer, got ${text}`);
  return n;
}

const values = parse();
if (values.help) usage();
if (!(values.profile in PROFILES)) usage(`--profile must be one of ${Object.keys(PROFILES).join(", ")}, got ${values.profile}`);
const regimes = values["no-pin"] ? ["unpinned"] : list(values.regimes)?.map((r) => r.replace("-", " "));
for (const r of regimes ?? []) if (!REGIMES.includes(r as Regime)) usage(`--regimes takes ${REGIMES.map((x) => x.replace(" ", "-")).join(",")}, got ${r}`);
const sizes = list(values.sizes)?.map((s) => {
  const size = parseSize(s);
  if (!Number.isSafeInteger(size) || size < 1 || size > 64 << 20) usage(`--sizes takes sizes from 1 byte to 64 MiB such as 64,4k,1m; got ${s}`);
  return size;
});
const vs = values.vs === undefined ? undefined : values.vs === "peers" ? true : list(values.vs)!;
for (const name of vs === true || vs === undefined ? [] : vs)
  if (PEERS[name] === undefined) usage(`--vs: unknown library ${name} (known: peers, ${Object.keys(PEERS).join(", ")})`);

if (values["lock-per"] !== "case" && values["lock-per"] !== "round") usage(`--lock-per takes case or round, got ${values["lock-per"]}`);

const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
process.once("SIGTERM", () => stop.abort());

/** A run saved by an earlier invocation (its latest.json). */
function saved(file: string): BenchRun {
  try {
    const run = JSON.parse(readFileSync(file, "utf8")) as BenchRun;
    if (run.tool !== "@ipc/bench" || run.version !== 2) throw new Error("not the latest.json of @ipc/bench (version 2)");
    return run;
  } catch (error) {
    return usage(`--from ${file}: ${(error as Error).message}`);
  }
}

try {
  const run =
    values.from !== undefined
      ? saved(values.from)
      : await runBench({
          profile: values.profile as ProfileName,
          rounds: positive("--rounds", values.rounds),
          only: list(values.only),
          transports: list(values.transports),
          sizes,
          regimes: regimes as Regime[] | undefined,
          budget: {
            ...(values.warmup === undefined ? {} : { warmupMs: positive("--warmup", values.warmup) }),
            ...(values.duration === undefined ? {} : { measureMs: positive("--duration", values.duration) }),
          },
          peers: vs,
          lock: values.lock,
          lockScope: values["lock-per"] as "case" | "round",
          cpuProf: values["cpu-prof"],
          signal: stop.signal,
          onProgress: progressReporter(),
        });
  if (run.rows.length === 0 && run.failures.length === 0) usage(`--only ${values.only ?? ""} --transports ${values.transports ?? ""} matches no case`);
  process.stdout.write(`\n${textReport(run)}`);
  const latest = values.from === undefined ? writeResults(run, values.out!) : values.from;
  if (values.measurements !== undefined) writeMeasurements(run, values.measurements);
  if (values.readme !== undefined) {
    replaceBlock(values.readme, "ipc-bench", mechanismBlock(run));
    replaceBlock(values.readme, "bench", targetsBlock(run));
  }
  process.stdout.write(`results: ${latest} (and latest.json, latest.svg, measurements.json)\n`);
  if (run.failures.length > 0) process.exitCode = 1;
} catch (error) {
  if (error instanceof BenchAbortedError) {
    process.stderr.write(`\ninterrupted; no results written\n`);
    process.exit(130);
  }
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
