/**
 * Worker processes for the cross-process tests (test/fixtures/worker.mjs, run from the built package):
 * their stdout lines, waited for as events, and a kill that always happens (the test's cleanup, or this
 * process's exit). No vitest here.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../fixtures/worker.mjs", import.meta.url));
const built = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

/** Why the worker processes cannot run here (the package is not built), or undefined. */
export const workerMissing: string | undefined = existsSync(built) ? undefined : "@ipc/nats is not built (pnpm build): its worker processes run dist/";

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface Worker {
  readonly pid: number;
  /** Every line printed so far. */
  readonly lines: readonly string[];
  /** Resolves with the first line (from `from`, default 0) matching `pattern`; rejects if the worker exits first. */
  line(pattern: RegExp, from?: number): Promise<string>;
  /** Resolves once `count` lines match `pattern`. */
  count(pattern: RegExp, count: number): Promise<void>;
  /** SIGKILL, then resolves once it exited. */
  kill(): Promise<void>;
  /** Resolves with the exit code once it exits by itself. */
  readonly exited: Promise<number | null>;
}

export function startWorker(args: readonly string[]): Worker {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  running.add(child);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  let pending = "";
  let gone = false;
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      lines.push(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
    for (const waiter of [...waiters]) waiter();
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      gone = true;
      running.delete(child);
      // Let the last stdout chunks arrive first.
      setImmediate(() => {
        for (const waiter of [...waiters]) waiter();
        resolve(code);
      });
    });
  });
  const wait = (done: () => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (done()) {
          waiters.delete(check);
          resolve();
        } else if (gone && child.stdout!.readableEnded) {
          waiters.delete(check);
          reject(new Error(`worker ${args.join(" ")} exited before ${what}; stderr:\n${stderr}`));
        }
      };
      waiters.add(check);
      child.stdout!.once("end", check);
      check();
    });
  return {
    pid: child.pid ?? -1,
    lines,
    async line(pattern, from = 0) {
      let found: string | undefined;
      await wait(() => (found = lines.slice(from).find((l) => pattern.test(l))) !== undefined, `printing ${pattern}`);
      return found!;
    },
    async count(pattern, count) {
      await wait(() => lines.filter((l) => pattern.test(l)).length >= count, `printing ${count} × ${pattern}`);
    },
    async kill() {
      if (!gone) child.kill("SIGKILL");
      await exited;
    },
    exited,
  };
}
