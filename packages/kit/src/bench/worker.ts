/**
 * One case in one process: `node worker.js '<CaseSpec JSON>'` measures and prints one JSON line of
 * metrics. It starts the subject's serving side first, in a process of its own (pinned to the peer CPU
 * when the spec says so), and kills it afterwards. With `"role": "peer"` or `"child"` it is that serving
 * side. A failure is one line on stderr and exit code 1. A peer's stdin is a pipe from its worker: when it
 * closes — the worker ended, however it ended — the peer exits, so a killed worker leaves no server behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { implementation, type Implementation } from "./impl.js";
import { SERVED_WITHOUT_PEER, type CaseSpec } from "./spec.js";

type Role = "main" | "peer" | "child";

/** Starts the peer and resolves with what it printed after "ready" (an address, a port, or ""). */
async function startPeer(spec: CaseSpec): Promise<{ process: ChildProcess; ready: string }> {
  const args = [fileURLToPath(import.meta.url), JSON.stringify({ ...spec, role: "peer" })];
  const command = spec.peerCpu === undefined ? [process.execPath, ...args] : ["taskset", "-c", spec.peerCpu, process.execPath, ...args];
  const peer = spawn(command[0]!, command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: peer.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  const line = typeof first.value === "string" ? first.value : "";
  if (!/^ready( |$)/.test(line)) {
    peer.kill("SIGKILL");
    throw new Error(`the ${spec.subject} peer did not start`);
  }
  return { process: peer, ready: line.slice("ready ".length) };
}

async function main(spec: CaseSpec, impl: Implementation): Promise<void> {
  const peer = impl.peer === undefined || SERVED_WITHOUT_PEER.has(spec.subject) ? undefined : await startPeer(spec);
  try {
    const metrics = await impl.run(spec, peer?.ready ?? "");
    process.stdout.write(`${JSON.stringify(metrics)}\n`);
  } finally {
    peer?.process.kill("SIGKILL");
  }
}

try {
  const spec = JSON.parse(process.argv[2] ?? "") as CaseSpec & { role?: Role };
  const impl = await implementation(spec.subject);
  if (spec.role === "peer") {
    process.stdin.on("end", () => process.exit(0)).on("error", () => process.exit(0)).resume();
    await impl.peer!(spec);
  }
  else if (spec.role === "child") {
    await impl.child!(spec);
    process.exit(0);
  } else {
    await main(spec, impl);
    process.exit(0);
  }
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
