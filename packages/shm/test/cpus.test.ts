import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { onSeparateCpus } from "../src/transport/cpus.js";

// Whether a connection's two processes are pinned to different CPUs (transport/cpus.ts): it decides whether a
// receive right after ringing the peer awake spins (docs/benchmarks.md, the idle round trip). Real processes,
// pinned with taskset.

const hasTaskset = ((): boolean => {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const twoCpus = process.platform === "linux" && hasTaskset && availableParallelism() >= 2;
const cpusModule = fileURLToPath(new URL("../dist/transport/cpus.js", import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** A process pinned to `cpu` that waits until killed. */
async function pinnedSleeper(cpu: number): Promise<number> {
  const child = spawn("taskset", ["-c", String(cpu), process.execPath, "-e", "console.log('up'); setInterval(() => {}, 1 << 30)"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  await once(child.stdout!, "data");
  return child.pid!;
}

/** onSeparateCpus(peer) asked from a process pinned to `cpu`. */
async function askFrom(cpu: number, peer: number): Promise<boolean> {
  const code = `import(${JSON.stringify(cpusModule)}).then((m) => console.log(m.onSeparateCpus(${peer})))`;
  const child = spawn("taskset", ["-c", String(cpu), process.execPath, "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  await once(child, "exit");
  return out.trim() === "true";
}

describe("onSeparateCpus", () => {
  it("is false for this process and for a process that does not exist", () => {
    expect(onSeparateCpus(undefined)).toBe(false);
    expect(onSeparateCpus(process.pid)).toBe(false);
    expect(onSeparateCpus(2 ** 22 + 1)).toBe(false); // beyond pid_max's default: no such process
  });

  it.skipIf(!twoCpus)("is true only between processes pinned to different CPUs (needs taskset and 2 CPUs)", async () => {
    const onOne = await pinnedSleeper(1);
    expect(await askFrom(0, onOne)).toBe(true);
    expect(await askFrom(1, onOne)).toBe(false);
  });
});
