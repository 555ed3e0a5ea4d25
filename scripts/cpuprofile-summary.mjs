#!/usr/bin/env node
// Summarises V8 CPU profiles (the .cpuprofile files that `node --cpu-prof` writes, e.g. through
// `node benchmarks/dist/run.js --only <case> --cpu-prof DIR`; docs/benchmarks.md, "Profiles"):
// per profile, how much of the wall time the thread was busy, the top functions by self time, the top by
// total (inclusive) time, and the self time per module (an @ipc package, Node's internals, GC, native code).
//
//   node scripts/cpuprofile-summary.mjs [--top N] [--markdown] FILE_OR_DIR...
//
// Plain JavaScript with node:* only, so it runs on Node 20 without a build.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "12" }, markdown: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
});
if (values.help || positionals.length === 0) {
  console.log("usage: node scripts/cpuprofile-summary.mjs [--top N] [--markdown] FILE_OR_DIR...");
  process.exit(values.help ? 0 : 2);
}
const top = Number(values.top);

const files = positionals.flatMap((p) =>
  statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith(".cpuprofile"))
        .sort()
        .map((f) => join(p, f))
    : [p],
);

/** Where a function lives, shortened: `@ipc/unix dist/connection.js`, `node:internal/stream_base_commons`. */
function place(url) {
  if (url === "") return "";
  const u = url.replace(/^file:\/\//, "");
  const pkg = u.match(/\/(packages|benchmarks)\/([^/]+)\/(?:dist\/)?(.*)$/);
  if (pkg !== null) return pkg[1] === "benchmarks" ? `bench ${pkg[2]}/${pkg[3]}` : `@ipc/${pkg[2]} ${pkg[3]}`;
  const nm = u.match(/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\/(.*)$/);
  if (nm !== null) return `${nm[1]} ${nm[2]}`;
  return u;
}

/** The module a function belongs to, for the per-module totals. */
function moduleOf(frame) {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node:*";
  const p = place(url);
  return p.split(" ")[0];
}

function key(frame) {
  const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
  const where = place(frame.url);
  return where === "" ? name : `${name} ${where}:${frame.lineNumber + 1}`;
}

function summarise(file) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const total = new Map();
  const modules = new Map();
  let all = 0;
  let idle = 0;
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; the sample's own duration is the next delta.
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(profile.samples[i]);
    all += dt;
    if (node.callFrame.functionName === "(idle)") {
      idle += dt;
      continue;
    }
    add(self, key(node.callFrame), dt);
    add(modules, moduleOf(node.callFrame), dt);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id).callFrame;
      if (f.functionName === "(root)") continue;
      const k = key(f);
      if (!seen.has(k)) {
        seen.add(k);
        add(total, k, dt);
      }
    }
  }
  return { file, all, idle, busy: all - idle, self, total, modules };
}

const pct = (v, of) => (of === 0 ? "0.0" : ((100 * v) / of).toFixed(1));
const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);

for (const file of files) {
  const s = summarise(file);
  const head = `${basename(s.file)}: ${s.all.toFixed(0)} ms sampled, busy ${s.busy.toFixed(0)} ms (${pct(s.busy, s.all)} %), idle ${pct(s.idle, s.all)} %`;
  const rows = (m) => sorted(m).slice(0, top);
  if (values.markdown) {
    console.log(`\n**${head}**\n`);
    console.log("| self ms | % of busy | function |\n| ---: | ---: | --- |");
    for (const [k, v] of rows(s.self)) console.log(`| ${v.toFixed(1)} | ${pct(v, s.busy)} | \`${k}\` |`);
    console.log("\n| module | % of busy |\n| --- | ---: |");
    for (const [k, v] of rows(s.modules)) console.log(`| ${k} | ${pct(v, s.busy)} |`);
  } else {
    console.log(`\n${head}`);
    console.log("  top by self time (ms, % of busy):");
    for (const [k, v] of rows(s.self)) console.log(`    ${v.toFixed(1).padStart(8)} ${pct(v, s.busy).padStart(5)} %  ${k}`);
    console.log("  top by total time (ms, % of busy):");
    for (const [k, v] of rows(s.total)) console.log(`    ${v.toFixed(1).padStart(8)} ${pct(v, s.busy).padStart(5)} %  ${k}`);
    console.log("  self time by module (% of busy):");
    for (const [k, v] of rows(s.modules)) console.log(`    ${pct(v, s.busy).padStart(5)} %  ${k}`);
  }
}
