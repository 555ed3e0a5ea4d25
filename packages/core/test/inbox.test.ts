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
