import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import type { Connection } from "@ipc/core";
import type { ConformanceFixture } from "../fixture.js";
import { checkPatterned, lacking, listen, patterned, type Context } from "../harness.js";

const SLOW = { timeout: 60_000 };

/** The built child program (tests may run from sources, but a child process runs JavaScript). */
function peerProgram(): string {
  const root = dirname(createRequire(import.meta.url).resolve("@ipc/conformance/package.json"));
  const program = join(root, "dist", "peer.js");
  if (!existsSync(program)) throw new Error(`${program} is missing: build the workspace first (pnpm build)`);
  return program;
}

/** Starts the peer program in a child process; resolves with it and a function awaiting its next line. */
export function startPeer(
  c: Context,
  args: string[],
): { child: ChildProcess; line(): Promise<string>; exit: Promise<{ code: number | null; signal: string | null }> } {
  const child = c.resources.child(spawn(process.execPath, [peerProgram(), ...args], { stdio: ["ignore", "pipe", "inherit"] }));
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    exit,
    line: async () => {
      const next = await lines.next();
      if (next.done) throw new Error(`peer ${args.join(" ")} exited without printing the expected line`);
      return next.value;
    },
  };
}

async function readAll(connection: Connection): Promise<{ seqs: number[]; error?: { code?: string } }> {
  const seqs: number[] = [];
  try {
    for await (const message of connection) seqs.push(checkPatterned(message));
  } catch (error) {
    return { seqs, error: error as { code?: string } };
  }
  return { seqs };
}

/** Cases with the peer in another process: real pids, real deaths. */
export function crossProcessCases(fixture: ConformanceFixture, ctx: () => Context): void {
  const module = fixture.capabilities.crossProcess?.module;
  const why = "no module a child process can import (capabilities.crossProcess)";
  const rawWhy = "the transport has no byte stream (capabilities.rawConnect)";

  describe("across processes", () => {
    it.skipIf(module === undefined)(`exchanges messages with a client in a child process${lacking(module === undefined, why)}`, SLOW, async () => {
      const c = ctx();
      const listener = await listen(c);
      const peer = startPeer(c, [module!, listener.address, "echo"]);
      const server = c.resources.connection((await listener.accept({ timeout: 20_000 }))!);
      expect(await peer.line()).toBe("ready");
      if (fixture.capabilities.peerCredentials) {
        expect(server.peer?.pid).toBe(peer.child.pid);
        expect(server.peer?.uid).toBe(process.getuid!());
      }
      // Reading while sending: ~1 MB goes each way, more than some transports buffer.
      const reading = (async () => {
        for (let seq = 0; seq < 200; seq++) {
          const message = await server.receive({ timeout: 20_000 });
          expect(message?.byteLength).toBe(10 + seq * 50);
          expect(checkPatterned(message!)).toBe(seq);
        }
      })();
      for (let seq = 0; seq < 200; seq++) await server.send(patterned(seq, 10 + seq * 50));
      await reading;
      await server.close({ timeout: 20_000 });
      expect(await peer.exit).toEqual({ code: 0, signal: null });
    });

    it.skipIf(module === undefined)(
      `exchanges batches with a client in a child process that echoes each receiveBatch() with one sendBatch()${lacking(module === undefined, why)}`,
      SLOW,
      async () => {
        const c = ctx();
        const listener = await listen(c);
        const peer = startPeer(c, [module!, listener.address, "batch-echo"]);
        const server = c.resources.connection((await listener.accept({ timeout: 20_000 }))!);
        expect(await peer.line()).toBe("ready");
        // Batches of 0-byte to 1 MiB messages beside single sends, read back with receiveBatch() while sending.
        const sizes: number[] = [];
        const sending = (async () => {
          for (let round = 0; round < 40; round++) {
            const batch = [0, 1, 3, 4 + round, 70_000, round % 10 === 0 ? 1024 * 1024 : 3000, ...Array.from({ length: 50 }, (_, i) => 4 + i)];
            const first = sizes.length;
            sizes.push(...batch);
            await server.sendBatch(batch.map((size, i) => patterned(first + i, size)));
            sizes.push(100);
            await server.send(patterned(sizes.length - 1, 100));
          }
        })();
        sending.catch(() => undefined); // awaited below
        let received = 0;
        while (received < 40 * 57) {
          const batch = await server.receiveBatch({ timeout: 20_000 });
          if (batch === undefined || batch.length === 0)
            throw new Error(`receiveBatch() returned ${batch === undefined ? "the end" : "[]"} after ${received} messages`);
          for (const message of batch) {
            const size = sizes[received]!;
            expect(message.byteLength).toBe(size);
            if (size >= 4) expect(checkPatterned(message)).toBe(received);
            else expect(Buffer.from(message).equals(patterned(received, size))).toBe(true);
            received++;
          }
        }
        await sending;
        await server.close({ timeout: 20_000 });
        expect(await peer.exit).toEqual({ code: 0, signal: null });
      },
    );

    it.skipIf(module === undefined)(
      `a peer SIGKILLed while sending: every whole message arrives, then the connection ends without hanging${lacking(module === undefined, why)}`,
      SLOW,
      async () => {
        const c = ctx();
        const listener = await listen(c);
        const peer = startPeer(c, [module!, listener.address, "send-then-hang", "50"]);
        const server = c.resources.connection((await listener.accept({ timeout: 20_000 }))!);
        expect(await peer.line()).toBe("sent");
        peer.child.kill("SIGKILL");
        expect((await peer.exit).signal).toBe("SIGKILL");
        const { seqs, error } = await readAll(server);
        // The 8 MiB message may or may not have made it whole before the kill; nothing else may appear.
        const expected = Array.from({ length: 50 }, (_, i) => i);
        expect(seqs.length === 50 ? seqs : seqs.slice(0, 50)).toEqual(expected);
        expect(seqs.length === 50 || (seqs.length === 51 && seqs[50] === 50)).toBe(true);
        if (error !== undefined) expect(["IPC_ERR_PROTOCOL", "IPC_ERR_CONNECTION_RESET"]).toContain(error.code);
        await server.closed.catch(() => undefined);
      },
    );

    it.skipIf(module === undefined)(
      `a peer SIGKILLed while sending batches: every whole message arrives in order, then the connection ends without hanging${lacking(module === undefined, why)}`,
      SLOW,
      async () => {
        const c = ctx();
        const listener = await listen(c);
        const peer = startPeer(c, [module!, listener.address, "send-batches-then-hang", "10"]);
        const server = c.resources.connection((await listener.accept({ timeout: 20_000 }))!);
        expect(await peer.line()).toBe("sent");
        peer.child.kill("SIGKILL");
        expect((await peer.exit).signal).toBe("SIGKILL");
        const { seqs, error } = await readAll(server);
        // The ten batches accepted before, whole; then of the 8 MiB batch being written at the kill, nothing,
        // part or all — whole messages only, in order (checkPatterned checks every byte of each).
        expect(seqs.slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => i));
        expect(seqs.slice(200)).toEqual(Array.from({ length: seqs.length - 200 }, (_, i) => 200 + i));
        expect(seqs.length).toBeLessThanOrEqual(200 + 128);
        if (error !== undefined) expect(["IPC_ERR_PROTOCOL", "IPC_ERR_CONNECTION_RESET"]).toContain(error.code);
        await server.closed.catch(() => undefined);
      },
    );

    const rawMissing = module === undefined || fixture.capabilities.rawConnect === undefined;
    it.skipIf(rawMissing)(
      `a peer SIGKILLed mid-frame: the whole messages arrive, then a typed error${lacking(rawMissing, module === undefined ? why : rawWhy)}`,
      SLOW,
      async () => {
        const c = ctx();
        const listener = await listen(c);
        const peer = startPeer(c, [module!, listener.address, "raw-partial", "20"]);
        const server = c.resources.connection((await listener.accept({ timeout: 20_000 }))!);
        expect(await peer.line()).toBe("sent");
        peer.child.kill("SIGKILL");
        await peer.exit;
        const { seqs, error } = await readAll(server);
        expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i));
        // ProtocolError when the stream ended inside the frame; ConnectionResetError when the OS reports
        // the death as a reset (Linux does when the dead end had unread data).
        expect(["IPC_ERR_PROTOCOL", "IPC_ERR_CONNECTION_RESET"]).toContain(error?.code);
        if (error?.code === "IPC_ERR_PROTOCOL") expect((error as Error).message).toMatch(/10 of its 100 payload bytes arrived, 90 missing/);
      },
    );
  });
}
