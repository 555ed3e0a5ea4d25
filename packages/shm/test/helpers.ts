import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SharedMemory } from "../src/index.js";

const worker = fileURLToPath(new URL("./fixtures/worker.mjs", import.meta.url));
const made = new Set<string>();
const children = new Set<ChildProcess>();

/** A segment name unique to this test run. */
export function uniqueName(label: string): string {
  const name = `ipc-test-${process.pid}-${label}-${made.size}`;
  made.add(name);
  return name;
}

/** Starts a worker role in a child process; resolves once it printed its first line (if `waitFor`). */
export async function child(role: string, name: string, args: string[] = [], waitFor?: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [worker, role, name, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.add(proc);
  if (waitFor !== undefined) {
    const lines = createInterface({ input: proc.stdout! });
    const [line] = (await once(lines, "line")) as [string];
    if (line !== waitFor) throw new Error(`worker ${role} said '${line}', expected '${waitFor}'`);
  }
  return proc;
}

export async function exited(proc: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (proc.exitCode !== null || proc.signalCode !== null) return { code: proc.exitCode, signal: proc.signalCode };
  const [code, signal] = (await once(proc, "exit")) as [number | null, string | null];
  return { code, signal };
}

/** Kills the children and removes the segments a test made, pass or fail. */
export function cleanUp(): void {
  for (const proc of children) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  children.clear();
  for (const name of made) {
    try {
      SharedMemory.unlink(name);
    } catch {
      // never created, or already removed
    }
  }
  made.clear();
}
