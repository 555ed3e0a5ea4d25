/**
 * The batch path (`sendBatch` / `receiveBatch`) through the layers that implement it natively: mux streams
 * (one credit check per batch, docs/wire.md §8.3) and reliable sessions (one window check per batch, §8.2.3),
 * including a session whose connections keep breaking under a stream of batches.
 */
import { setImmediate as turn } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { memoryPair, memoryTransport, type Connection } from "@ipc/core";
import { checkPatterned, faultyConnect, patterned, type FaultyConnection } from "@ipc/testing";
import { mux, reliable, reliableListener, type Mux, type MuxStream, type ReliableSession } from "../src/index.js";
import { checksum, memoryAddress } from "./fixtures/messages.js";

const SLOW = { timeout: 120_000 };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function track<T extends Connection | Mux>(thing: T): T {
  cleanups.push(() => thing.abort());
  return thing;
}

/** A stream and its accepted end over a memory pair, with `window` bytes of credit each way. */
async function streams(window?: number): Promise<[MuxStream, MuxStream]> {
  const [a, b] = memoryPair();
  const left = track(mux(a, { window }));
  const right = track(mux(b, { window }));
  const opening = left.open("batch", { timeout: 5000 });
  const accepted = (await right.accept({ timeout: 5000 }))!;
  return [await opening, accepted];
}

/** Receives with receiveBatch() until `count` messages came (no more); returns them and the sizes of the batches. */
async function receiveAll(connection: Connection, count: number): Promise<{ messages: Uint8Array[]; batches: number[] }> {
  const messages: Uint8Array[] = [];
  const batches: number[] = [];
  while (messages.length < count) {
    const batch = await connection.receiveBatch({ maxMessages: count - messages.length, timeout: 30_000 });
    if (batch === undefined) break;
    batches.push(batch.length);
    messages.push(...batch);
  }
  return { messages, batches };
}

/** Waits (turn by turn, for the frames in flight to arrive) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await turn();
}

/** `count` messages of `size` bytes, numbered from `first` (see @ipc/testing's patterned). */
const numbered = (first: number, count: number, size: number): Uint8Array[] => Array.from({ length: count }, (_, i) => patterned(first + i, size));
const numbers = (messages: readonly Uint8Array[]): number[] => messages.map((m) => checkPatterned(m));
const range = (first: number, count: number): number[] => Array.from({ length: count }, (_, i) => first + i);

describe("mux streams: the batch path", () => {
  it("delivers batches in order, between single sends, and receiveBatch takes what arrived together", async () => {
    const [sender, receiver] = await streams();
    await sender.sendBatch(numbered(0, 100, 64));
    await sender.send(patterned(100, 64));
    await sender.sendBatch(numbered(101, 99, 64));
    const { messages, batches } = await receiveAll(receiver, 200);
    expect(numbers(messages)).toEqual(range(0, 200));
    // Everything was sent in one turn: it arrives in one burst, and is taken in far fewer calls than messages.
    expect(batches.length).toBeLessThan(10);
  });

  it("counts each message of a batch against the credit (its length + 64), checked once for the whole batch", async () => {
    const window = 4000;
    const [sender, receiver] = await streams(window);
    // 30 messages of 36 bytes cost 30 × 100: the receiver holds exactly that, unread.
    await sender.sendBatch(numbered(0, 30, 36));
    await until(() => receiver.bufferedBytes === 3000);
    // 1000 bytes of credit are left: a batch of 11 needs more than 10 × 100 before its last message; it waits.
    const waiting = sender.sendBatch(numbered(30, 11, 36), { timeout: 60_000 });
    let accepted = false;
    void waiting.then(() => (accepted = true));
    await turn();
    expect(accepted).toBe(false);
    expect(receiver.bufferedBytes).toBe(3000);
    // Reading 20 messages grants 2000 bytes back (half the window): now the whole batch fits, and comes at once.
    const first = await receiveAll(receiver, 20);
    await waiting;
    await until(() => receiver.bufferedBytes === 10 * 100 + 11 * 100);
    const rest = await receiveAll(receiver, 21);
    expect(numbers([...first.messages, ...rest.messages])).toEqual(range(0, 41));
  });

  it("withdraws a whole batch when its wait for credit times out: none of it is sent, later sends go on", async () => {
    const window = 4096;
    const [sender, receiver] = await streams(window);
    // One large message spends all the credit (a lone message may overshoot).
    await sender.send(patterned(0, 5000));
    await expect(sender.sendBatch(numbered(1, 3, 64), { timeout: 50 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    const controller = new AbortController();
    const aborted = sender.sendBatch(numbered(1, 3, 64), { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: "IPC_ERR_ABORTED" });
    // Reading the large message gives its credit back; the next batch goes, and nothing of the withdrawn ones.
    expect(checkPatterned((await receiver.receive({ timeout: 5000 }))!)).toBe(0);
    await sender.sendBatch([patterned(4, 64)], { timeout: 30_000 });
    await sender.close({ timeout: 5000 }).catch(() => undefined);
    const { messages } = await receiveAll(receiver, 2);
    expect(numbers(messages)).toEqual([4]);
  });

  it("takes a batch larger than half the window while credit is left, and sends it paced by the credit", async () => {
    const window = 1000;
    const [sender, receiver] = await streams(window);
    // 50 × 100 bytes of credit: five windows. Accepted at once, it goes out as the receiver reads.
    await sender.sendBatch(numbered(0, 50, 36), { timeout: 5000 });
    const sending = sender.send(patterned(50, 36), { timeout: 60_000 });
    await until(() => receiver.bufferedBytes > 0);
    expect(receiver.bufferedBytes).toBeLessThanOrEqual(window + 100);
    const { messages } = await receiveAll(receiver, 51);
    await sending;
    expect(numbers(messages)).toEqual(range(0, 51));
  });
});

describe("reliable sessions: the batch path", () => {
  async function sessions(serverOptions?: Parameters<typeof reliableListener>[1]): Promise<[ReliableSession, ReliableSession]> {
    const raw = await memoryTransport.listen(memoryAddress("batch"));
    const listener = reliableListener(raw, serverOptions);
    cleanups.push(() => listener.close());
    const client = track(await reliable(() => memoryTransport.connect(raw.address), { timeout: 5000 }));
    const server = track((await listener.accept({ timeout: 5000 }))!);
    return [client, server];
  }

  it("delivers batches in order, both ways, and acknowledges them", async () => {
    const [client, server] = await sessions();
    await client.sendBatch(numbered(0, 500, 64));
    await client.send(patterned(500, 64));
    await server.sendBatch(numbered(0, 10, 64));
    const { messages, batches } = await receiveAll(server, 501);
    expect(numbers(messages)).toEqual(range(0, 501));
    expect(batches.length).toBeLessThan(50);
    expect(numbers((await receiveAll(client, 10)).messages)).toEqual(range(0, 10));
    await client.flush({ timeout: 5000 });
    expect(client.stats.sent).toBe(501);
  });

  it("withdraws a whole batch when its wait for the peer's window times out: none of it is numbered or sent", async () => {
    const [client, server] = await sessions({ maxBufferedBytes: 8 * 1024 });
    // Seven messages of 1000 bytes (1064 each) fill most of the 8 KiB window; two more do not fit.
    await client.sendBatch(numbered(0, 7, 1000), { timeout: 30_000 });
    await expect(client.sendBatch(numbered(7, 2, 1000), { timeout: 50 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    expect(client.stats.sent).toBe(7);
    expect(client.stats.bufferedBytes).toBe(7 * 1064);
    const first = await receiveAll(server, 7);
    // The server took them: its acknowledgement frees the window, and the next batch is numbered 8.
    await client.sendBatch([patterned(100, 1000)], { timeout: 30_000 });
    const next = await server.receive({ timeout: 30_000 });
    expect([...numbers(first.messages), checkPatterned(next!)]).toEqual([...range(0, 7), 100]);
    expect(client.stats.sent).toBe(8);
  });

  it("takes a batch larger than the window when nothing is unacknowledged, and sends it paced by the window", async () => {
    const [client, server] = await sessions({ maxBufferedBytes: 8 * 1024 });
    await client.sendBatch(numbered(0, 20, 1000), { timeout: 30_000 });
    const after = client.send(patterned(20, 1000), { timeout: 60_000 });
    expect(client.stats.bufferedBytes).toBeLessThanOrEqual(8 * 1024);
    const { messages } = await receiveAll(server, 21);
    await after;
    expect(numbers(messages)).toEqual(range(0, 21));
  });

  it("delivers 50 000 messages sent in batches exactly once and in order over connections that keep breaking", SLOW, async () => {
    const raw = await memoryTransport.listen(memoryAddress("batch-resume"));
    const listener = reliableListener(raw, { maxBufferedBytes: 64 * 1024 });
    cleanups.push(() => listener.close());
    const connections: FaultyConnection[] = [];
    // Each connection breaks after a few frames: a frame holds a burst's batch (up to 64 KiB of Data).
    const connect = faultyConnect(() => memoryTransport.connect(raw.address), { dropAfterMessages: [2, 6], seed: 11 });
    const client = track(
      await reliable(
        async () => {
          const c = await connect();
          connections.push(c);
          return c;
        },
        { minReconnectDelay: 0, maxReconnectDelay: 5, maxBufferedBytes: 64 * 1024 },
      ),
    );
    const server = track((await listener.accept({ timeout: 5000 }))!);
    const count = 50_000;
    const sent = checksum();
    const received = checksum();
    const reading = (async () => {
      let next = 0;
      for (;;) {
        const batch = await server.receiveBatch();
        if (batch === undefined) return next;
        for (const message of batch) {
          if (checkPatterned(message) !== next) throw new Error(`message ${next} arrived as ${checkPatterned(message)}`);
          received.add(message);
          next++;
        }
      }
    })();
    for (let first = 0; first < count; first += 100) {
      const batch = numbered(first, 100, 16 + (first % 200));
      for (const message of batch) sent.add(message);
      await client.sendBatch(batch);
    }
    await client.close({ timeout: 30_000 });
    expect(await reading).toBe(count);
    expect(received.hex()).toBe(sent.hex());
    await expect(server.closed).resolves.toBeUndefined();
    expect(connections.filter((c) => c.faults.dropped !== undefined).length).toBeGreaterThan(20);
  });
});

// The layers account what their application takes once per read (core's Inbox `onTakeMany`): a sender held by a
// tiny window must still get its credit or acknowledgements back, whether the application reads one message at a
// time or in small batches (docs/wire.md §8.2.3, §8.3).
describe("the batch path under tiny windows", () => {
  type Read = "receive" | "batches of 3";
  const read = async (connection: Connection, how: Read, count: number, held: () => number, bound: number): Promise<Uint8Array[]> => {
    const messages: Uint8Array[] = [];
    while (messages.length < count) {
      expect(held()).toBeLessThanOrEqual(bound);
      if (how === "receive") messages.push((await connection.receive({ timeout: 30_000 }))!);
      else messages.push(...((await connection.receiveBatch({ maxMessages: 3, timeout: 30_000 })) ?? []));
    }
    return messages;
  };

  for (const how of ["receive", "batches of 3"] as const) {
    it(`a mux stream with a 300-byte window delivers 2000 messages sent in batches, read with ${how}`, async () => {
      const [sender, receiver] = await streams(300);
      const sending = (async () => {
        for (let i = 0; i < 2000; i += 100) await sender.sendBatch(numbered(i, 100, 16), { timeout: 30_000 });
      })();
      // What the receiver holds never passes the window plus one message (16 + 64 bytes each).
      const messages = await read(receiver, how, 2000, () => receiver.bufferedBytes, 300 + 80);
      await sending;
      expect(numbers(messages)).toEqual(range(0, 2000));
    });

    it(`a reliable session with a 256-byte window and 2 messages kept delivers 2000 messages sent in batches, read with ${how}`, async () => {
      const raw = await memoryTransport.listen(memoryAddress("tiny"));
      const listener = reliableListener(raw, { maxBufferedBytes: 256 });
      cleanups.push(() => listener.close());
      const client = track(await reliable(() => memoryTransport.connect(raw.address), { timeout: 5000, maxBufferedMessages: 2, ackDelay: 60_000 }));
      const server = track((await listener.accept({ timeout: 5000 }))!);
      const sending = (async () => {
        for (let i = 0; i < 2000; i += 100) await client.sendBatch(numbered(i, 100, 16), { timeout: 30_000 });
      })();
      // ackDelay is a minute: the acknowledgements that free the sender are the ones sent as messages are taken. The
      // sender keeps at most 2 messages (or the 256-byte window, + one message) unacknowledged; the receiver fails
      // the session if more arrive unread than its window.
      const messages = await read(server, how, 2000, () => client.stats.bufferedBytes, 256 + 80);
      await sending;
      expect(numbers(messages)).toEqual(range(0, 2000));
      await client.flush({ timeout: 30_000 });
    });
  }
});
