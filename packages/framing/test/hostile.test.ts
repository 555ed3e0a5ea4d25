/**
 * Hostile peers in their own processes (issue 16): a flood of empty frames at a server that does not read, a
 * slowloris announcing 16 MiB frames and trickling them, and a child that prints text on its channel. The
 * budgets asserted are those of docs/wire.md §1, "Limits".
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { framed, type FramedOptions } from "../src/index.js";
import type { Connection } from "@ipc/core";

const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const MiB = 1024 * 1024;
/** What each queued message is charged besides its bytes (docs/wire.md §1, "Limits"). */
const MESSAGE_OVERHEAD = 128;

/** Lines a child prints, as they come. */
function lines(child: ChildProcess): { next(match: (line: string) => boolean): Promise<string> } {
  const waiting: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  const seen: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const i = waiting.findIndex((w) => w.match(line));
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(line);
    else seen.push(line);
  });
  return {
    next: (match) => {
      const i = seen.findIndex(match);
      if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0]!);
      return new Promise((resolve) => waiting.push({ match, resolve }));
    },
  };
}

function memory(): { rss: number; arrayBuffers: number } {
  const { rss, arrayBuffers } = process.memoryUsage();
  return { rss, arrayBuffers };
}

const mb = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

describe("hostile peers in other processes", () => {
  let dir: string;
  let server: net.Server | undefined;
  const children: ChildProcess[] = [];
  const connections: Connection[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ipc-hostile-"));
  });
  afterEach(async () => {
    for (const connection of connections.splice(0)) connection.abort();
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A Unix socket server framing every connection with `options`; resolves with its path and accepted connections. */
  async function serve(options: FramedOptions): Promise<{ path: string; accepted: AsyncIterator<{ socket: net.Socket; connection: Connection }> }> {
    const path = join(dir, "s.sock");
    const queue: { socket: net.Socket; connection: Connection }[] = [];
    const takers: ((value: IteratorResult<{ socket: net.Socket; connection: Connection }>) => void)[] = [];
    server = net.createServer({ allowHalfOpen: true }, (socket) => {
      const connection = framed(socket, options);
      connections.push(connection);
      connection.closed.catch(() => undefined);
      const item = { socket, connection };
      const taker = takers.shift();
      if (taker) taker({ done: false, value: item });
      else queue.push(item);
    });
    server.listen(path);
    await once(server, "listening");
    const accepted = {
      next: () => {
        const item = queue.shift();
        return item
          ? Promise.resolve({ done: false as const, value: item })
          : new Promise<IteratorResult<{ socket: net.Socket; connection: Connection }>>((r) => takers.push(r));
      },
    };
    return { path, accepted };
  }

  function start(args: string[]): ChildProcess {
    const child = spawn(process.execPath, [fixture("flood.mjs"), ...args], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    return child;
  }

  // Issue 16.1: 4 096 000 empty frames (16 MiB) grew a non-reading server from 58 to 586 MiB.
  it("a flood of 4 096 000 empty frames at a server that does not read stays within its highWaterMark", { timeout: 120_000 }, async () => {
    const highWaterMark = 256 * 1024;
    const count = 4_096_000;
    const { path, accepted } = await serve({ highWaterMark });
    const before = memory();
    const child = start([path, "empty", String(count)]);
    const output = lines(child);
    const { socket, connection } = (await accepted.next()).value!;
    // The connection pauses its socket when the queued messages' charge reaches highWaterMark.
    await once(socket, "pause");
    // Once the child must wait, the server has stopped reading: what it read is all it holds.
    await output.next((line) => line.startsWith("blocked"));
    const held = memory();
    const framesRead = socket.bytesRead / 4;
    // Budget (docs/wire.md §1): highWaterMark / 128 messages, plus the frames of the read that crossed it and
    // of one more read into the stream's buffer (64 KiB each, 16 384 empty frames).
    const budget = highWaterMark / MESSAGE_OVERHEAD + 2 * 16_384;
    expect(framesRead).toBeLessThanOrEqual(budget);
    expect(framesRead).toBeLessThan(count / 20);
    console.log(
      `flood: ${count} empty frames sent; the server read ${framesRead} before pausing; ` +
        `RSS ${mb(before.rss)} -> ${mb(held.rss)}, arrayBuffers ${mb(before.arrayBuffers)} -> ${mb(held.arrayBuffers)}`,
    );
    // Nothing is lost: reading resumes as the application catches up, and every frame arrives.
    let received = 0;
    let nonEmpty = 0;
    let mostQueued = 0;
    for await (const message of connection) {
      nonEmpty += message.byteLength;
      received++;
      if ((received & 0x3ff) === 0) mostQueued = Math.max(mostQueued, socket.bytesRead / 4 - received);
    }
    expect(received).toBe(count);
    expect(nonEmpty).toBe(0);
    expect(mostQueued).toBeLessThanOrEqual(budget);
    await output.next((line) => line === "done");
  });

  // Issue 16.2: 200 connections announcing 16 MiB and sending a byte every 100 ms reserved 3.2 GB.
  it("connections announcing 16 MiB frames and trickling them hold what arrived, and are dropped after frameTimeout; others go on", {
    timeout: 120_000,
  }, async () => {
    const count = 200;
    // A short frameTimeout is what this test is about; the drops are awaited as events, not timed.
    const frameTimeout = 300;
    const { path, accepted } = await serve({ frameTimeout, maxMessageSize: 16 * MiB });
    // A well-behaved connection, idle all along (idle between frames is never a stalled frame).
    const bystander = framed(net.connect({ path, allowHalfOpen: true }));
    connections.push(bystander);
    const bystanderServer = (await accepted.next()).value!.connection;
    const before = memory();
    const child = start([path, "slowloris", String(count), String(16 * MiB), "20"]);
    const output = lines(child);
    const drops: Promise<Error>[] = [];
    let peak = before;
    for (let i = 0; i < count; i++) {
      const { connection } = (await accepted.next()).value!;
      drops.push(
        connection.closed.then(
          () => new Error("closed cleanly"),
          (error: Error) => error,
        ),
      );
    }
    await output.next((line) => line.startsWith("connected"));
    const sample = (): void => {
      const now = memory();
      if (now.arrayBuffers > peak.arrayBuffers) peak = now;
    };
    sample();
    const errors = await Promise.all(drops.map((drop) => drop.finally(sample)));
    for (const error of errors) {
      expect(error).toMatchObject({ name: "FrameTimeoutError", code: "IPC_ERR_TIMEOUT", timeout: frameTimeout, length: 16 * MiB });
      expect(error.message).toMatch(/made no progress for 300 ms \(frameTimeout\)/);
    }
    // Each partial frame reserved 64 KiB (what arrived, doubled, at least 64 KiB), not 16 MiB: 200 of them
    // would have been 3.2 GB.
    const grew = peak.arrayBuffers - before.arrayBuffers;
    expect(grew).toBeLessThan(count * 160 * 1024);
    console.log(
      `slowloris: ${count} connections announcing 16 MiB each; arrayBuffers ${mb(before.arrayBuffers)} -> peak ${mb(peak.arrayBuffers)}, ` +
        `RSS ${mb(before.rss)} -> ${mb(peak.rss)}; all dropped with FrameTimeoutError`,
    );
    // The client side learns why (docs/wire.md §2.4) and closes.
    for (let i = 0; i < count; i++) await output.next((line) => line.startsWith("closed"));
    // The idle bystander was not touched.
    await bystander.send(new Uint8Array([1, 2, 3]));
    expect(await bystanderServer.receive({ timeout: 10_000 })).toEqual(new Uint8Array([1, 2, 3]));
  });

  // Issue 16.8: a child printing "hell…" got "frame of 1751477356 bytes … raise maxMessageSize".
  it("a child that prints text on its channel is told apart from a large frame, showing the start of the text", async () => {
    const child = spawn(process.execPath, [fixture("chatty-child.mjs")], { stdio: ["pipe", "pipe", "inherit"] });
    children.push(child);
    const connection = framed({ readable: child.stdout!, writable: child.stdin! }, { peerName: "the child" });
    connections.push(connection);
    const error = await connection.receive().then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(error?.code).toBe("IPC_ERR_FRAME_TOO_LARGE");
    expect(error?.message).toMatch(/^the child wrote text on the channel instead of frames: "hello from the child: starting up\\nread/);
    expect(error?.message).not.toMatch(/raise maxMessageSize/);
  });
});
