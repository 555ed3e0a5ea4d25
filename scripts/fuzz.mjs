#!/usr/bin/env node
/**
 * Runs the property tests (packages/<pkg>/test/property/*.test.ts, fast-check) long, with random seeds:
 * round after round, each with a fresh seed and many runs per property, until the time is up or a property
 * fails. In the test suite the same properties run with a fixed seed and few runs (see @ipc/testing/property).
 *
 *   node scripts/fuzz.mjs [--minutes 10] [--runs 20000] [--seed N] [--keep-going] [package ...]
 *
 * - `--minutes M`: how long to go on (default 10); `--rounds K` instead stops after K rounds.
 * - `--runs N`: runs of every property per round (FC_RUNS; properties over connections divide it by their cost).
 * - `--seed N`: one round with this seed (FC_SEED), to replay a failure.
 * - `--keep-going`: after a failure, go on with new seeds (every failure is reported at the end).
 * - `package ...`: only these packages' properties (framing, channels, rpc, shm); default all.
 *
 * A failure prints its seed, fast-check's counterexample and the command that replays it (FC_SEED, FC_RUNS and
 * FC_PATH, which the tests read). Exits 1 if any property failed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    minutes: { type: "string", default: "10" },
    rounds: { type: "string" },
    runs: { type: "string", default: "20000" },
    seed: { type: "string" },
    "keep-going": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (options.help) {
  const text = readFileSync(fileURLToPath(import.meta.url), "utf8");
  console.log(
    text
      .slice(text.indexOf("/**") + 3, text.indexOf("*/"))
      .replace(/^ \* ?/gm, "")
      .trim(),
  );
  process.exit(0);
}

function integer(name, text) {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    console.error(`fuzz: --${name} takes an integer, got '${text}'`);
    process.exit(2);
  }
  return value;
}

const runs = integer("runs", options.runs);
const deadline = Date.now() + integer("minutes", options.minutes) * 60_000;
const rounds = options.seed !== undefined ? 1 : options.rounds !== undefined ? integer("rounds", options.rounds) : Infinity;

const packages = positionals.length > 0 ? positionals : readdirSync(join(root, "packages"));
const files = packages.flatMap((name) => {
  const dir = join(root, "packages", name, "test", "property");
  if (!existsSync(dir)) {
    if (positionals.length > 0) console.error(`fuzz: packages/${name} has no test/property/ folder`);
    return [];
  }
  return readdirSync(dir)
    .filter((file) => file.endsWith(".test.ts"))
    .map((file) => relative(root, join(dir, file)));
});
if (files.length === 0) {
  console.error("fuzz: no property tests found");
  process.exit(2);
}

const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
const work = mkdtempSync(join(tmpdir(), "ipc-fuzz-"));
const failures = [];

/** One round: every property file, one seed. Returns the failed tests. */
function round(seed) {
  const report = join(work, `round-${seed}.json`);
  const result = spawnSync(process.execPath, [vitest, "run", ...files, "--reporter=json", `--outputFile=${report}`], {
    cwd: root,
    env: { ...process.env, FC_SEED: String(seed), FC_RUNS: String(runs) },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (!existsSync(report)) {
    // vitest itself failed (a crashed worker, a file that does not compile): show what it said.
    return [{ file: "(vitest)", name: `exited with ${result.status ?? result.signal}`, message: `${result.stdout}\n${result.stderr}` }];
  }
  const json = JSON.parse(readFileSync(report, "utf8"));
  const failed = [];
  for (const file of json.testResults) {
    for (const test of file.assertionResults) {
      if (test.status === "failed")
        failed.push({ file: relative(root, file.name), name: test.fullName ?? test.title, message: test.failureMessages.join("\n") });
    }
    if (file.assertionResults.length === 0 && file.status === "failed") failed.push({ file: relative(root, file.name), name: "(file)", message: file.message });
  }
  return failed;
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const quote = (text) => `'${text.replace(/'/g, "'\\''")}'`;

console.log(
  `fuzz: ${files.length} property files, ${runs} runs per property and round, ${rounds === 1 ? "one round" : options.rounds !== undefined ? `${rounds} rounds` : `for ${options.minutes} min`}`,
);
try {
  for (let n = 1; n <= rounds && (n === 1 || Date.now() < deadline); n++) {
    const seed = options.seed !== undefined ? integer("seed", options.seed) : (Math.random() * 2 ** 31) | 0;
    const started = Date.now();
    const failed = round(seed);
    console.log(
      `round ${n}: FC_SEED=${seed} — ${failed.length === 0 ? "all properties hold" : `${failed.length} FAILED`} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    for (const f of failed) {
      const path = /path: "([^"]*)"/.exec(f.message)?.[1];
      const counterexample = /Counterexample: (.*)/.exec(f.message)?.[1];
      const cause =
        /^Got (?:error: )?(.*)$/m.exec(f.message)?.[1] ??
        /Caused by: (.*)/.exec(f.message)?.[1] ??
        /^\s*(\w*Error: (?!Property failed).*)$/m.exec(f.message)?.[1] ??
        f.message.split("\n").find((line) => line.trim() !== "");
      console.log(`\n  FAILED ${f.file} > ${f.name}`);
      console.log(`    seed: ${seed}${path === undefined ? "" : `, path: ${path}`}`);
      if (counterexample !== undefined) console.log(`    counterexample: ${counterexample.slice(0, 2000)}`);
      if (cause !== undefined) console.log(`    error: ${cause.slice(0, 2000)}`);
      const env = `FC_SEED=${seed} FC_RUNS=${runs}${path === undefined ? "" : ` FC_PATH=${quote(path)}`}`;
      const filter = f.name.startsWith("(") ? "" : ` -t ${quote(escapeRegExp(f.name.split(" > ").at(-1)))}`;
      console.log(`    replay: ${env} pnpm exec vitest run ${f.file}${filter}\n`);
      failures.push({ seed, ...f });
    }
    if (failed.length > 0 && !options["keep-going"]) break;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.log(`fuzz: ${failures.length} failure(s), seeds ${[...new Set(failures.map((f) => f.seed))].join(", ")}`);
  process.exit(1);
}
console.log("fuzz: no property failed");
