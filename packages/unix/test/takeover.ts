/**
 * The stale-socket race of issue 16.3, shared by unix.test.ts and native-off.test.ts: several listen()
 * calls in this process and in child processes (test/fixtures/listen-race.mjs, run from the built dist/)
 * start together on one path that holds a stale socket file; exactly one may win.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Listener } from "@ipc/core";
import { expect } from "vitest";
import { lockPathOf } from "../src/bind-lock.js";
import { connect, listen } from "../src/index.js";

const fixture = fileURLToPath(new URL("./fixtures/listen-race.mjs", import.meta.url));

/** What one contender got: the listener (in this process), or the error's code and message. */
export interface Outcome {
  readonly where: "this process" | "child";
  readonly ok: boolean;
  readonly code?: string | undefined;
  readonly message?: string | undefined;
  readonly listener?: Listener | undefined;
  readonly child?: ChildProcessWithoutNullStreams | undefined;
}

/** Leaves a stale socket file at `path`: a plain node:net server that is killed without cleaning up. */
export async function leaveStaleSocket(path: string): Promise<number> {
  const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`]);
  await once(child.stdout, "data");
  child.kill("SIGKILL");
  await once(child, "exit");
  return child.pid!;
}

/** The children of one race, to stop (stdin ended, then killed) even when a test fails. */
export const started: ChildProcessWithoutNullStreams[] = [];

export async function stopChildren(): Promise<void> {
  await Promise.all(
    started.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.stdin.end();
      // A child that does not stop on its own after its stdin ends is killed: this is cleanup, not a check.
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

/** Starts a contender child and resolves once it is ready; `next()` reads its following lines. */
async function contender(path: string): Promise<{ child: ChildProcessWithoutNullStreams; next: () => Promise<string> }> {
  const child = spawn(process.execPath, [fixture, path], { stdio: "pipe" });
  started.push(child);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done === true) throw new Error(`the contender child ended without answering: ${stderr}`);
    return line.value;
  };
  const ready = await next();
  if (ready !== "ready") throw new Error(`the contender child said '${ready}' instead of 'ready': ${stderr}`);
  return { child, next };
}

/**
 * Runs `inProcess` listen() calls here and `children` in child processes, all started together once every
 * child is ready, on `path`. Resolves with every outcome.
 */
export async function race(path: string, inProcess: number, children: number): Promise<Outcome[]> {
  const ready = await Promise.all(Array.from({ length: children }, () => contender(path)));
  const here = Array.from({ length: inProcess }, () => undefined);
  for (const { child } of ready) child.stdin.write("go\n");
  const outcomes = await Promise.all([
    ...here.map(async (): Promise<Outcome> => {
      try {
        return { where: "this process", ok: true, listener: await listen(path) };
      } catch (error) {
        const { code, message } = error as { code?: string; message?: string };
        return { where: "this process", ok: false, code, message };
      }
    }),
    ...ready.map(async ({ child, next }): Promise<Outcome> => {
      const { ok, code, message } = JSON.parse(await next()) as { ok?: boolean; code?: string; message?: string };
      return { where: "child", ok: ok === true, code, message, child };
    }),
  ]);
  return outcomes;
}

/**
 * Two rounds of the race on `dir`/race.sock (8 listen() calls here, 4 in children), the second with a lock
 * file left behind by a crashed holder: each round exactly one listens, the others get AddressInUseError,
 * the winner's socket accepts a connection and echoes, and nothing but the socket file is left.
 */
export async function checkTakeoverRace(dir: string): Promise<void> {
  const path = join(dir, "race.sock");
  for (let round = 1; round <= 2; round++) {
    const deadPid = await leaveStaleSocket(path);
    // A holder killed mid-takeover leaves its lock file: it must not stop the next listen().
    if (round === 2) writeFileSync(lockPathOf(path), `${deadPid} 0123abcd\n`);
    const outcomes = await race(path, 8, 4);
    let echoing: Promise<void> | undefined;
    try {
      const winners = outcomes.filter((outcome) => outcome.ok);
      expect(winners.map((winner) => winner.where)).toHaveLength(1);
      for (const loser of outcomes.filter((outcome) => !outcome.ok)) {
        expect(loser).toMatchObject({ code: "IPC_ERR_ADDRESS_IN_USE", message: expect.stringMatching(/in use by a live server/) });
      }
      const winner = winners[0]!;
      if (winner.listener !== undefined) echoing = echoAll(winner.listener);
      const client = await connect(path, { timeout: 10_000 });
      await client.send(new TextEncoder().encode(`round ${round}`));
      expect(new TextDecoder().decode(await client.receive({ timeout: 10_000 }))).toBe(`round ${round}`);
      await client.close();
      expect(readdirSync(dir)).toEqual(["race.sock"]);
    } finally {
      await Promise.all(outcomes.map((outcome) => outcome.listener?.close()));
      await stopChildren();
    }
    await echoing;
    expect(existsSync(path)).toBe(false); // the winner removed its socket file when it closed
  }
}

/** Echoes on every connection until the listener closes (the losers' probes are connections too). */
async function echoAll(listener: Listener): Promise<void> {
  for await (const connection of listener) {
    void (async () => {
      for await (const message of connection) await connection.send(message);
      await connection.close();
    })().catch(() => undefined);
  }
}

/**
 * A symbolic link planted at the lock file's name (to a file that does not exist yet) is never followed:
 * listen() fails with AddressInUseError naming it, and nothing is created where it points.
 */
export async function checkPlantedLock(dir: string): Promise<void> {
  const path = join(dir, "planted.sock");
  const target = join(dir, "created-through-the-link");
  symlinkSync(target, lockPathOf(path));
  await expect(listen(path)).rejects.toMatchObject({
    code: "IPC_ERR_ADDRESS_IN_USE",
    message: expect.stringMatching(/\.planted\.sock\.lock is in the way of the bind lock file/),
  });
  expect(existsSync(target)).toBe(false);
  expect(existsSync(path)).toBe(false);
}
