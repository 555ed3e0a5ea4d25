import { describe, expect, it } from "vitest";
import { MESSAGE_OVERHEAD } from "../src/inbox.js";
import { Inbox } from "../src/transport.js";

const bytes = (n: number, fill = 0): Uint8Array => new Uint8Array(n).fill(fill);

describe("Inbox", () => {
  it("hands out messages in order, to waiting readers first", async () => {
    const inbox = new Inbox({ highWaterMark: 100 });
    const waiting = inbox.receive();
    inbox.push(bytes(1, 1));
    inbox.push(bytes(1, 2));
    expect((await waiting)?.[0]).toBe(1);
    expect((await inbox.receive())?.[0]).toBe(2);
  });

  it("calls onFull at the high-water mark and onDrain at half of it", async () => {
    const events: string[] = [];
    const each = 30 + MESSAGE_OVERHEAD;
    const inbox = new Inbox({ highWaterMark: 4 * each, onFull: () => events.push("full"), onDrain: () => events.push("drain") });
    for (let i = 0; i < 4; i++) inbox.push(bytes(30));
    expect(events).toEqual(["full"]);
    expect(inbox.hasRoom).toBe(false);
    expect(inbox.bufferedBytes).toBe(4 * each);
    await inbox.receive(); // 3 left: above half
    expect(events).toEqual(["full"]);
    await inbox.receive(); // 2 left: at half
    expect(events).toEqual(["full", "drain"]);
    expect(inbox.hasRoom).toBe(true);
  });

  // Issue 16.1: an empty message is not free, or a flood of them is never paused (docs/wire.md §1, "Limits").
  it("charges every message a fixed overhead, so empty messages fill the high-water mark too", () => {
    let full = false;
    const inbox = new Inbox({ highWaterMark: 64 * 1024, onFull: () => (full = true) });
    let pushed = 0;
    while (!full) {
      inbox.push(new Uint8Array(0));
      pushed++;
    }
    expect(pushed).toBe((64 * 1024) / MESSAGE_OVERHEAD);
  });

  it("charges a message for what it pins, and for memory charged after it was queued", () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    const chunk = new Uint8Array(4096);
    inbox.push(chunk.subarray(0, 10), 4096);
    expect(inbox.bufferedBytes).toBe(4096 + MESSAGE_OVERHEAD);
    inbox.charge(100);
    expect(inbox.bufferedBytes).toBe(4196 + MESSAGE_OVERHEAD);
    void inbox.receive();
    expect(inbox.bufferedBytes).toBe(0);
    inbox.charge(100); // nothing queued: the reader holds it now
    expect(inbox.bufferedBytes).toBe(0);
  });

  it("ends cleanly only after the queued messages", async () => {
    const inbox = new Inbox({ highWaterMark: 100 });
    inbox.push(bytes(1, 9));
    inbox.end();
    inbox.push(bytes(1, 10)); // after the end: ignored
    expect((await inbox.receive())?.[0]).toBe(9);
    expect(await inbox.receive()).toBeUndefined();
    expect(await inbox.receive()).toBeUndefined();
  });

  it("fails only after the queued messages, and keeps failing", async () => {
    const inbox = new Inbox({ highWaterMark: 100 });
    const boom = new Error("boom");
    inbox.push(bytes(1, 9));
    inbox.fail(boom);
    expect((await inbox.receive())?.[0]).toBe(9);
    await expect(inbox.receive()).rejects.toBe(boom);
    await expect(inbox.receive()).rejects.toBe(boom);
  });

  it("destroy() drops the queue and fails readers at once", async () => {
    const inbox = new Inbox({ highWaterMark: 100 });
    inbox.push(bytes(1));
    const boom = new Error("gone");
    inbox.destroy(boom);
    expect(inbox.length).toBe(0);
    await expect(inbox.receive()).rejects.toBe(boom);
  });

  it("a receive that times out takes nothing: the next message goes to the next reader", async () => {
    const inbox = new Inbox({ highWaterMark: 100 });
    await expect(inbox.receive({ timeout: 1 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    inbox.push(bytes(1, 5));
    expect((await inbox.receive())?.[0]).toBe(5);
  });

  it("for-await yields every message and ends; breaking out does not end the inbox", async () => {
    const inbox = new Inbox({ highWaterMark: 1000 });
    for (let i = 0; i < 5; i++) inbox.push(bytes(1, i));
    const first: number[] = [];
    for await (const m of inbox) {
      first.push(m[0]!);
      if (first.length === 2) break;
    }
    inbox.end();
    const rest: number[] = [];
    for await (const m of inbox) rest.push(m[0]!);
    expect(first).toEqual([0, 1]);
    expect(rest).toEqual([2, 3, 4]);
  });

  it("stays correct over many messages with interleaved reads (queue compaction)", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 30 });
    let next = 0;
    let seq = 0;
    // What came out of order, checked once at the end (100 000 expect() calls cost more than the inbox).
    const wrong: [expected: number, got: number | undefined][] = [];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3000; i++) inbox.push(new Uint8Array(new Uint32Array([seq++]).buffer));
      for (let i = 0; i < 2000; i++) {
        const m = await inbox.receive();
        const got = new Uint32Array(m!.buffer, m!.byteOffset, 1)[0];
        if (got !== next) wrong.push([next, got]);
        next++;
      }
    }
    expect(wrong).toEqual([]);
    expect(next).toBe(50 * 2000);
    expect(inbox.length).toBe(50 * 1000);
  });
});

describe("Inbox.receiveBatch", () => {
  it("takes every queued message at once, in order, within maxMessages and maxBytes", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    for (let i = 0; i < 10; i++) inbox.push(bytes(10, i));
    expect((await inbox.receiveBatch({ maxMessages: 3 }))?.map((m) => m[0])).toEqual([0, 1, 2]);
    expect((await inbox.receiveBatch({ maxBytes: 25 }))?.map((m) => m[0])).toEqual([3, 4]);
    expect((await inbox.receiveBatch())?.map((m) => m[0])).toEqual([5, 6, 7, 8, 9]);
    expect(inbox.length).toBe(0);
  });

  it("returns the first message even when it is larger than maxBytes", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    inbox.push(bytes(100, 1));
    inbox.push(bytes(1, 2));
    expect((await inbox.receiveBatch({ maxBytes: 10 }))?.map((m) => m.byteLength)).toEqual([100]);
  });

  it("waits for a message, then hands out everything pushed in the same turn together", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    const waiting = inbox.receiveBatch();
    for (let i = 0; i < 5; i++) inbox.push(bytes(1, i));
    expect((await waiting)?.map((m) => m[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it("never changes a batch once its reader has it: later messages wait for the next call", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    const waiting = inbox.receiveBatch({ maxMessages: 3 });
    for (let i = 0; i < 5; i++) inbox.push(bytes(1, i)); // the first three fill the batch, two queue
    const batch = await waiting;
    inbox.push(bytes(1, 5));
    expect(batch?.map((m) => m[0])).toEqual([0, 1, 2]);
    expect((await inbox.receiveBatch())?.map((m) => m[0])).toEqual([3, 4, 5]);
  });

  it("keeps the order of readers waiting with receive(), receiveBatch() and the iterator", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    const first = inbox.receive();
    const batch = inbox.receiveBatch({ maxMessages: 2 });
    const next = inbox[Symbol.asyncIterator]().next();
    const last = inbox.receive();
    for (let i = 0; i < 5; i++) inbox.push(bytes(1, i));
    expect((await first)?.[0]).toBe(0);
    expect((await batch)?.map((m) => m[0])).toEqual([1, 2]);
    expect((await next).value?.[0]).toBe(3);
    expect((await last)?.[0]).toBe(4);
  });

  it("resolves undefined at a clean end and rejects with the failure, after the queued messages", async () => {
    const ended = new Inbox({ highWaterMark: 100 });
    ended.push(bytes(1));
    ended.end();
    expect(await ended.receiveBatch()).toHaveLength(1);
    expect(await ended.receiveBatch()).toBeUndefined();
    const failed = new Inbox({ highWaterMark: 100 });
    const waiting = failed.receiveBatch();
    failed.push(bytes(1));
    failed.fail(new Error("broken"));
    expect(await waiting).toHaveLength(1);
    await expect(failed.receiveBatch()).rejects.toThrow("broken");
  });

  it("charges, calls onTake per message and onDrain once the batch frees the queue", async () => {
    const events: string[] = [];
    const each = 10 + MESSAGE_OVERHEAD;
    const inbox = new Inbox({
      highWaterMark: 4 * each,
      onFull: () => events.push("full"),
      onDrain: () => events.push("drain"),
      onTake: () => events.push("take"),
    });
    for (let i = 0; i < 4; i++) inbox.push(bytes(10));
    expect(await inbox.receiveBatch()).toHaveLength(4);
    // The batch is taken in one step: one drain, then onTake for each message before the reader sees them.
    expect(events).toEqual(["full", "drain", "take", "take", "take", "take"]);
    expect(inbox.bufferedBytes).toBe(0);
  });

  it("refuses bounds that are not positive integers with InvalidArgumentError", async () => {
    const inbox = new Inbox({ highWaterMark: 100 });
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(inbox.receiveBatch({ maxMessages: bad })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
      await expect(inbox.receiveBatch({ maxBytes: bad })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    }
  });

  it("times out leaving the next message in place", async () => {
    const inbox = new Inbox({ highWaterMark: 100 });
    await expect(inbox.receiveBatch({ timeout: 0 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    inbox.push(bytes(1, 7));
    expect((await inbox.receive())?.[0]).toBe(7);
  });
});

describe("Inbox batchBytes", () => {
  it("is receiveBatch()'s default maxBytes, in place of the high-water mark", async () => {
    const inbox = new Inbox({ highWaterMark: Number.MAX_SAFE_INTEGER, batchBytes: 25 });
    for (let i = 0; i < 5; i++) inbox.push(bytes(10, i));
    expect((await inbox.receiveBatch())?.map((m) => m[0])).toEqual([0, 1]);
    expect((await inbox.receiveBatch({ maxBytes: 1000 }))?.map((m) => m[0])).toEqual([2, 3, 4]);
  });
});

// Issue 17: a framed connection pushes a read's frames as one array.
describe("Inbox.pushMany", () => {
  const run = (from: number, n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => bytes(1, from + i));

  it("queues the messages in order, each charged its bytes plus the overhead, with one full check", async () => {
    const events: string[] = [];
    const each = 1 + MESSAGE_OVERHEAD;
    const inbox = new Inbox({ highWaterMark: 4 * each, onFull: () => events.push("full"), onDrain: () => events.push("drain") });
    inbox.push(bytes(1, 0));
    inbox.pushMany(run(1, 4));
    expect(events).toEqual(["full"]);
    expect(inbox.bufferedBytes).toBe(5 * each);
    expect(inbox.length).toBe(5);
    expect((await inbox.receiveBatch({ maxMessages: 3 }))?.map((m) => m[0])).toEqual([0, 1, 2]);
    expect(events).toEqual(["full", "drain"]);
    expect((await inbox.receive())?.[0]).toBe(3);
    expect((await inbox.receiveBatch())?.map((m) => m[0])).toEqual([4]);
    expect(inbox.bufferedBytes).toBe(0);
  });

  it("hands a waiting receiveBatch() the array itself when it all fits, open to pushes in the same turn", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    const waiting = inbox.receiveBatch();
    const messages = run(0, 3);
    inbox.pushMany(messages);
    inbox.pushMany(run(3, 2));
    inbox.push(bytes(1, 5));
    const batch = await waiting;
    expect(batch).toBe(messages);
    expect(batch?.map((m) => m[0])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(inbox.bufferedBytes).toBe(0);
  });

  it("takes the bytes of all the messages from the caller when given, and still keeps a reader's bounds", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    const whole = inbox.receiveBatch();
    const messages = run(0, 3);
    inbox.pushMany(messages, 3);
    expect(await whole).toBe(messages);
    const bounded = inbox.receiveBatch({ maxBytes: 2 });
    inbox.pushMany(run(3, 3), 3);
    expect((await bounded)?.map((m) => m[0])).toEqual([3, 4]);
    expect((await inbox.receiveBatch())?.map((m) => m[0])).toEqual([5]);
  });

  it("serves waiting readers in order within their bounds and queues the rest", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    const first = inbox.receive();
    const batch = inbox.receiveBatch({ maxMessages: 2 });
    const next = inbox[Symbol.asyncIterator]().next();
    const bounded = inbox.receiveBatch({ maxBytes: 2 });
    inbox.pushMany(run(0, 8));
    expect((await first)?.[0]).toBe(0);
    expect((await batch)?.map((m) => m[0])).toEqual([1, 2]);
    expect((await next).value?.[0]).toBe(3);
    expect((await bounded)?.map((m) => m[0])).toEqual([4, 5]);
    expect(inbox.length).toBe(2);
    expect(inbox.bufferedBytes).toBe(2 * (1 + MESSAGE_OVERHEAD));
    expect((await inbox.receiveBatch())?.map((m) => m[0])).toEqual([6, 7]);
  });

  it("never changes a batch once its reader has it", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    const waiting = inbox.receiveBatch();
    inbox.pushMany(run(0, 2));
    const batch = await waiting;
    inbox.pushMany(run(2, 2));
    expect(batch?.map((m) => m[0])).toEqual([0, 1]);
    expect((await inbox.receiveBatch())?.map((m) => m[0])).toEqual([2, 3]);
  });

  it("calls onTake for every message handed out, and keeps the charge of queued ones for charge()", async () => {
    const taken: number[] = [];
    const inbox = new Inbox({ highWaterMark: 1 << 20, onTake: (m) => taken.push(m[0]!) });
    const waiting = inbox.receive();
    inbox.pushMany(run(0, 3));
    inbox.charge(100);
    expect(inbox.bufferedBytes).toBe(2 * (1 + MESSAGE_OVERHEAD) + 100);
    expect((await waiting)?.[0]).toBe(0);
    expect((await inbox.receiveBatch())?.map((m) => m[0])).toEqual([1, 2]);
    expect(taken).toEqual([0, 1, 2]);
    expect(inbox.bufferedBytes).toBe(0);
  });

  it("is ignored once finished, and an end follows the queued messages", async () => {
    const inbox = new Inbox({ highWaterMark: 1 << 20 });
    inbox.pushMany(run(0, 2));
    inbox.end();
    inbox.pushMany(run(2, 2));
    expect((await inbox.receiveBatch())?.map((m) => m[0])).toEqual([0, 1]);
    expect(await inbox.receiveBatch()).toBeUndefined();
  });

  it("charges empty messages the overhead, so a read of empty frames fills the high-water mark", () => {
    let full = false;
    const inbox = new Inbox({ highWaterMark: 64 * MESSAGE_OVERHEAD, onFull: () => (full = true) });
    inbox.pushMany(Array.from({ length: 63 }, () => new Uint8Array(0)));
    expect(full).toBe(false);
    inbox.pushMany([new Uint8Array(0)]);
    expect(full).toBe(true);
  });
});

describe("Inbox onTakeMany", () => {
  const run = (from: number, count: number): Uint8Array[] => Array.from({ length: count }, (_, i) => bytes(1 + i, from + i));
  const hooks = (onTake: boolean) => {
    const calls: { first: number; count: number; bytes: number }[] = [];
    const singles: number[] = [];
    const inbox = new Inbox({
      highWaterMark: 1 << 20,
      onTakeMany: (messages, from, to, total) => calls.push({ first: messages[from]![0]!, count: to - from, bytes: total }),
      ...(onTake ? { onTake: (m: Uint8Array) => void singles.push(m[0]!) } : {}),
    });
    return { inbox, calls, singles };
  };

  it("reports each batch taken from the queue once, with its count and the sum of its lengths", async () => {
    const { inbox, calls } = hooks(false);
    inbox.pushMany(run(0, 4));
    expect(calls).toEqual([]);
    expect((await inbox.receiveBatch({ maxMessages: 3 }))?.map((m) => m[0])).toEqual([0, 1, 2]);
    expect(calls).toEqual([{ first: 0, count: 3, bytes: 1 + 2 + 3 }]);
    expect((await inbox.receiveBatch())?.map((m) => m[0])).toEqual([3]);
    expect(calls[1]).toEqual({ first: 3, count: 1, bytes: 4 });
  });

  it("reports a batch handed to a waiting reader, and the messages pushed into it in the same turn, before it is seen", async () => {
    const { inbox, calls } = hooks(false);
    const waiting = inbox.receiveBatch();
    inbox.pushMany(run(0, 2));
    inbox.pushMany(run(2, 3));
    inbox.push(bytes(7, 5));
    // Every message in the batch was reported before its reader runs.
    const reported = (): number => calls.reduce((n, c) => n + c.count, 0);
    const batch = await waiting;
    expect(batch?.length).toBe(6);
    expect(reported()).toBe(6);
    expect(calls.reduce((n, c) => n + c.bytes, 0)).toBe(1 + 2 + 1 + 2 + 3 + 7);
    expect(calls.slice(0, 2)).toEqual([
      { first: 0, count: 2, bytes: 3 },
      { first: 2, count: 3, bytes: 6 },
    ]);
  });

  it("reports a message taken alone to onTake when given, else as a group of one; never both", async () => {
    for (const withOnTake of [true, false]) {
      const { inbox, calls, singles } = hooks(withOnTake);
      const waiting = inbox.receive();
      inbox.push(bytes(3, 9));
      await waiting;
      inbox.pushMany(run(0, 3));
      await inbox.receive();
      expect(await inbox.receiveBatch()).toHaveLength(2);
      if (withOnTake) {
        expect(singles).toEqual([9, 0]);
        expect(calls).toEqual([{ first: 1, count: 2, bytes: 5 }]);
      } else {
        expect(singles).toEqual([]);
        expect(calls).toEqual([
          { first: 9, count: 1, bytes: 3 },
          { first: 0, count: 1, bytes: 1 },
          { first: 1, count: 2, bytes: 5 },
        ]);
      }
    }
  });
});
