// Reliable sessions (@ipc/channels) over real TCP, with real faults: a proxy that resets connections, a server
// process killed (SIGKILL) and restarted, a server process frozen (SIGSTOP) and thawed (SIGCONT).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { reliable, type ReliableSession, type SessionLostError, type SessionState } from "@ipc/channels";
import { checkPatterned, faultProxy, freePort, patterned, serverProcess, type FaultProxy, type ServerProcess } from "@ipc/testing";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../src/index.js";

const SLOW = { timeout: 180_000 };
const SERVER = fileURLToPath(new URL("./fixtures/reliable-server.mjs", import.meta.url));
const MARKER = 0xffff_ffff;
const CORRUPT = 0xffff_fffe;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A reliable-session server process on a fixed port (so it can come back there), recording what it takes. */
async function startServer(mode: "record" | "echo", env?: Record<string, string>): Promise<{ server: ServerProcess; port: number; record: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ipc-tcp-reliable-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const record = join(dir, "record");
  const server = serverProcess({ command: [process.execPath, SERVER, String(port), record, mode], env });
  cleanups.push(() => server[Symbol.asyncDispose]());
  await server.start();
  return { server, port, record };
}

/** The sessions the server processes recorded: one array of sequence numbers per session, in order. */
function recorded(file: string): number[][] {
  const bytes = readFileSync(file);
  const sessions: number[][] = [];
  for (let at = 0; at + 4 <= bytes.byteLength; at += 4) {
    const seq = bytes.readUInt32BE(at);
    if (seq === MARKER) sessions.push([]);
    else sessions.at(-1)!.push(seq);
  }
  return sessions;
}

function isSessionLost(error: unknown): error is SessionLostError {
  return (error as { code?: string } | undefined)?.code === "IPC_ERR_SESSION_LOST";
}

describe("reliable sessions over TCP", () => {
  it(
    "100 000 messages through a proxy that resets every few hundred, with the server process SIGKILLed and restarted 3 times: " +
      "each session exactly once and in order, every loss reported with its ids, nothing lost",
    SLOW,
    async () => {
      const { server, port, record } = await startServer("record");
      const proxy: FaultProxy = await faultProxy(`tcp://127.0.0.1:${port}`, { dropAfterBytes: [20_000, 60_000], seed: 3 });
      cleanups.push(() => proxy.close());
      const maxBufferedBytes = 64 * 1024;
      const open = (): Promise<ReliableSession> =>
        reliable(({ signal }) => connect(proxy.address, { signal, timeout: 5000 }), {
          maxBufferedBytes,
          minReconnectDelay: 5,
          maxReconnectDelay: 100,
          timeout: 20_000,
        });
      let session = await open();
      cleanups.push(() => session.abort());

      const count = 100_000;
      const kills = new Set([25_000, 50_000, 75_000]);
      const reported = new Set<number>(); // sequence numbers reported unacknowledged by a SessionLostError
      const losses: number[][] = [];
      let pending: Uint8Array[] = []; // to send (again) on the next session, before anything new
      let restarting: Promise<void> = Promise.resolve();
      let maxBuffered = 0;
      let seq = 0;
      const lost = async (error: unknown): Promise<void> => {
        if (!isSessionLost(error)) throw error;
        const seqs = error.unacknowledged.map((m) => checkPatterned(m.message));
        losses.push(seqs);
        for (const s of seqs) reported.add(s);
        pending = [...error.unacknowledged.map((m) => m.message), ...pending];
        await restarting;
        session = await open();
      };
      for (;;) {
        try {
          if (pending.length > 0) {
            await session.send(pending[0]!);
            pending.shift();
          } else if (seq < count) {
            if (kills.has(seq)) {
              kills.delete(seq);
              restarting = server.restart(); // mid-stream: the session is in flight
            }
            await session.send(patterned(seq, 16 + (seq % 200)));
            seq++;
          } else {
            await session.flush({ timeout: 60_000 });
            break;
          }
          maxBuffered = Math.max(maxBuffered, session.stats.bufferedBytes);
        } catch (error) {
          await lost(error);
        }
      }
      await session.close({ timeout: 10_000 });

      const sessions = recorded(record);
      expect(sessions.flat().filter((x) => x === CORRUPT)).toEqual([]);
      // Three restarts: four sessions, each reported lost but the last.
      expect(losses).toHaveLength(3);
      expect(sessions).toHaveLength(4);
      // Within a session: exactly once and in order (strictly increasing; a resend starts a new session).
      for (const s of sessions) for (let i = 1; i < s.length; i++) expect(s[i]).toBeGreaterThan(s[i - 1]!);
      // Across sessions: everything arrived; whatever arrived twice was among the ids reported unacknowledged.
      const times = new Map<number, number>();
      for (const s of sessions) for (const x of s) times.set(x, (times.get(x) ?? 0) + 1);
      // (One assertion over all of them: 100 000 expect() calls took about a second.)
      expect(
        Array.from({ length: count }, (_, x) => x).filter((x) => !times.has(x)),
        "messages that never arrived",
      ).toEqual([]);
      for (const [x, n] of times) if (n > 1) expect(reported.has(x), `message ${x} arrived ${n} times`).toBe(true);
      // The proxy really reset connections, many times; memory stayed within the window throughout.
      expect(proxy.stats.dropped).toBeGreaterThan(50);
      expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes);
    },
  );

  it("takes a SIGSTOPped server for dead after deadPeerTimeout, then resumes on SIGCONT with nothing lost or repeated", SLOW, async () => {
    const { server, port, record } = await startServer("echo", { HEARTBEAT: "50", DEAD_PEER: "200" });
    const states: SessionState[] = [];
    // Short heartbeats, so the freeze is noticed at once; a generous handshake limit, because the first
    // handshake (reliable() does not retry it) and the one after the thaw must succeed on a busy machine.
    const session = await reliable(({ signal }) => connect(`tcp://127.0.0.1:${port}`, { signal, timeout: 5000 }), {
      heartbeatInterval: 50,
      deadPeerTimeout: 200,
      handshakeTimeout: 10_000,
      resumeTimeout: 60_000,
      minReconnectDelay: 10,
      maxReconnectDelay: 100,
      onStateChange: (state) => states.push(state),
      timeout: 10_000,
    });
    cleanups.push(() => session.abort());
    for (let seq = 0; seq < 10; seq++) await session.send(patterned(seq, 100));
    for (let seq = 0; seq < 10; seq++) expect(checkPatterned((await session.receive({ timeout: 10_000 }))!)).toBe(seq);

    server.freeze();
    // Sent while the server is frozen: held for replay, not lost.
    for (let seq = 10; seq < 20; seq++) await session.send(patterned(seq, 100), { timeout: 10_000 });
    await until(() => states.includes("resuming"));
    server.thaw();
    for (let seq = 10; seq < 20; seq++) expect(checkPatterned((await session.receive({ timeout: 30_000 }))!)).toBe(seq);
    await session.flush({ timeout: 30_000 });
    expect(states.slice(0, 3)).toEqual(["connected", "resuming", "connected"]);
    expect(session.stats.connections).toBeGreaterThanOrEqual(2);
    await session.close({ timeout: 10_000 });
    expect(recorded(record)).toEqual([Array.from({ length: 20 }, (_, i) => i)]);
  });

  it("fails with SessionLostError listing the unacknowledged ids when a SIGSTOPped server stays frozen past resumeTimeout", SLOW, async () => {
    const { server, port } = await startServer("record", { HEARTBEAT: "50", DEAD_PEER: "200" });
    // The first connect and handshake must succeed (reliable() does not retry them): generous limits, for a
    // busy machine. Once the server is frozen, resumeTimeout ends every attempt (its signal aborts them).
    const session = await reliable(({ signal }) => connect(`tcp://127.0.0.1:${port}`, { signal, timeout: 10_000 }), {
      heartbeatInterval: 50,
      deadPeerTimeout: 200,
      handshakeTimeout: 10_000,
      resumeTimeout: 1000,
      minReconnectDelay: 10,
      maxReconnectDelay: 100,
      timeout: 10_000,
    });
    cleanups.push(() => session.abort());
    await session.send(patterned(0, 100));
    await session.flush({ timeout: 10_000 });
    server.freeze();
    for (let seq = 1; seq <= 5; seq++) await session.send(patterned(seq, 100), { timeout: 10_000 });
    const error = await session.closed.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    server.thaw();
    expect(isSessionLost(error)).toBe(true);
    const lost = error as SessionLostError;
    expect(lost.message).toMatch(/resumeTimeout/);
    expect(lost.unacknowledgedIds).toEqual([2, 3, 4, 5, 6]);
    expect(lost.unacknowledged.map((m) => checkPatterned(m.message))).toEqual([1, 2, 3, 4, 5]);
    await expect(session.send(patterned(6, 100))).rejects.toMatchObject({ code: "IPC_ERR_SESSION_LOST" });
  });
});

/** Waits until `condition` holds, one short sleep at a time; the test's timeout guards against a hang. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
