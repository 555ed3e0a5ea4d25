import { describe, expect, it } from "vitest";
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
    const inbox = new Inbox({ highWaterMark: 100, onFull: () => events.push("full"), onDrain: () => events.push("drain") });
    for (let i = 0; i < 4; i++) inbox.push(bytes(30));
    expect(events).toEqual(["full"]);
    expect(inbox.hasRoom).toBe(false);
    expect(inbox.bufferedBytes).toBe(120);
    await inbox.receive(); // 90 left: above half
    expect(events).toEqual(["full"]);
    await inbox.receive(); // 60 left
    await inbox.receive(); // 30 left: at or below 50
    expect(events).toEqual(["full", "drain"]);
    expect(inbox.hasRoom).toBe(true);
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
