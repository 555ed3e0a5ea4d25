import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { HEADER_SIZE, MessageRing, SharedMemory } from "../src/index.js";
import { cleanUp, uniqueName } from "./helpers.js";

// A peer that breaks the ring protocol (docs/wire.md §5.5, "What a side checks") gets a ProtocolError on
// that ring, never bytes it did not publish and never a crash. The words are written by another process
// (fixtures/corrupt.mjs, through its own file descriptor on /dev/shm) or a second mapping of the segment.

const run = promisify(execFile);
const corrupter = fileURLToPath(new URL("./fixtures/corrupt.mjs", import.meta.url));
afterEach(cleanUp);

// Ring header words (byte offsets within the ring; the ring starts at the segment's data, file offset 64).
const CAPACITY = 0;
const VERSION = 4;
const HEAD = 64;
const PRODUCER_DONE = 68;
const TAIL = 128;
const DATA = 320;

/** Another process writes `words` (ring offset → u32) into the ring's segment. */
async function corrupt(name: string, words: Record<number, number>): Promise<void> {
  const args = Object.entries(words).map(([offset, value]) => `${HEADER_SIZE + Number(offset)}=${value}`);
  const { stdout } = await run(process.execPath, [corrupter, name, ...args]);
  expect(stdout.trim()).toBe("written");
}

const protocolError = expect.objectContaining({ name: "ProtocolError", code: "IPC_ERR_PROTOCOL" });

describe("MessageRing against a peer that breaks the protocol", () => {
  it("a record length of 0xFFFFFFF0 with head 16 is a ProtocolError, then the same error again: no bytes, no phantom messages", async () => {
    const name = uniqueName("hostile-length");
    using ring = MessageRing.create({ name, capacity: 1024 });
    await corrupt(name, { [HEAD]: 16, [DATA]: 0xffff_fff0, [DATA + 4]: 0 });
    expect(() => ring.tryRead()).toThrow(protocolError);
    expect(() => ring.tryRead()).toThrow(/length 4294967280/);
    expect(() => ring.readView()).toThrow(protocolError);
    expect(() => ring.drain(() => undefined)).toThrow(protocolError);
    await expect(ring.read({ timeout: 10_000 })).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
  });

  it("a length within maxRecord but beyond what the head published is a ProtocolError", async () => {
    const name = uniqueName("hostile-beyond-head");
    using ring = MessageRing.create({ name, capacity: 1024 });
    await corrupt(name, { [HEAD]: 16, [DATA]: 100, [DATA + 4]: 0 });
    expect(() => ring.tryRead()).toThrow(/beyond the 16 bytes published/);
  });

  it("unknown record flags, an end mark with a length, and padding that stops short of the end are ProtocolErrors", async () => {
    for (const [label, length, flags] of [
      ["flags", 0, 8],
      ["end", 8, 4],
      ["pad", 8, 1],
    ] as const) {
      const name = uniqueName(`hostile-${label}`);
      using ring = MessageRing.create({ name, capacity: 1024 });
      await corrupt(name, { [HEAD]: 16, [DATA]: length, [DATA + 4]: flags });
      expect(() => ring.tryRead(), label).toThrow(protocolError);
    }
  });

  it("a head that goes backwards, jumps past the capacity or is not 8-aligned is a ProtocolError", async () => {
    for (const [label, head] of [
      ["backwards", 16],
      ["past", 48 + 1024 + 8],
      ["unaligned", 52],
    ] as const) {
      const name = uniqueName(`hostile-head-${label}`);
      using ring = MessageRing.create({ name, capacity: 1024 });
      for (let i = 0; i < 3; i++) expect(ring.tryWrite(new Uint8Array(8).fill(i))).toBe(true);
      for (let i = 0; i < 3; i++) expect(ring.tryRead()).toEqual(new Uint8Array(8).fill(i));
      await corrupt(name, { [HEAD]: head });
      expect(() => ring.tryRead(), label).toThrow(protocolError);
    }
  });

  it("a consumer's tail that moves past what the producer published, or backwards, is a ProtocolError for the producer", async () => {
    for (const [label, tail] of [
      ["ahead", 64],
      ["backwards", 8],
    ] as const) {
      const name = uniqueName(`hostile-tail-${label}`);
      using ring = MessageRing.create({ name, capacity: 128 });
      for (let i = 0; i < 2; i++) expect(ring.tryWrite(new Uint8Array(8))).toBe(true); // head 32
      ring.tryRead(); // tail 16, seen by the producer on its next load
      expect(ring.free).toBe(128 - 16);
      await corrupt(name, { [TAIL]: tail });
      expect(() => ring.free, label).toThrow(protocolError);
      expect(() => ring.tryWrite(new Uint8Array(8)), label).toThrow(protocolError);
      await expect(ring.write(new Uint8Array(8))).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
    }
  });

  it("open() refuses a ring of another version, a capacity that is not a power of two or does not fit, and bad flag words", async () => {
    for (const [label, words, pattern] of [
      ["version", { [VERSION]: 2 }, /version 2/],
      ["capacity", { [CAPACITY]: 1000 }, /capacity 1000 is not a power of two/],
      ["too-big", { [CAPACITY]: 4096 }, /capacity 4096 does not fit/],
      ["done", { [PRODUCER_DONE]: 7 }, /producer-finished word is 7/],
      ["positions", { [HEAD]: 2048 }, /at most 1024 bytes apart/],
    ] as const) {
      const name = uniqueName(`hostile-open-${label}`);
      MessageRing.create({ name, capacity: 1024 }).close();
      await corrupt(name, words);
      let error: unknown;
      try {
        MessageRing.open(name).close();
      } catch (caught) {
        error = caught;
      }
      expect(error, label).toMatchObject({ code: "IPC_ERR_PROTOCOL", message: expect.stringMatching(pattern) });
    }
  });

  it("an honest ring opened midway is no violation: a new producer and a new consumer go on from its head and tail", () => {
    const name = uniqueName("honest-reopen");
    using first = MessageRing.create({ name, capacity: 1024 });
    for (let i = 0; i < 3; i++) expect(first.tryWrite(new Uint8Array(100).fill(i))).toBe(true);
    expect(first.tryRead()?.[0]).toBe(0);
    using producer = MessageRing.open(name);
    using consumer = MessageRing.open(name);
    expect(producer.free).toBe(1024 - 2 * 112);
    // 7 more records of 112 bytes fill the ring exactly: the last one wraps behind a 16-byte padding record.
    for (let i = 3; i < 10; i++) expect(producer.tryWrite(new Uint8Array(100).fill(i))).toBe(true);
    expect(producer.tryWrite(new Uint8Array(100))).toBe(false);
    const seen: number[] = [];
    for (let m; (m = consumer.tryRead()) instanceof Uint8Array; ) seen.push(m[0]!);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(producer.tryWrite(new Uint8Array(100).fill(10))).toBe(true);
    expect(consumer.tryRead()?.[0]).toBe(10);
  });

  it("a violation fails only that ring: another ring of the same process goes on", async () => {
    const bad = uniqueName("hostile-one");
    const good = uniqueName("hostile-other");
    using broken = MessageRing.create({ name: bad, capacity: 1024 });
    using healthy = MessageRing.create({ name: good, capacity: 1024 });
    using second = SharedMemory.open(bad); // a second mapping of the same segment, as a peer has
    new Int32Array(second.buffer, DATA, 2).set([-16, 0]);
    Atomics.store(new Int32Array(second.buffer, HEAD, 1), 0, 16);
    expect(() => broken.tryRead()).toThrow(protocolError);
    expect(healthy.tryWrite(new Uint8Array([1, 2, 3]))).toBe(true);
    expect(healthy.tryRead()).toEqual(new Uint8Array([1, 2, 3]));
  });
});
