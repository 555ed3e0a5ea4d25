/**
 * One case in one process: `node worker.js <case-id>` prints one JSON line with its metrics;
 * `node worker.js <case-id> --peer <arg>` plays the case's other side (started by the first). With
 * IPC_BENCH_CPU / IPC_BENCH_PEER_CPU set (by run.js), the peer is pinned to its CPU with taskset.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { cases } from "./cases/index.js";

const [id, flag, arg] = process.argv.slice(2);
const found = cases.find((c) => c.id === id);
if (found === undefined) throw new Error(`unknown case '${String(id)}'`);

if (flag === "--peer") {
  await found.peer!(arg!);
} else if (found.peer === undefined) {
  process.stdout.write(`${JSON.stringify(await found.run(undefined))}\n`);
  process.exit(0);
} else {
  const dir = mkdtempSync(join(tmpdir(), "ipc-bench-"));
  const peerArgument = found.peerArg?.(dir) ?? JSON.stringify({ path: join(dir, "s.sock") });
  const command = [process.execPath, fileURLToPath(import.meta.url), found.id, "--peer", peerArgument];
  const cpu = process.env.IPC_BENCH_PEER_CPU;
  const pinned = cpu === undefined ? command : ["taskset", "-c", found.placement === "shared" ? process.env.IPC_BENCH_CPU! : cpu, ...command];
  const peer = spawn(pinned[0]!, pinned.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const lines = createInterface({ input: peer.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    const line = typeof first.value === "string" ? first.value : "";
    if (!/^ready( |$)/.test(line)) throw new Error(`peer of ${found.id} did not start`);
    const result = await found.run({ arg: peerArgument, ready: line.slice("ready ".length) });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    peer.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
