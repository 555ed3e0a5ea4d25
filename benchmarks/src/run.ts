/**
 * `pnpm bench`: runs every case in its own process(es), in interleaved rounds (each round visits every
 * case, in a rotated order), then prints the medians with the ratio to the baseline measured in the same
 * run, and writes JSON and Markdown to benchmarks/results/.
 *
 *   node dist/run.js [--rounds 5] [--only unix,decode] [--out results] [--no-pin]
 *
 * Processes are pinned with taskset when it exists (the case on one CPU, its peer on another, or the
 * same one for "shared" cases), because on a small VM where a process lands moves latency more than
 * the code under test does.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { cases as allCases, groupMetrics, metrics, targets } from "./cases/index.js";
import { buildRows, markdownTable, textTable } from "./lib/report.js";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

const USAGE = `usage: node benchmarks/dist/run.js [--rounds 5] [--only unix,decode] [--out benchmarks/results] [--no-pin]
  --rounds N     interleaved rounds; the table shows medians and ranges (default 5)
  --only LIST    only the cases whose id or group contains one of these comma-separated words
  --out DIR      where latest.md and latest.json go (default benchmarks/results)
  --no-pin       do not pin processes to CPUs with taskset`;

/** --help: the usage on stdout. Bad usage: the problem and the usage on stderr, exit code 2, no stack trace. */
function usage(problem?: string): never {
  if (problem === undefined) process.stdout.write(`${USAGE}\n`);
  else process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(problem === undefined ? 0 : 2);
}

function parse(): { rounds: string; only?: string | undefined; out: string; "no-pin": boolean; help: boolean } {
  try {
    return parseArgs({
      options: {
        rounds: { type: "string", default: "5" },
        only: { type: "string" },
        out: { type: "string", default: join(here, "..", "results") },
        "no-pin": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
}

const values = parse();
if (values.help) usage();
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) usage(`--rounds must be a positive integer, got ${values.rounds}`);
const filters = values.only?.split(",").map((f) => f.trim().toLowerCase()).filter(Boolean);
const cases = allCases.filter(
  (c) => filters === undefined || filters.some((f) => c.id.includes(f) || c.group.toLowerCase().includes(f)),
);
if (cases.length === 0) usage(`--only ${values.only} matches no case`);

function affinity(): string {
  const status = readFileSync("/proc/self/status", "utf8");
  return /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? "unknown";
}

/** Two CPUs to pin a case and its peer to, if taskset exists and there are two; else no pinning. */
function pinning(): { cpu: string; peerCpu: string } | undefined {
  if (values["no-pin"]) return undefined;
  const allowed = affinity().split(",").flatMap((part) => {
    const [from, to] = part.split("-").map(Number);
    return to === undefined ? [from!] : Array.from({ length: to - from! + 1 }, (_, i) => from! + i);
  });
  if (allowed.length < 2 || spawnSync("taskset", ["-c", String(allowed[0]), "true"]).status !== 0) return undefined;
  return { cpu: String(allowed[0]), peerCpu: String(allowed[1]) };
}

const pin = pinning();
const environment = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  affinity: affinity(),
  pinning: pin === undefined ? "none" : `case on cpu ${pin.cpu}, peer on cpu ${pin.peerCpu} (same core where the case says so)`,
  loadBefore: loadavg().map((l) => Number(l.toFixed(2))),
  loadAfter: [] as number[],
  rounds,
};

const samples = new Map<string, Record<string, number>[]>();
const failures: string[] = [];
const worker = join(here, "worker.js");
const started = Date.now();
for (let round = 0; round < rounds; round++) {
  const order = cases.map((_, i) => cases[(i + round) % cases.length]!);
  for (const c of order) {
    process.stderr.write(`round ${round + 1}/${rounds}  ${c.id.padEnd(24)}\r`);
    const command = pin === undefined ? [process.execPath, worker, c.id] : ["taskset", "-c", pin.cpu, process.execPath, worker, c.id];
    const env = pin === undefined ? process.env : { ...process.env, IPC_BENCH_CPU: pin.cpu, IPC_BENCH_PEER_CPU: pin.peerCpu };
    try {
      const { stdout } = await run(command[0]!, command.slice(1), { maxBuffer: 1 << 20, timeout: 120_000, env });
      const result = JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, number>;
      samples.set(c.id, [...(samples.get(c.id) ?? []), result]);
    } catch (error) {
      // One failing case must not throw away the others: it is reported below, and the run exits 1.
      const stderr = (error as { stderr?: string }).stderr ?? "";
      const line = stderr.split("\n").find((l) => /Error\b/.test(l)) ?? (error instanceof Error ? error.message.split("\n")[0] : String(error));
      failures.push(`${c.id} (round ${round + 1}): ${line!.trim()}`);
    }
  }
}
environment.loadAfter = loadavg().map((l) => Number(l.toFixed(2)));
process.stderr.write(`${" ".repeat(50)}\r`);

const rows = buildRows(cases, samples, groupMetrics, metrics, targets);
const seconds = ((Date.now() - started) / 1000).toFixed(0);
const summary =
  `${rounds} rounds in ${seconds} s · node ${environment.node} · ${environment.cpus}× ${environment.cpuModel} · ` +
  `pinning: ${environment.pinning} · load ${environment.loadBefore.join(" ")} → ${environment.loadAfter.join(" ")}`;
const failed = failures.length === 0 ? "" : `\nFailed:\n${failures.map((f) => `- ${f}`).join("\n")}\n`;
process.stdout.write(`\n${textTable(rows)}\n\n${summary}\n${failed}`);

const out = resolve(values.out!);
mkdirSync(out, { recursive: true });
const stamp = environment.date.replace(/[:.]/g, "-");
const json = JSON.stringify({ environment, rows, samples: Object.fromEntries(samples), failures }, null, 2);
const markdown = `# @ipc benchmarks\n\n${markdownTable(rows)}\n\n${summary}\n${failed}`;
for (const name of [`bench-${stamp}`, "latest"]) {
  writeFileSync(join(out, `${name}.json`), json);
  writeFileSync(join(out, `${name}.md`), markdown);
}
process.stdout.write(`results: ${join(out, "latest.md")} (and .json)\n`);
if (failures.length > 0) process.exitCode = 1;
