/**
 * How the layers read their connection: with `receive()` while one message is what comes next (the last read
 * brought one lone envelope, as a request/response exchange does), with `receiveBatch()` once a read brings a
 * Batch or a run (a burst) — see `isLone` in src/batch.ts. The connection under each layer is a real memory
 * connection, wrapped only to count which of the two calls the layer made.
 */
import { afterEach, describe, expect, it } from "vitest";
import { memoryPair, memoryTransport, type Connection } from "@ipc/core";
import { checkPatterned, patterned } from "@ipc/testing";
import { mux, reliable, reliableListener, type Mux, type MuxStream, type ReliableSession } from "../src/index.js";
import { memoryAddress } from "./fixtures/messages.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function track<T extends Connection | Mux>(thing: T): T {
  cleanups.push(() => thing.abort());
  return thing;
}

/** Counts of the reads a layer made on a connection. */
interface Reads {
  receive: number;
  receiveBatch: number;
}

/** `connection`, with its `receive()` and `receiveBatch()` counted into `reads` (everything else as it is). */
function counted(connection: Connection, reads: Reads): Connection {
  const receive = connection.receive.bind(connection);
  const receiveBatch = connection.receiveBatch.bind(connection);
  return new Proxy(connection, {
    get(target, key, receiver) {
      if (key === "receive") return (...args: Parameters<Connection["receive"]>) => (reads.receive++, receive(...args));
      if (key === "receiveBatch") return (...args: Parameters<Connection["receiveBatch"]>) => (reads.receiveBatch++, receiveBatch(...args));
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const numbered = (first: number, count: number): Uint8Array[] => Array.from({ length: count }, (_, i) => patterned(first + i, 64));
const numbers = (messages: readonly Uint8Array[]): number[] => messages.map((m) => checkPatterned(m));
const range = (first: number, count: number): number[] => Array.from({ length: count }, (_, i) => first + i);

/** Receives until `count` messages came; their numbers. */
async function receiveNumbers(connection: Connection, count: number): Promise<number[]> {
  const messages: Uint8Array[] = [];
  while (messages.length < count) {
    const batch = await connection.receiveBatch({ maxMessages: count - messages.length, timeout: 30_000 });
    if (batch === undefined) break;
    messages.push(...batch);
  }
  return numbers(messages);
}

/**
 * `rounds` request/response exchanges of one message each (`client` asks, `server` echoes), then a burst of `burst`
 * messages from `server` in one sendBatch(), then `rounds` exchanges again; checks every message arrived in order
 * and returns the client side's reads made during each phase.
 */
async function exchangeThenBurst(client: Connection, server: Connection, reads: Reads, rounds: number, burst: number): Promise<Reads[]> {
  const phases: Reads[] = [];
  const mark = (): Reads => ({ ...reads });
  const exchanges = async (first: number): Promise<void> => {
    for (let i = first; i < first + rounds; i++) {
      await client.send(patterned(i, 64));
      const request = await server.receive({ timeout: 30_000 });
      await server.send(request!);
      expect(checkPatterned((await client.receive({ timeout: 30_000 }))!)).toBe(i);
    }
  };
  let before = mark();
  await exchanges(0);
  phases.push({ receive: reads.receive - before.receive, receiveBatch: reads.receiveBatch - before.receiveBatch });
  before = mark();
  await server.sendBatch(numbered(rounds, burst));
  expect(await receiveNumbers(client, burst)).toEqual(range(rounds, burst));
  phases.push({ receive: reads.receive - before.receive, receiveBatch: reads.receiveBatch - before.receiveBatch });
  before = mark();
  await exchanges(rounds + burst);
  phases.push({ receive: reads.receive - before.receive, receiveBatch: reads.receiveBatch - before.receiveBatch });
  return phases;
}

describe("the layers' read loops", () => {
  it("a reliable session reads a request/response exchange with receive(), a burst with receiveBatch(), and receive() again after it", async () => {
    const raw = await memoryTransport.listen(memoryAddress("read-loops"));
    const listener = reliableListener(raw);
    cleanups.push(() => listener.close());
    const reads: Reads = { receive: 0, receiveBatch: 0 };
    const client: ReliableSession = track(await reliable(async () => counted(await memoryTransport.connect(raw.address), reads), { timeout: 5000 }));
    const server = track((await listener.accept({ timeout: 5000 }))!);
    const [before, burst, after] = await exchangeThenBurst(client, server, reads, 50, 1000);
    // Each reply is one lone Data envelope: after the first, every read is a receive(); one batch read at most
    // (the read that was waiting when the phase began).
    expect(before!.receive).toBeGreaterThanOrEqual(48);
    expect(before!.receiveBatch).toBeLessThanOrEqual(2);
    // The burst arrives as runs: it is read with receiveBatch(), in far fewer reads than messages.
    expect(burst!.receiveBatch).toBeGreaterThanOrEqual(1);
    expect(burst!.receive + burst!.receiveBatch).toBeLessThan(100);
    expect(after!.receive).toBeGreaterThanOrEqual(48);
    expect(after!.receiveBatch).toBeLessThanOrEqual(2);
  });

  it("a mux stream reads a request/response exchange with receive(), a burst with receiveBatch(), and receive() again after it", async () => {
    const [a, b] = memoryPair();
    const reads: Reads = { receive: 0, receiveBatch: 0 };
    const left = track(mux(counted(a, reads)));
    const right = track(mux(b));
    const opening = left.open("read-loops", { timeout: 5000 });
    const accepted: MuxStream = (await right.accept({ timeout: 5000 }))!;
    const stream = await opening;
    const [before, burst, after] = await exchangeThenBurst(stream, accepted, reads, 50, 1000);
    expect(before!.receive).toBeGreaterThanOrEqual(48);
    expect(before!.receiveBatch).toBeLessThanOrEqual(2);
    expect(burst!.receiveBatch).toBeGreaterThanOrEqual(1);
    expect(burst!.receive + burst!.receiveBatch).toBeLessThan(100);
    expect(after!.receive).toBeGreaterThanOrEqual(48);
    expect(after!.receiveBatch).toBeLessThanOrEqual(2);
  });

  it("a session's read loop still ends cleanly when the connection ends during a receive()", async () => {
    const raw = await memoryTransport.listen(memoryAddress("read-loops-end"));
    const listener = reliableListener(raw);
    cleanups.push(() => listener.close());
    const reads: Reads = { receive: 0, receiveBatch: 0 };
    const client = track(await reliable(async () => counted(await memoryTransport.connect(raw.address), reads), { timeout: 5000 }));
    const server = track((await listener.accept({ timeout: 5000 }))!);
    await client.send(patterned(0, 64));
    await server.send((await server.receive({ timeout: 30_000 }))!);
    expect(checkPatterned((await client.receive({ timeout: 30_000 }))!)).toBe(0);
    // The loop's next read, already waiting, is a receive() (the last read was a lone envelope).
    const batchReads = reads.receiveBatch;
    const closing = server.close({ timeout: 30_000 });
    expect(await client.receive({ timeout: 30_000 })).toBeUndefined();
    await closing;
    await client.closed;
    // The session's end (its SessionEnd, then the connection's end) came through receive() calls only.
    expect(reads.receiveBatch).toBe(batchReads);
  });
});
