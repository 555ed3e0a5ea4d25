/**
 * `Connection.receiveBatch()`: at least one message and never an empty array, its bounds, the end, a
 * failure after the messages, timeouts and signals, and order when mixed with `receive()` and `for await`.
 */
import { DEFAULT_HIGH_WATER_MARK } from "@ipc/core";
import { expect } from "vitest";
import { connect, listen, type Context } from "../harness.js";
import { bytesOf, fill, mismatch, readBatches, rejection, run, WAIT, type Expected } from "./batch-messages.js";
import type { BatchTest } from "./batch-send.js";

/** Throws unless `batch` is the messages `expected[from…]`, as many as it holds. */
function expectRun(batch: readonly Uint8Array[] | undefined, expected: readonly Expected[], from: number): number {
  if (batch === undefined || batch.length === 0) throw new Error(`expected messages from #${from}, got ${batch === undefined ? "the end" : "[]"}`);
  for (const [i, message] of batch.entries()) {
    const wrong = mismatch(message, expected[from + i]!, from + i);
    if (wrong !== undefined) throw new Error(wrong);
  }
  return from + batch.length;
}

/** The receiveBatch() cases on one kind of connection (`bufferBound`: the fixture's `maxBufferedBytes`). */
export function receiveBatchCases(test: BatchTest, bufferBound: number): void {
  test("receiveBatch() waits for a message and resolves with a non-empty array of what arrived, in order", async ({ a, b }) => {
    const waiting = b.receiveBatch(WAIT);
    const expected = run(0, 5, 10);
    await a.sendBatch(expected.map(bytesOf));
    let next = expectRun(await waiting, expected, 0);
    while (next < expected.length) next = expectRun(await b.receiveBatch(WAIT), expected, next);
  });

  test("receiveBatch() keeps within maxMessages and maxBytes (the first message whatever its size) and fills them while more wait; by default at most the high-water mark", async ({
    a,
    b,
  }) => {
    // A peer that reads nothing until the sender stalls: then its buffer is full (a high-water mark's worth,
    // or a window's: hundreds of these messages), and every bounded call below has more waiting than it takes.
    const { accepted } = await fill(a, 2 * bufferBound + 4 * 1024 * 1024, 1000, 16);
    let next = 0;
    const payload = (batch: readonly Uint8Array[]): number => batch.reduce((sum, message) => sum + message.byteLength, 0);
    /**
     * Calls receiveBatch(bounds) until a batch fills them (`full`), each within them; a few calls at most.
     * (Not the first call alone: a transport that moves bytes through another process, such as a pipe relay,
     * may not have everything at hand at once.)
     */
    const bounded = async (bounds: { maxMessages?: number; maxBytes?: number }, full: (batch: Uint8Array[]) => boolean): Promise<void> => {
      for (let calls = 0; calls < 10; calls++) {
        const batch = (await b.receiveBatch({ ...bounds, ...WAIT }))!;
        next = expectRun(batch, accepted, next);
        expect(batch.length).toBeLessThanOrEqual(bounds.maxMessages ?? Number.MAX_SAFE_INTEGER);
        if (batch.length > 1) expect(payload(batch)).toBeLessThanOrEqual(bounds.maxBytes ?? Number.MAX_SAFE_INTEGER);
        if (full(batch)) return;
      }
      throw new Error(`receiveBatch(${JSON.stringify(bounds)}) never filled its bounds in 10 calls while hundreds of messages waited`);
    };
    expect(accepted.length).toBeGreaterThan(200);
    await bounded({ maxMessages: 7 }, (batch) => batch.length === 7);
    await bounded({ maxBytes: 4500 }, (batch) => batch.length === 4);
    // The first message comes whatever its size: one message of 1000 bytes over a bound of 10.
    const single = await b.receiveBatch({ maxBytes: 10, ...WAIT });
    expect(single?.length).toBe(1);
    next = expectRun(single, accepted, next);
    await bounded({ maxMessages: 3, maxBytes: 1_000_000 }, (batch) => batch.length === 3);
    // Without bounds: a batch of more than one message holds at most the default high-water mark, 256 KiB
    // (a connection with another high-water mark is not made here).
    while (next < accepted.length) {
      const batch = (await b.receiveBatch(WAIT))!;
      next = expectRun(batch, accepted, next);
      if (batch.length > 1) expect(payload(batch)).toBeLessThanOrEqual(DEFAULT_HIGH_WATER_MARK);
    }
    // The batch that timed out never comes.
    const closing = a.close(WAIT);
    expect(await b.receiveBatch(WAIT)).toBeUndefined();
    await closing;
  });

  test("receiveBatch() resolves with undefined at a clean end, after every message, and again after", async ({ a, b }) => {
    const expected = run(0, 5, (seq) => seq * 100);
    await a.sendBatch(expected.map(bytesOf));
    const closing = a.close(WAIT);
    await readBatches(b, expected.length, {}, expected);
    expect(await b.receiveBatch(WAIT)).toBeUndefined();
    expect(await b.receiveBatch(WAIT)).toBeUndefined();
    await closing;
  });

  test("receiveBatch({ timeout }) rejects with TimeoutError and leaves the next message for the next call", async ({ a, b }) => {
    const error = await rejection(b.receiveBatch({ timeout: 20 }));
    expect(error.code).toBe("IPC_ERR_TIMEOUT");
    const expected = run(1, 2, 10);
    await a.sendBatch(expected.map(bytesOf));
    expect(mismatch(await b.receive(WAIT), expected[0]!, 0)).toBeUndefined();
    expectRun(await b.receiveBatch(WAIT), expected, 1);
  });

  test("receiveBatch() with an aborted signal rejects with AbortError carrying the reason, already aborted or while it waits, and leaves the messages", async ({
    a,
    b,
  }) => {
    const expected = run(1, 2, 10);
    await a.send(bytesOf(expected[0]!));
    const reason = new Error("not now");
    const early = await rejection(b.receiveBatch({ signal: AbortSignal.abort(reason) }));
    expect(early.code).toBe("IPC_ERR_ABORTED");
    expect(early.cause).toBe(reason);
    expectRun(await b.receiveBatch(WAIT), expected, 0);
    const controller = new AbortController();
    const waiting = b.receiveBatch({ signal: controller.signal });
    controller.abort(reason);
    const late = await rejection(waiting);
    expect(late.code).toBe("IPC_ERR_ABORTED");
    expect(late.cause).toBe(reason);
    await a.send(bytesOf(expected[1]!));
    expectRun(await b.receiveBatch(WAIT), expected, 1);
  });

  test("receive(), receiveBatch() and for await, mixed, one after another or waiting together, keep the order", async ({ a, b }) => {
    // Waiting together, before anything arrives: each is served in the order it was called.
    const first = run(0, 20, 10);
    const iterator = b[Symbol.asyncIterator]();
    const single = b.receive(WAIT);
    const batch = b.receiveBatch({ maxMessages: 3, ...WAIT });
    const step = iterator.next();
    const rest = b.receiveBatch(WAIT);
    await a.sendBatch(first.map(bytesOf));
    let next = expectRun([(await single)!], first, 0);
    next = expectRun(await batch, first, next);
    next = expectRun([(await step).value as Uint8Array], first, next);
    next = expectRun(await rest, first, next);
    await iterator.return?.();
    // One after another, in rotation.
    const second = run(100, 300, (seq) => [0, 7, 100, 3000][seq % 4]!);
    const sending = (async () => {
      for (let at = 0; at < second.length; at += 50) {
        await a.sendBatch(second.slice(at, at + 25).map(bytesOf));
        for (const message of second.slice(at + 25, at + 50)) await a.send(bytesOf(message));
      }
    })();
    sending.catch(() => undefined); // awaited below
    const all = [...first, ...second];
    for (let turn = 0; next < all.length; turn++) {
      if (turn % 3 === 0) next = expectRun([(await b.receive(WAIT))!], all, next);
      else if (turn % 3 === 1) next = expectRun(await b.receiveBatch({ maxMessages: 5, ...WAIT }), all, next);
      else {
        // Leaving a loop early leaves the connection open: the next read goes on from there.
        for await (const message of b) {
          next = expectRun([message], all, next);
          break;
        }
      }
    }
    expect(next).toBe(all.length);
    await sending;
  });

  test("receiveBatch() with bounds that are not positive integers rejects with InvalidArgumentError at once and takes nothing", async ({ a, b }) => {
    const bad = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY];
    const refusals = async (): Promise<void> => {
      for (const value of bad) {
        for (const bounds of [{ maxMessages: value }, { maxBytes: value }]) {
          let receiving: Promise<Uint8Array[] | undefined>;
          try {
            receiving = b.receiveBatch({ ...bounds, ...WAIT });
          } catch (error) {
            throw new Error(`receiveBatch(${JSON.stringify(bounds)}) threw instead of rejecting: ${String(error)}`);
          }
          expect((await rejection(receiving)).code, `receiveBatch(${String(Object.keys(bounds)[0])}: ${value})`).toBe("IPC_ERR_INVALID_ARGUMENT");
        }
      }
    };
    // Checked before any wait: nothing has arrived yet, and each rejects all the same.
    await refusals();
    const expected = run(1, 1, 10);
    await a.send(bytesOf(expected[0]!));
    await refusals();
    expectRun(await b.receiveBatch(WAIT), expected, 0);
  });
}

/** The receiveBatch() cases that need a transport connection of their own (options on each end). */
export function transportReceiveBatchCases(test: (name: string, fn: (c: Context) => Promise<void>) => void): void {
  test("receiveBatch() rejects with the connection's error once the messages before the failure are taken", async (c) => {
    const listener = await listen(c, { maxMessageSize: 1000 });
    const client = await connect(c, listener, { maxMessageSize: 5000 });
    const server = c.resources.connection((await listener.accept(WAIT))!);
    const waiting = server.receiveBatch(WAIT);
    const expected = [
      { seq: 1, size: 100 },
      { seq: 2, size: 1000 },
    ];
    // One batch: on a byte stream the frame over the receiver's limit comes in the same read as the others.
    await client.sendBatch([...expected.map(bytesOf), bytesOf({ seq: 3, size: 1001 })]);
    let next = expectRun(await waiting, expected, 0);
    while (next < expected.length) next = expectRun(await server.receiveBatch(WAIT), expected, next);
    const error = await rejection(server.receiveBatch(WAIT));
    expect(error.code).toBe("IPC_ERR_FRAME_TOO_LARGE");
    expect((await rejection(server.receiveBatch(WAIT))).code).toBe("IPC_ERR_FRAME_TOO_LARGE");
    expect((await rejection(server.closed)).code).toBe("IPC_ERR_FRAME_TOO_LARGE");
    await client.closed.catch(() => undefined);
  });
}
