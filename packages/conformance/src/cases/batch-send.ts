/**
 * `Connection.sendBatch()`: order and integrity beside `send()`, many small messages, atomicity under
 * backpressure (a batch is accepted whole or withdrawn whole), the batch bound and the shared checks.
 */
import { BATCH_MESSAGE_OVERHEAD } from "@ipc/core";
import { expect } from "vitest";
import type { Ends } from "../kinds.js";
import { bytesOf, fill, mismatch, outcome, readBatches, rejection, run, WAIT, type Expected } from "./batch-messages.js";

/** Registers one case on the kind of connection the caller chose (`kindOptions`: for both ends of its transport). */
export type BatchTest = (name: string, fn: (ends: Ends) => Promise<void>, options?: { kindOptions?: { maxMessageSize?: number } }) => void;

/** Reads `expected.length` messages from `b` with `receiveBatch()` and checks each, in order. */
async function expectDelivered(ends: Ends, expected: readonly Expected[]): Promise<number[]> {
  const { batches } = await readBatches(ends.b, expected.length, {}, expected);
  return batches;
}

/** The sendBatch() cases on one kind of connection (`bufferBound`: the fixture's `maxBufferedBytes`). */
export function sendBatchCases(test: BatchTest, bufferBound: number): void {
  test("sendBatch() and send() mixed, called without waiting, deliver in order and intact: 0-byte, 1-byte and 1 MiB messages inside one batch", async (ends) => {
    const { a } = ends;
    const expected: Expected[] = [];
    const sends: Promise<void>[] = [];
    let seq = 0;
    // Sizes within one batch: empty, 1 byte, 3 bytes (no room for a seq: compared byte for byte), larger than
    // a 64 KiB write or a mux window, and 1 MiB in every fifth round.
    for (let round = 0; round < 20; round++) {
      const single = run(seq++, 1, 100 + round)[0]!;
      expected.push(single);
      sends.push(a.send(bytesOf(single)));
      const sizes = [0, 1, 3, 70_000, round % 5 === 0 ? 1024 * 1024 : 20_000, ...Array.from({ length: 16 }, (_, i) => 4 + i)];
      const batch = sizes.map((size) => ({ seq: seq++, size }));
      expected.push(...batch);
      sends.push(a.sendBatch(batch.map(bytesOf)));
    }
    // Together: a reader that finds a wrong message fails the case at once, instead of leaving the sends waiting.
    await Promise.all([expectDelivered(ends, expected), ...sends]);
  });

  test("a sendBatch() of 10 000 small messages (four batches of 2 500) arrives complete and in order, and is received in batches", async (ends) => {
    const expected = run(0, 10_000, (seq) => 4 + (seq % 29));
    const sending = (async () => {
      for (let first = 0; first < expected.length; first += 2500) await ends.a.sendBatch(expected.slice(first, first + 2500).map(bytesOf));
    })();
    const [batches] = await Promise.all([expectDelivered(ends, expected), sending]);
    // receiveBatch() returns every message already received: 10 000 messages sent in four calls do not
    // come one per call.
    expect(batches.length).toBeLessThan(expected.length);
  });

  test("a sendBatch() that waits for room and times out is withdrawn whole: the peer gets none of it, and everything before and after, in order", async (ends) => {
    const { a, b } = ends;
    const { accepted, withdrawn, next } = await fill(a, 2 * bufferBound + 4 * 1024 * 1024, 8 * 1024, 8);
    expect(withdrawn.length).toBe(8);
    // A second batch, also timing out behind a full buffer, withdrawn too (or accepted, if room came).
    const second = run(next, 4, 3000);
    const secondOutcome = await outcome(a.sendBatch(second.map(bytesOf), { timeout: 50 }));
    if (secondOutcome !== "resolved") expect(secondOutcome.code).toBe("IPC_ERR_TIMEOUT");
    const after = run(next + 4, 50, (seq) => [0, 10, 5000][seq % 3]!);
    const expected = [...accepted, ...(secondOutcome === "resolved" ? second : []), ...after];
    // The reader drains the buffer; the later batch waits for room, then goes out after everything accepted.
    await Promise.all([readBatches(b, expected.length, {}, expected), a.sendBatch(after.map(bytesOf), WAIT)]);
    // Nothing of the withdrawn batches trails behind: the next thing after a close is the end.
    const closing = a.close(WAIT);
    expect(await b.receiveBatch(WAIT)).toBeUndefined();
    await closing;
  });

  test("a sendBatch() aborted while it waits for room rejects with AbortError and is withdrawn whole; a later batch arrives in order", async (ends) => {
    const { a, b } = ends;
    const filled = await fill(a, 2 * bufferBound + 4 * 1024 * 1024, 8 * 1024, 8);
    const accepted = [...filled.accepted];
    let next = filled.next;
    let aborted: (Error & { code?: string }) | undefined;
    // Until a batch is caught waiting (nothing reads, so the first normally is): start it, let the event loop
    // turn, and abort it if it has not been accepted by then.
    for (let attempt = 0; attempt < 10 && aborted === undefined; attempt++) {
      const batch = run(next, 8, 8 * 1024);
      next += 8;
      const controller = new AbortController();
      let settled = false;
      const sending = outcome(a.sendBatch(batch.map(bytesOf), { signal: controller.signal })).finally(() => (settled = true));
      await new Promise((resolve) => setImmediate(resolve));
      if (!settled) controller.abort(new Error("not this batch"));
      const result = await sending;
      if (result === "resolved") accepted.push(...batch);
      else aborted = result;
    }
    expect(aborted?.code).toBe("IPC_ERR_ABORTED");
    expect((aborted?.cause as Error | undefined)?.message).toBe("not this batch");
    const after = run(next, 20, 700);
    const expected = [...accepted, ...after];
    await Promise.all([readBatches(b, expected.length, {}, expected), a.sendBatch(after.map(bytesOf), WAIT)]);
    const closing = a.close(WAIT);
    expect(await b.receiveBatch(WAIT)).toBeUndefined();
    await closing;
  });

  test("a sendBatch() that gets room as the reader drains is accepted whole: aborting it once its first message is read changes nothing", async ({ a, b }) => {
    const { accepted, next } = await fill(a, 2 * bufferBound + 4 * 1024 * 1024, 8 * 1024, 8);
    // 512 KiB: more than some buffers hold (a transport that took a batch in parts would still be taking it).
    const waiting = run(next, 64, 8 * 1024);
    const controller = new AbortController();
    let settled = false;
    const sending = outcome(a.sendBatch(waiting.map(bytesOf), { signal: controller.signal })).finally(() => (settled = true));
    await readBatches(b, accepted.length, {}, accepted);
    expect(mismatch(await b.receive(WAIT), waiting[0]!, accepted.length)).toBeUndefined();
    // A message of the batch arrived, so the batch was accepted, and whole: an abort now must not withdraw
    // any of it (one event-loop turn first, for its promise to settle).
    await new Promise((resolve) => setImmediate(resolve));
    if (!settled) controller.abort(new Error("part of the batch arrived while the batch still waited"));
    expect(await sending).toBe("resolved");
    const after = run(next + waiting.length, 10, 100);
    const expected = [...waiting.slice(1), ...after];
    await Promise.all([readBatches(b, expected.length, {}, expected), a.sendBatch(after.map(bytesOf), WAIT)]);
  });

  test(
    "a batch whose cost (bytes + 128 per message) is over maxMessageSize + 128 rejects with MessageTooLargeError and sends nothing; at the bound it is accepted",
    async ({ a, b }) => {
      const max = a.maxMessageSize;
      const overhead = BATCH_MESSAGE_OVERHEAD;
      expect(overhead).toBe(128);
      // Two messages: cost = their bytes + 2 × 128, the bound max + 128.
      const half = Math.floor((max - overhead) / 2);
      const atBound = [run(1, 1, half)[0]!, run(2, 1, max - overhead - half)[0]!];
      const over = [run(3, 1, half)[0]!, run(4, 1, max - overhead - half + 1)[0]!];
      const overError = await rejection(a.sendBatch(over.map(bytesOf)));
      expect(overError.code).toBe("IPC_ERR_MESSAGE_TOO_LARGE");
      expect(overError.name).toBe("MessageTooLargeError");
      // Empty messages cost 128 each: so many fit, one more does not.
      const empties = Math.floor((max + overhead) / overhead);
      const tooManyEmpty = await rejection(a.sendBatch(Array.from({ length: empties + 1 }, () => new Uint8Array(0))));
      expect(tooManyEmpty.code).toBe("IPC_ERR_MESSAGE_TOO_LARGE");
      const sending = (async () => {
        await a.sendBatch(atBound.map(bytesOf));
        await a.sendBatch(Array.from({ length: empties }, () => new Uint8Array(0)));
        await a.send(bytesOf({ seq: 5, size: 10 }));
      })();
      const expected = [...atBound, ...run(0, empties, 0), { seq: 5, size: 10 }];
      await Promise.all([readBatches(b, expected.length, {}, expected), sending]);
    },
    // Small enough that the batch at the bound is quick to carry on every transport and layer.
    { kindOptions: { maxMessageSize: 64 * 1024 } },
  );

  test("a sendBatch() with one message over maxMessageSize rejects as send() does, and sends nothing", async ({ a, b }) => {
    const big = new Uint8Array(a.maxMessageSize + 1);
    const single = await rejection(a.send(big));
    const alone = await rejection(a.sendBatch([big]));
    expect(alone.code).toBe("IPC_ERR_MESSAGE_TOO_LARGE");
    expect(alone.message).toBe(single.message);
    const among = await rejection(a.sendBatch([bytesOf({ seq: 1, size: 10 }), big]));
    expect(among.code).toBe("IPC_ERR_MESSAGE_TOO_LARGE");
    await a.send(bytesOf({ seq: 2, size: 10 }));
    await readBatches(b, 1, {}, [{ seq: 2, size: 10 }]);
  });

  test("a sendBatch() of something other than an array of Uint8Array rejects with InvalidArgumentError and sends nothing", async ({ a, b }) => {
    const good = bytesOf({ seq: 1, size: 10 });
    const refusal = (batch: unknown): Promise<Error & { code?: string }> => {
      let sending: Promise<void>;
      try {
        sending = a.sendBatch(batch as Uint8Array[]);
      } catch (error) {
        throw new Error(`sendBatch(${String(batch)}) threw instead of rejecting: ${String(error)}`);
      }
      return rejection(sending);
    };
    for (const wrong of ["text", [1, 2], new ArrayBuffer(4), undefined, null]) {
      expect((await refusal([good, wrong])).code).toBe("IPC_ERR_INVALID_ARGUMENT");
      expect((await refusal([wrong])).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    }
    for (const notAnArray of [good, "text", undefined, { length: 1, 0: good }]) {
      expect((await refusal(notAnArray)).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    }
    await a.sendBatch([bytesOf({ seq: 2, size: 10 })]);
    await readBatches(b, 1, {}, [{ seq: 2, size: 10 }]);
  });

  test("a sendBatch() with an already-aborted signal rejects with AbortError carrying the reason, and sends nothing", async ({ a, b }) => {
    const reason = new Error("not this batch");
    const error = await rejection(a.sendBatch(run(1, 3, 10).map(bytesOf), { signal: AbortSignal.abort(reason) }));
    expect(error.code).toBe("IPC_ERR_ABORTED");
    expect(error.cause).toBe(reason);
    await a.sendBatch([bytesOf({ seq: 4, size: 10 })]);
    await readBatches(b, 1, {}, [{ seq: 4, size: 10 }]);
  });

  test("sendBatch([]) resolves at once while open and sends nothing", async ({ a, b }) => {
    await a.sendBatch([]);
    await a.sendBatch([], { signal: new AbortController().signal, timeout: 10_000 });
    await a.sendBatch([bytesOf({ seq: 1, size: 10 })]);
    await readBatches(b, 1, {}, [{ seq: 1, size: 10 }]);
  });

  test("sendBatch() after this side's close() rejects with ClosedError, an empty batch too; after the peer closed, too", async ({ a, b }) => {
    const closing = a.close(WAIT);
    const error = await rejection(a.sendBatch([new Uint8Array(1)]));
    expect(error.code).toBe("IPC_ERR_CLOSED");
    expect(error.message).toMatch(/closed by this side/);
    expect((await rejection(a.sendBatch([]))).code).toBe("IPC_ERR_CLOSED");
    expect(await b.receiveBatch(WAIT)).toBeUndefined();
    await closing;
    const fromPeer = await rejection(b.sendBatch([new Uint8Array(1)]));
    expect(fromPeer.code).toBe("IPC_ERR_CLOSED");
    expect(fromPeer.message).toMatch(/closed by the peer/);
  });

  test("abort(reason) rejects a waiting receiveBatch() with the reason, and sendBatch() and receiveBatch() after it", async ({ a }) => {
    const reason = new Error("stop");
    const waiting = a.receiveBatch();
    a.abort(reason);
    expect(await rejection(waiting)).toBe(reason);
    expect(await rejection(a.sendBatch([new Uint8Array(1)]))).toBe(reason);
    expect(await rejection(a.receiveBatch())).toBe(reason);
    expect(await rejection(a.closed)).toBe(reason);
  });
}
