import { describe, expect, it } from "vitest";
import { InboundStream, SendCredit, costOf } from "../src/flow.js";

describe("SendCredit", () => {
  it("lets a sender go while its credit is above zero, then waits for more", async () => {
    const credit = new SendCredit(100);
    expect(credit.ready()).toBeUndefined();
    credit.spend(86); // costs 86 + 64: a message larger than what is left still goes, the credit goes below zero
    const waiting = credit.ready();
    expect(waiting).toBeInstanceOf(Promise);
    credit.add(40); // -10: still nothing
    let resumed = false;
    void waiting!.then(() => (resumed = true));
    await Promise.resolve();
    expect(resumed).toBe(false);
    credit.add(20);
    await waiting;
    expect(credit.ready()).toBeUndefined();
  });

  it("fails a waiting sender, and every later one, when the stream ends", async () => {
    const credit = new SendCredit(0);
    const waiting = credit.ready()!;
    credit.fail(new Error("call over"));
    await expect(waiting).rejects.toThrow("call over");
    await expect(credit.ready()).rejects.toThrow("call over");
  });

  it("counts a message as its payload plus 64 bytes, so empty ones run credit out too (docs/wire.md §7.5)", () => {
    expect(costOf(0)).toBe(64);
    expect(costOf(10)).toBe(74);
  });
});

describe("InboundStream", () => {
  it("refuses a message the sender had no credit for", () => {
    const stream = new InboundStream<number>(
      10,
      () => undefined,
      () => undefined,
    );
    expect(stream.push(1, 8)).toBe(true);
    expect(stream.push(2, 8)).toBe(true); // 2 bytes of credit were left: allowed, now 6 over
    expect(stream.push(3, 1)).toBe(false);
    expect(stream.bufferedBytes).toBe(16);
  });

  it("grants the sender more once the reader has used half the window", async () => {
    const grants: number[] = [];
    const stream = new InboundStream<number>(
      100,
      (credit) => grants.push(credit),
      () => undefined,
    );
    for (let i = 0; i < 10; i++) expect(stream.push(i, 10)).toBe(true);
    const iterator = stream[Symbol.asyncIterator]();
    for (let i = 0; i < 4; i++) await iterator.next();
    expect(grants).toEqual([]);
    await iterator.next(); // 50 of 100 read: top the window up to 100 ahead of what was read
    expect(grants).toEqual([50]);
    for (let i = 5; i < 10; i++) expect((await iterator.next()).value).toBe(i);
    expect(grants).toEqual([50, 50]);
    expect(stream.push(10, 100)).toBe(true);
    expect(stream.push(11, 1)).toBe(false);
  });

  it("delivers what arrived before an end or a failure, then the end or the failure", async () => {
    const ended = new InboundStream<string>(
      100,
      () => undefined,
      () => undefined,
    );
    ended.push("a", 1);
    ended.end();
    const seen: string[] = [];
    for await (const value of ended) seen.push(value);
    expect(seen).toEqual(["a"]);

    const failed = new InboundStream<string>(
      100,
      () => undefined,
      () => undefined,
    );
    failed.push("b", 1);
    failed.fail(new Error("broken"));
    const iterator = failed[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe("b");
    await expect(iterator.next()).rejects.toThrow("broken");
  });

  it("drops what is queued when destroyed, and tells its owner when the reader leaves early", async () => {
    let left = 0;
    const stream = new InboundStream<string>(
      100,
      () => undefined,
      () => left++,
    );
    stream.push("x", 1);
    for await (const _value of stream) break;
    expect(left).toBe(1);
    expect(stream.finished).toBe(true);
    const other = new InboundStream<string>(
      100,
      () => undefined,
      () => undefined,
    );
    other.push("y", 1);
    other.destroy(new Error("gone"));
    await expect(other[Symbol.asyncIterator]().next()).rejects.toThrow("gone");
  });

  it("answers readers that wait in order", async () => {
    const stream = new InboundStream<number>(
      100,
      () => undefined,
      () => undefined,
    );
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    const second = iterator.next();
    stream.push(1, 1);
    stream.push(2, 1);
    expect((await first).value).toBe(1);
    expect((await second).value).toBe(2);
  });
});
