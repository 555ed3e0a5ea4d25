/**
 * One case in one process: `node worker.js '<WorkerSpec JSON>'` measures and prints one JSON line of metrics.
 * It loads only the module its case lives in (a measuring process carries no other library: see
 * docs/benchmarks.md, "Why the old baselines were slow"), starts the case's peer first if it has one (on the
 * peer CPU when pinned), and kills it afterwards. With `"role": "peer"` or `"child"` it is that other side.
 * A failure is one line on stderr and exit code 1. A peer's stdin is a pipe from its worker: when it closes —
 * the worker ended, however it ended — the peer exits, so a killed worker leaves no server behind.
 */
import { fileURLToPath } from "node:url";
import type { BenchCase, CaseContext } from "./lib/case.js";
import { exitWithParent, pinned, startReady, type Ready } from "./lib/processes.js";
import { loadModule, type WorkerSpec } from "./lib/registry.js";

const self = fileURLToPath(import.meta.url);

/** The command line of a worker process playing `role` for `spec`, on `cpu` when pinned. */
function command(spec: WorkerSpec, role: "peer" | "child", arg: string, cpu: string | undefined): string[] {
  return pinned(cpu, [process.execPath, ...(spec.nodeArgs ?? []), self, JSON.stringify({ ...spec, role, arg })]);
}

async function measure(spec: WorkerSpec, found: BenchCase): Promise<void> {
  const arg = found.peerArg?.(spec.dir) ?? JSON.stringify({ dir: spec.dir });
  let peer: Ready | undefined;
  try {
    if (found.peer !== undefined) peer = await startReady(command(spec, "peer", arg, spec.peerCpu));
    const context: CaseContext = {
      arg,
      ready: peer?.ready ?? "",
      dir: spec.dir,
      budget: spec.budget,
      cpu: spec.cpu,
      peerCpu: spec.peerCpu,
      tellPeer: (line) => peer?.tell(line),
      childCommand: (childArg) => command(spec, "child", childArg, spec.peerCpu),
    };
    const metrics = await found.run(context);
    process.stdout.write(`${JSON.stringify(metrics)}\n`);
  } finally {
    await peer?.stop();
  }
}

try {
  const spec = JSON.parse(process.argv[2] ?? "") as WorkerSpec;
  const module = await loadModule(spec.module);
  const found = module.cases(spec.params).find((c) => c.id === spec.id);
  if (found === undefined) throw new Error(`no case '${spec.id}' in module ${spec.module}`);
  if (spec.role === "peer") {
    exitWithParent();
    await found.peer!(spec.arg!);
  } else if (spec.role === "child") {
    await found.child!(spec.arg!); // resolves once the other side is done with it
    process.exit(0);
  } else {
    await measure(spec, found);
    process.exit(0);
  }
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
