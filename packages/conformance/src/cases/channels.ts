import { createHash } from "node:crypto";
import { faultyConnection, type FaultyConnection } from "@ipc/testing";
import { describe, expect, it } from "vitest";
import type { ChannelLayers } from "../channel-layers.js";
import type { ConformanceFixture } from "../fixture.js";
import { checkPatterned, connect, lacking, listen, patterned, type Context } from "../harness.js";

const SLOW = { timeout: 120_000 };

/** Waits until `condition` holds, one short sleep at a time; the test's timeout guards against a hang. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

/** Reads `count` patterned messages with `next`, checks each is the next one; returns the SHA-256 of them all. */
async function expectSequence(next: () => Promise<Uint8Array | undefined>, count: number): Promise<string> {
  const hash = createHash("sha256");
  for (let seq = 0; seq < count; seq++) {
    const message = await next();
    if (message === undefined || checkPatterned(message) !== seq) {
      throw new Error(`message ${seq} arrived as ${message === undefined ? "the end" : checkPatterned(message)}`);
    }
    hash.update(message);
  }
  return hash.digest("hex");
}

/**
 * The channel layers of @ipc/channels (pub/sub, reliable sessions, mux) over this transport's real
 * connections, when the fixture passes them in (`fixture.channels`); skipped by name otherwise.
 */
export function channelCases(fixture: ConformanceFixture, ctx: () => Context): void {
  const missing = fixture.channels === undefined;
  const why = "no channel layers given (fixture.channels)";
  // Only reached when the layers were given: the cases are skipped otherwise.
  const layers = (): ChannelLayers => fixture.channels!;
  const test = (name: string, fn: () => Promise<void>): void => void it.skipIf(missing)(`${name}${lacking(missing, why)}`, SLOW, fn);
  describe("channel layers", () => {
    test("pub/sub: exact and prefix subscribers get their topics in order; a late joiner gets the history", async () => {
      const c = ctx();
      const listener = await listen(c);
      const pub = layers().publisher(listener, { history: 10 });
      c.resources.cleanup(() => pub.close());
      const exact = await layers().subscribe(await connect(c, listener), { topics: ["load"] });
      const prefixed = await layers().subscribe(await connect(c, listener), { prefixes: ["l"] });
      await until(() => pub.stats.subscribers === 2 && pub.stats.perSubscriber.every((s) => s.topics.length + s.prefixes.length === 1));
      const size = (seq: number) => [4, 100, 20_000, 200_000][seq % 4]!;
      const topic = (seq: number) => (seq % 3 === 0 ? "load" : "log");
      const readExact = (async () => {
        for (let seq = 0; seq < 300; seq += 3) expect(checkPatterned((await exact.receive({ timeout: 20_000 }))!.message)).toBe(seq);
      })();
      const readPrefixed = (async () => {
        for (let seq = 0; seq < 300; seq++) {
          const p = (await prefixed.receive({ timeout: 20_000 }))!;
          expect(p.topic).toBe(topic(seq));
          expect(p.message.byteLength).toBe(size(seq));
          expect(checkPatterned(p.message)).toBe(seq);
        }
      })();
      for (let seq = 0; seq < 300; seq++) await pub.publish(topic(seq), patterned(seq, size(seq)));
      await Promise.all([readExact, readPrefixed]);
      const late = await layers().subscribe(await connect(c, listener), { topics: ["log"], history: 3 });
      for (const seq of [296, 298, 299]) expect(checkPatterned((await late.receive({ timeout: 20_000 }))!.message)).toBe(seq);
      await pub.close();
      expect(await exact.receive({ timeout: 20_000 })).toBeUndefined();
    });

    test("pub/sub: a stalled subscriber (drop-oldest) stays within its queue while another gets every message", async () => {
      const c = ctx();
      const listener = await listen(c);
      const queueBytes = 256 * 1024;
      const pub = layers().publisher(listener, { policy: "drop-oldest", queueBytes });
      c.resources.cleanup(() => pub.close());
      const stalled = await layers().subscribe(await connect(c, listener), { topics: ["t"] });
      const fast = await layers().subscribe(await connect(c, listener), { topics: ["t"] });
      await until(() => pub.stats.perSubscriber.filter((s) => s.topics.length === 1).length === 2);
      const size = 64 * 1024;
      // Enough to overflow whatever the transport buffers for the stalled subscriber.
      const bound = fixture.capabilities.maxBufferedBytes ?? 16 * 1024 * 1024;
      const count = Math.ceil((bound + 2 * queueBytes) / size);
      let maxQueued = 0;
      let taken = 0;
      const reading = expectSequence(async () => {
        const p = await fast.receive({ timeout: 20_000 });
        taken++;
        return p?.message;
      }, count);
      reading.catch(() => undefined); // awaited below; a failure must not surface as an unhandled rejection first
      for (let seq = 0; seq < count; seq++) {
        // Keep the fast subscriber within two messages (128 KiB < queueBytes), however slow the transport
        // is: it must never be the one that overflows. The stalled one reads nothing.
        await until(() => taken >= seq - 2);
        await pub.publish("t", patterned(seq, size));
        maxQueued = Math.max(maxQueued, ...pub.stats.perSubscriber.map((s) => s.queuedBytes));
      }
      await reading;
      expect(maxQueued).toBeLessThanOrEqual(queueBytes);
      expect(pub.stats.dropped).toBeGreaterThan(0);
      let last = -1;
      let dropped = 0;
      while (last < count - 1) {
        const p = (await stalled.receive({ timeout: 20_000 }))!;
        expect(checkPatterned(p.message)).toBe(last + 1 + p.dropped);
        dropped += p.dropped;
        last = checkPatterned(p.message);
      }
      expect(dropped).toBe(pub.stats.dropped);
    });

    test("a reliable session delivers 1 000 messages each way exactly once, in order, over connections dropped every 100–200 messages", async () => {
      const c = ctx();
      const listener = layers().reliableListener(await listen(c), { maxBufferedBytes: 256 * 1024 });
      const connections: FaultyConnection[] = [];
      const address = listener.address;
      const client = await layers().reliable(
        async () => {
          const connection = faultyConnection(await c.fixture.connect(address, { timeout: 10_000 }), {
            seed: connections.length + 1,
            dropAfterMessages: [100, 200],
          });
          connections.push(c.resources.connection(connection));
          return connection;
        },
        { minReconnectDelay: 0, maxReconnectDelay: 20, timeout: 10_000 },
      );
      c.resources.connection(client);
      const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
      // Sized for transports whose connect() is slow (the pipe transport starts a process per connection):
      // about a dozen reconnects, each resuming mid-stream in both directions.
      const count = 1000;
      const sizes = (seq: number) => [4, 100, 3000, 40_000][seq % 4]!;
      const echo = (async () => {
        for await (const message of server) await server.send(message);
      })();
      const reading = expectSequence(() => client.receive({ timeout: 30_000 }), count);
      reading.catch(() => undefined); // awaited below
      const sent = createHash("sha256");
      for (let seq = 0; seq < count; seq++) {
        const message = patterned(seq, sizes(seq));
        sent.update(message);
        await client.send(message);
      }
      expect(await reading).toBe(sent.digest("hex"));
      await client.close({ timeout: 30_000 });
      await echo;
      expect(connections.filter((x) => x.faults.dropped !== undefined).length).toBeGreaterThanOrEqual(5);
      expect(client.stats.received).toBe(count);
      expect(server.stats.received).toBe(count);
      expect(client.stats.bufferedBytes).toBe(0);
    });

    test("a reliable session delivers batches exactly once, in order, over connections dropped every 1–2 MB (sendBatch/receiveBatch on both ends)", async () => {
      const c = ctx();
      const listener = layers().reliableListener(await listen(c), { maxBufferedBytes: 256 * 1024 });
      const connections: FaultyConnection[] = [];
      const address = listener.address;
      const client = await layers().reliable(
        async () => {
          const connection = faultyConnection(await c.fixture.connect(address, { timeout: 10_000 }), {
            seed: connections.length + 101,
            // Bytes, not messages: a session packs a burst into one frame, a batch into few.
            dropAfterBytes: [1_000_000, 2_000_000],
          });
          connections.push(c.resources.connection(connection));
          return connection;
        },
        { minReconnectDelay: 0, maxReconnectDelay: 20, timeout: 10_000 },
      );
      c.resources.connection(client);
      const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
      // The server echoes each batch it receives with one sendBatch().
      const echo = (async () => {
        for (let batch = await server.receiveBatch(); batch !== undefined; batch = await server.receiveBatch()) await server.sendBatch(batch);
      })();
      const count = 2000;
      const sizes = (seq: number) => [0, 4, 100, 3000, 20_000][seq % 5]!;
      let received = 0;
      const receivedHash = createHash("sha256");
      const reading = (async () => {
        while (received < count) {
          const batch = await client.receiveBatch({ timeout: 30_000 });
          if (batch === undefined || batch.length === 0) throw new Error(`receiveBatch() returned ${batch === undefined ? "the end" : "[]"} after ${received}`);
          for (const message of batch) {
            const size = sizes(received);
            if (message.byteLength !== size || (size >= 4 && checkPatterned(message) !== received)) {
              throw new Error(`message ${received} (${size} bytes) arrived as ${message.byteLength} bytes, seq ${checkPatterned(message)}`);
            }
            receivedHash.update(message);
            received++;
          }
        }
      })();
      reading.catch(() => undefined); // awaited below
      const sent = createHash("sha256");
      for (let first = 0; first < count; ) {
        const length = 10 + (first % 41);
        const batch = Array.from({ length: Math.min(length, count - first) }, (_, i) => patterned(first + i, sizes(first + i)));
        for (const message of batch) sent.update(message);
        await client.sendBatch(batch);
        first += batch.length;
      }
      await reading;
      expect(receivedHash.digest("hex")).toBe(sent.digest("hex"));
      await client.close({ timeout: 30_000 });
      await echo;
      // About 18 MB cross the client's connections (each message out and back): about a dozen drops.
      expect(connections.filter((x) => x.faults.dropped !== undefined).length).toBeGreaterThanOrEqual(5);
      expect(client.stats.received).toBe(count);
      expect(server.stats.received).toBe(count);
      expect(client.stats.bufferedBytes).toBe(0);
    });

    test("mux: one stream stalled while another carries 8 MiB; the stalled one's buffer stays within its window", async () => {
      const c = ctx();
      const listener = await listen(c);
      const client = await connect(c, listener);
      const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
      const window = 128 * 1024;
      const left = layers().mux(client, { window });
      const right = layers().mux(server, { window });
      c.resources.cleanup(() => (left.abort(), right.abort()));
      const [stalled, stalledIn] = await Promise.all([left.open("stalled"), right.accept({ timeout: 10_000 })]);
      const [bulk, bulkIn] = await Promise.all([left.open("bulk"), right.accept({ timeout: 10_000 })]);
      let stalledSent = 0;
      while (
        await stalled.send(patterned(stalledSent, 4000), { timeout: 100 }).then(
          () => true,
          () => false,
        )
      )
        stalledSent++;
      expect(stalledIn!.bufferedBytes).toBeLessThanOrEqual(window + 4000);
      const size = 32 * 1024;
      const count = (8 * 1024 * 1024) / size;
      const reading = expectSequence(() => bulkIn!.receive({ timeout: 20_000 }), count);
      reading.catch(() => undefined); // awaited below
      for (let seq = 0; seq < count; seq++) await bulk.send(patterned(seq, size));
      await reading;
      expect(stalledIn!.bufferedBytes).toBeLessThanOrEqual(window + 4000);
      await expectSequence(() => stalledIn!.receive({ timeout: 20_000 }), stalledSent);
    });

    test("mux batches: one stream's batches stalled (the one that timed out withdrawn whole) while another carries 8 MiB in batches larger than the window", async () => {
      const c = ctx();
      const listener = await listen(c);
      const client = await connect(c, listener);
      const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
      const window = 128 * 1024;
      const left = layers().mux(client, { window });
      const right = layers().mux(server, { window });
      c.resources.cleanup(() => (left.abort(), right.abort()));
      const [stalled, stalledIn] = await Promise.all([left.open("stalled"), right.accept({ timeout: 10_000 })]);
      const [bulk, bulkIn] = await Promise.all([left.open("bulk"), right.accept({ timeout: 10_000 })]);
      // Batches of ten 4000-byte messages until one cannot get credit within 100 ms (then it is withdrawn whole:
      // the timeout is what is tested here, and a batch accepted later than it would be withdrawn just the same).
      let stalledSent = 0;
      for (;;) {
        const batch = Array.from({ length: 10 }, (_, i) => patterned(stalledSent + i, 4000));
        const accepted = await stalled.sendBatch(batch, { timeout: 100 }).then(
          () => true,
          (error: { code?: string }) => (expect(error.code).toBe("IPC_ERR_TIMEOUT"), false),
        );
        if (!accepted) break;
        stalledSent += batch.length;
      }
      expect(stalledIn!.bufferedBytes).toBeLessThanOrEqual(window + 4000);
      // 8 MiB in batches of 256 KiB, twice the window each: carried all the same, credit by credit.
      const size = 32 * 1024;
      const count = (8 * 1024 * 1024) / size;
      const reading = expectSequence(async () => {
        const batch = await bulkIn!.receiveBatch({ maxMessages: 1, timeout: 20_000 });
        return batch?.[0];
      }, count);
      reading.catch(() => undefined); // awaited below
      for (let first = 0; first < count; first += 8) await bulk.sendBatch(Array.from({ length: 8 }, (_, i) => patterned(first + i, size)));
      await reading;
      expect(stalledIn!.bufferedBytes).toBeLessThanOrEqual(window + 4000);
      // What the stalled stream accepted arrives, in order, and nothing of the withdrawn batch after it.
      await expectSequence(() => stalledIn!.receive({ timeout: 20_000 }), stalledSent);
      const closing = stalled.close({ timeout: 20_000 });
      expect(await stalledIn!.receiveBatch({ timeout: 20_000 })).toBeUndefined();
      await closing;
    });
  });
}
