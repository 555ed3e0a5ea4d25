/**
 * Runs: several messages in one envelope on the batch path — `DataRun` (docs/wire.md §8.2.3) and `MuxDataRun`
 * (§8.3) — and the features that announce them (`Hello/Welcome.features`, `MuxOpen/MuxAccept.features`).
 * The codecs round-trip and refuse hostile bytes with a ProtocolError; a side uses runs only where its peer
 * announced them, so older peers (played here by sides that announce no features) get the Data they always got;
 * a session resends runs after a drop exactly once and in order.
 */
import { ipc } from "@ipc/core/proto";
import { memoryPair, memoryTransport, type Connection } from "@ipc/core";
import { checkPatterned, faultyConnect, patterned, type FaultyConnection } from "@ipc/testing";
import { decodeOrProtocolError, hostile, params } from "@ipc/testing/property";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { forEachInBatch } from "../src/batch.js";
import { FEATURE_RUNS, wireFeatures } from "../src/features.js";
import { decodeMuxFrame, encodeMuxRun, parseMuxRun, parsedMuxRun } from "../src/mux/codec.js";
import { decodeSessionFrame, encodeData, encodeRun, encodeWelcome, parseRun, parsedRun, RUN_TAG } from "../src/reliable/codec.js";
import { mux, reliable, reliableListener, type Mux, type MuxStream, type ReliableSession } from "../src/index.js";
import { memoryAddress } from "./fixtures/messages.js";

const SLOW = { timeout: 120_000 };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
function track<T extends Connection | Mux>(thing: T): T {
  cleanups.push(() => thing.abort());
  return thing;
}

const payloads = fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 20 });
const id = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 2 ** 40 }));
const plain = (list: readonly Uint8Array[]): number[][] => list.map((m) => [...m]);

/** `inner` between `before` and `after` bytes of `fill`: [buffer, start, end]. */
function embed(inner: Uint8Array, before: number, after: number, fill: number): [Uint8Array, number, number] {
  const buffer = new Uint8Array(before + inner.byteLength + after).fill(fill);
  buffer.set(inner, before);
  return [buffer, before, before + inner.byteLength];
}

/** `options` with the features a side announces (the tests' way to play a peer from before them). */
const announcing = <T extends object>(options: T, features: number): T => ({ ...options, [wireFeatures]: features }) as T;

const numbered = (first: number, count: number, size: number): Uint8Array[] => Array.from({ length: count }, (_, i) => patterned(first + i, size));

describe("DataRun codec", () => {
  it("round-trips its first id, ack and payloads at any place in a buffer, reading nothing outside it", () => {
    fc.assert(
      fc.property(id, fc.nat({ max: 2 ** 40 }), payloads, fc.nat({ max: 8 }), fc.nat({ max: 8 }), (first, ack, list, before, after) => {
        const encoded = encodeRun(first, ack, list, 0, list.length);
        expect(encoded[0]).toBe(RUN_TAG);
        for (const fill of [0x00, 0x12, 0xff]) {
          const [buffer, start, end] = embed(encoded, before, after, fill);
          const out: Uint8Array[] = [];
          parseRun(buffer, start, end, out);
          expect(plain(out)).toEqual(plain(list));
          expect({ ...parsedRun }).toEqual({ first, ack, payloadBytes: list.reduce((n, m) => n + m.byteLength, 0) });
        }
      }),
      params(200),
    );
  });

  it("reads any bytes as a run whose payloads lie within them and add up, or throws a ProtocolError", () => {
    const valid = fc.tuple(id, fc.nat({ max: 1000 }), payloads).map(([first, ack, list]) => encodeRun(first, ack, list, 0, list.length));
    fc.assert(
      fc.property(hostile(valid), (bytes) => {
        if (bytes[0] !== RUN_TAG) return;
        const out: Uint8Array[] = [];
        const ok = decodeOrProtocolError(() => (parseRun(bytes, 0, bytes.byteLength, out), true));
        if (ok === undefined) return;
        expect(out.length).toBeGreaterThan(0);
        expect(parsedRun.first).toBeGreaterThan(0);
        expect(parsedRun.first + out.length - 1).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
        let total = 0;
        for (const payload of out) {
          expect(payload.buffer).toBe(bytes.buffer);
          expect(payload.byteOffset + payload.byteLength).toBeLessThanOrEqual(bytes.byteLength);
          total += payload.byteLength;
        }
        expect(parsedRun.payloadBytes).toBe(total);
      }),
      params(400),
    );
  });

  it("refuses a run with no payload, with first id 0, past 2^53 − 1, or with a length past its bytes — without allocating what it claims", () => {
    const refused = (bytes: number[]): void => {
      expect(decodeOrProtocolError(() => parseRun(Uint8Array.from(bytes), 0, bytes.length, []))).toBeUndefined();
    };
    refused([0x72, 0x02, 0x08, 0x01]); // first 1, no payload
    refused([0x72, 0x04, 0x08, 0x00, 0x12, 0x00]); // first 0
    refused([0x72, 0x04, 0x12, 0x00, 0x12, 0x00]); // no first at all (0)
    // A payload that claims 2^31 bytes in a 10-byte run: refused before anything of that size exists.
    refused([0x72, 0x08, 0x08, 0x01, 0x12, 0x80, 0x80, 0x80, 0x80, 0x08]);
    // The run's own length past the bytes.
    refused([0x72, 0x7f, 0x08, 0x01, 0x12, 0x00]);
    // The last id 2^53 − 1 is fine; one past it is not.
    const max = Number.MAX_SAFE_INTEGER;
    const ok: Uint8Array[] = [];
    parseRun(encodeRun(max, 0, [new Uint8Array(1)], 0, 1), 0, encodeRun(max, 0, [new Uint8Array(1)], 0, 1).byteLength, ok);
    expect(ok.length).toBe(1);
    const two = encodeRun(max, 0, [new Uint8Array(1), new Uint8Array(1)], 0, 2);
    expect(decodeOrProtocolError(() => parseRun(two, 0, two.byteLength, []))).toBeUndefined();
  });

  it("is an element of a Batch like any envelope, and decodeSessionFrame (a side that reads no runs) calls it a dataRun, not data", () => {
    const run = encodeRun(5, 2, [Uint8Array.of(1), Uint8Array.of(2, 3)], 0, 2);
    const batch = ipc.IpcMessage.encode({ batch: { messages: [encodeData(4, Uint8Array.of(9), 0), run] } }).finish();
    const elements: number[][] = [];
    forEachInBatch(batch, (bytes, start, end) => void elements.push([...bytes.subarray(start, end)]));
    expect(elements[1]).toEqual([...run]);
    expect(decodeSessionFrame(run)).toEqual({ kind: "other", name: "dataRun" });
  });
});

describe("MuxDataRun codec", () => {
  const stream = fc.integer({ min: 1, max: 0xffff_ffff });

  it("round-trips its stream, reply flag and payloads at any place in a buffer, reading nothing outside it", () => {
    fc.assert(
      fc.property(stream, fc.boolean(), payloads, fc.nat({ max: 8 }), fc.nat({ max: 8 }), (s, reply, list, before, after) => {
        const encoded = encodeMuxRun(s, reply, list, 0, list.length);
        for (const fill of [0x00, 0x1a, 0xff]) {
          const [buffer, start, end] = embed(encoded, before, after, fill);
          const out: Uint8Array[] = [];
          expect(parseMuxRun(buffer, start, end, out)).toBe(true);
          expect(plain(out)).toEqual(plain(list));
          expect({ ...parsedMuxRun }).toEqual({ stream: s, reply, payloadBytes: list.reduce((n, m) => n + m.byteLength, 0) });
        }
      }),
      params(200),
    );
  });

  it("reads any bytes as not a run, a run whose payloads lie within them, or a ProtocolError; decodeMuxFrame (a side that reads no runs) refuses them", () => {
    const valid = fc.tuple(stream, fc.boolean(), payloads).map(([s, reply, list]) => encodeMuxRun(s, reply, list, 0, list.length));
    fc.assert(
      fc.property(hostile(valid), (bytes) => {
        const out: Uint8Array[] = [];
        const isRun = decodeOrProtocolError(() => parseMuxRun(bytes, 0, bytes.byteLength, out));
        if (isRun !== true) return;
        expect(out.length).toBeGreaterThan(0);
        expect(parsedMuxRun.stream).toBeGreaterThan(0);
        for (const payload of out) expect(payload.byteOffset + payload.byteLength).toBeLessThanOrEqual(bytes.byteLength);
        // A side that reads no runs (an older peer, or one that announced none): a protocol error, never data.
        expect(decodeOrProtocolError(() => decodeMuxFrame(bytes))).toBeUndefined();
      }),
      params(400),
    );
  });
});

describe("reliable sessions: runs only where both announced them", () => {
  /** A client and its server session over memory connections, each side announcing `features`. */
  async function sessions(client: number, server: number, options: { maxBufferedBytes?: number } = {}): Promise<[ReliableSession, ReliableSession]> {
    const raw = await memoryTransport.listen(memoryAddress("runs"));
    const listener = reliableListener(raw, announcing(options, server));
    cleanups.push(() => listener.close());
    const session = track(await reliable(() => memoryTransport.connect(raw.address), announcing({ timeout: 5000, ...options }, client)));
    return [session, track((await listener.accept({ timeout: 5000 }))!)];
  }

  it("a client announces runs in its Hello; an older server's Welcome (no features) gets it plain Data", async () => {
    const raw = await memoryTransport.listen(memoryAddress("old-server"));
    cleanups.push(() => raw.close());
    const serving = (async () => {
      const connection = track((await raw.accept({ timeout: 5000 }))!);
      const hello = decodeSessionFrame((await connection.receive({ timeout: 5000 }))!);
      // The server of before the features: its Welcome has none (field 6 absent).
      await connection.send(encodeWelcome({ session: new Uint8Array(16).fill(7), received: 0, ack: 0, window: 1 << 20, features: 0 }));
      const kinds: string[] = [];
      let count = 0;
      while (count < 300) {
        for (const frame of (await connection.receiveBatch({ timeout: 5000 }))!) {
          const each = (bytes: Uint8Array, start: number, end: number): void => {
            const decoded = decodeSessionFrame(bytes.subarray(start, end));
            kinds.push(decoded.kind === "other" ? decoded.name : decoded.kind);
            if (decoded.kind === "data") count++;
          };
          if (!forEachInBatch(frame, each)) each(frame, 0, frame.byteLength);
        }
      }
      return { hello, kinds };
    })();
    const client = track(await reliable(() => memoryTransport.connect(raw.address), { timeout: 5000 }));
    await client.sendBatch(numbered(0, 300, 32));
    const { hello, kinds } = await serving;
    expect(hello).toMatchObject({ kind: "hello", features: FEATURE_RUNS });
    expect(new Set(kinds)).toEqual(new Set(["data"]));
  });

  it("a server answers an older client's Hello (no features) with a Welcome without them, byte for byte as before", async () => {
    const withFeatures = encodeWelcome({ session: new Uint8Array(16), received: 0, ack: 0, window: 1 << 20, features: FEATURE_RUNS });
    const without = encodeWelcome({ session: new Uint8Array(16), received: 0, ack: 0, window: 1 << 20, features: 0 });
    expect([...without]).toEqual([...ipc.IpcMessage.encode({ welcome: { version: 1, session: new Uint8Array(16), window: 1 << 20 } }).finish()]);
    expect(withFeatures.byteLength).toBe(without.byteLength + 2);
    expect(decodeSessionFrame(withFeatures)).toMatchObject({ kind: "welcome", features: FEATURE_RUNS, window: 1 << 20 });
  });

  for (const [client, server] of [
    [FEATURE_RUNS, 0],
    [0, FEATURE_RUNS],
    [FEATURE_RUNS, FEATURE_RUNS],
  ] as const) {
    it(`client features ${client}, server features ${server}: batches both ways arrive once and in order (a side that reads no runs would fail on one)`, async () => {
      const [a, b] = await sessions(client, server);
      await a.sendBatch(numbered(0, 2000, 48));
      await b.sendBatch(numbered(0, 2000, 48));
      const read = async (s: ReliableSession): Promise<number[]> => {
        const out: number[] = [];
        while (out.length < 2000) for (const m of (await s.receiveBatch({ timeout: 30_000 }))!) out.push(checkPatterned(m));
        return out;
      };
      const expected = Array.from({ length: 2000 }, (_, i) => i);
      expect(await read(b)).toEqual(expected);
      expect(await read(a)).toEqual(expected);
      await a.flush({ timeout: 30_000 });
      await b.flush({ timeout: 30_000 });
      expect(a.state).toBe("connected");
      expect(b.state).toBe("connected");
    });
  }

  for (const [clientFeatures, serverFeatures] of [
    [FEATURE_RUNS, FEATURE_RUNS],
    [0, FEATURE_RUNS],
  ] as const) {
    it(
      `client features ${clientFeatures}, server ${serverFeatures}: runs partly acknowledged and resent after drops arrive exactly once, in order`,
      SLOW,
      async () => {
        const raw = await memoryTransport.listen(memoryAddress("runs-resume"));
        const listener = reliableListener(raw, announcing({ maxBufferedBytes: 32 * 1024 }, serverFeatures));
        cleanups.push(() => listener.close());
        const connections: FaultyConnection[] = [];
        // Drops after a few frames: each frame holds a burst's batch of runs, so runs are cut off in flight, and a
        // small window leaves runs partly acknowledged when the connection drops.
        const connect = faultyConnect(() => memoryTransport.connect(raw.address), { dropAfterMessages: [2, 5], seed: 17 });
        const session = track(
          await reliable(
            async () => {
              const c = await connect();
              connections.push(c);
              return c;
            },
            announcing({ minReconnectDelay: 0, maxReconnectDelay: 5, maxBufferedBytes: 32 * 1024 }, clientFeatures),
          ),
        );
        const server = track((await listener.accept({ timeout: 5000 }))!);
        const count = 20_000;
        const reading = (async () => {
          let next = 0;
          for (;;) {
            const batch = await server.receiveBatch();
            if (batch === undefined) return next;
            for (const message of batch) {
              if (checkPatterned(message) !== next) throw new Error(`message ${next} arrived as ${checkPatterned(message)}`);
              next++;
            }
          }
        })();
        for (let first = 0; first < count; first += 250) await session.sendBatch(numbered(first, 250, 8 + (first % 100)));
        await session.close({ timeout: 60_000 });
        expect(await reading).toBe(count);
        expect(session.stats.replayed).toBeGreaterThan(0);
        expect(connections.filter((c) => c.faults.dropped !== undefined).length).toBeGreaterThan(5);
      },
    );
  }
});

describe("mux streams: runs only where both announced them", () => {
  async function streams(left: number, right: number, window?: number): Promise<[MuxStream, MuxStream]> {
    const [a, b] = memoryPair();
    const l = track(mux(a, announcing({ window }, left)));
    const r = track(mux(b, announcing({ window }, right)));
    const opening = l.open("runs", { timeout: 5000 });
    const accepted = (await r.accept({ timeout: 5000 }))!;
    return [await opening, accepted];
  }

  for (const [left, right] of [
    [FEATURE_RUNS, 0],
    [0, FEATURE_RUNS],
    [FEATURE_RUNS, FEATURE_RUNS],
  ] as const) {
    it(`opener features ${left}, accepter features ${right}: batches both ways arrive once and in order, within the credit`, async () => {
      const [opened, accepted] = await streams(left, right, 64 * 1024);
      const sending = Promise.all([opened.sendBatch(numbered(0, 3000, 40)), accepted.sendBatch(numbered(0, 3000, 40))]);
      const read = async (s: MuxStream): Promise<number[]> => {
        const out: number[] = [];
        while (out.length < 3000) {
          for (const m of (await s.receiveBatch({ timeout: 30_000 }))!) out.push(checkPatterned(m));
          // The credit bounds what waits unread: one window plus one message.
          expect(s.bufferedBytes).toBeLessThanOrEqual(64 * 1024 + 40 + 64);
        }
        return out;
      };
      const expected = Array.from({ length: 3000 }, (_, i) => i);
      const [x, y] = await Promise.all([read(accepted), read(opened)]);
      await sending;
      expect(x).toEqual(expected);
      expect(y).toEqual(expected);
    });
  }

  it("a run on a stream whose receiver announced no runs is a protocol error that fails the mux", async () => {
    const [a, b] = memoryPair();
    const older = track(mux(b, announcing({}, 0)));
    cleanups.push(() => a.abort());
    const accepting = older.accept({ timeout: 5000 });
    // The opener announces runs, the older side does not, and a broken peer sends one anyway.
    await a.send(ipc.IpcMessage.encode({ mux: { open: { stream: 1, name: "x", window: 1 << 16 } } }).finish());
    await accepting;
    await a.send(encodeMuxRun(1, false, [Uint8Array.of(1), Uint8Array.of(2)], 0, 2));
    await expect(older.closed).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
  });

  it("a run beyond the credit is a protocol error, found before any of it is queued", async () => {
    const [a, b] = memoryPair();
    const receiver = track(mux(b, { window: 1000 }));
    cleanups.push(() => a.abort());
    const accepting = receiver.accept({ timeout: 5000 });
    await a.send(ipc.IpcMessage.encode({ mux: { open: { stream: 1, name: "x", window: 1 << 16 } } }).finish());
    const stream = (await accepting)!;
    // 20 messages of 100 bytes cost 20 × 164 bytes: far past a window of 1000 before the last.
    await a.send(encodeMuxRun(1, false, numbered(0, 20, 100), 0, 20));
    await expect(receiver.closed).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
    expect(stream.bufferedBytes).toBe(0);
  });
});
