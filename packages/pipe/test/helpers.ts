/** What the tests share: temp dirs, fixture paths, and what /proc says about processes. */
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import { PipeSocket } from "../src/native/socket.js";

/** A fresh temp dir, removed after the test file (pass or fail). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ipc-pipe-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The absolute path of a file in test/fixtures. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** The built package: children import it (Node 20 cannot run the TypeScript sources). */
export const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
if (!existsSync(dist)) throw new Error(`${dist} is missing: build first (pnpm turbo run build --filter @ipc/pipe...)`);

/** Settles with the error `promise` rejects with, or fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** The fields of /proc/<pid>/stat after the command name, or undefined if the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** True while `pid` runs (a zombie or a reaped process does not). */
export function isRunning(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== "Z" && state !== "X";
}

/** True when `pid` is an unreaped child of this process: the zombie a careless parent leaves behind. */
export function isOurZombie(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] === "Z" && Number(fields[1]) === process.pid;
}

/**
 * The command lines (arguments joined by spaces) of this process's children that are still running and
 * whose command line contains `marker`: what a test looks for after a stop that had to kill them.
 */
export function runningChildren(marker: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields === undefined || Number(fields[1]) !== process.pid || fields[0] === "Z" || fields[0] === "X") continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      if (commandLine.includes(marker)) found.push(commandLine);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** This process's open descriptors, as `fd -> what` (`pipe:[123]`, `socket:[456]`, a path). */
export function openFds(): string[] {
  const fds: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      fds.push(`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      // The descriptor readdir itself used, closed by now.
    }
  }
  return fds.sort();
}

/** Polls `condition` every 10 ms until it holds (the test's own timeout guards against a hang). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Reads a pid a child wrote to `file` (polling until it is there). */
export async function pidFrom(file: string): Promise<number> {
  await until(() => existsSync(file) && readFileSync(file, "utf8").endsWith("\n"));
  return Number(readFileSync(file, "utf8").trim());
}

/** Kills `pid` if it still runs (cleanup of processes a test deliberately leaves behind). */
export function killIfRunning(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** True when this process has CAP_SYS_RESOURCE (it may exceed /proc/sys/fs/pipe-max-size). */
export function hasCapSysResource(): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
  return ((BigInt(`0x${hex}`) >> 24n) & 1n) === 1n;
}

/** Deterministic bytes: a pattern seeded by `seed`, for comparing large transfers. */
export function patternBytes(size: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return bytes;
}

/** Everything readable from the FIFO or pipe `fd` until end-of-file (read through a socket, which closes `fd`). */
export async function readFifoToEnd(fd: number): Promise<Buffer> {
  const socket = new PipeSocket(fd, "read", "test FIFO");
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  await once(socket, "end");
  return Buffer.concat(chunks);
}
