import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { MessageRing } from "../src/index.js";
import { check, message } from "./fixtures/ring-content.mjs";
import { cleanUp, exited, uniqueName } from "./helpers.js";

const run = promisify(execFile);
afterEach(cleanUp);
const producer = fileURLToPath(new URL("./fixtures/ring-producer.mjs", import.meta.url));
const hasGcc = spawnSync("gcc", ["--version"]).status === 0;

describe("MessageRing in one process", () => {
  it("carries messages in order, refuses what does not fit, and frees space as it is read", () => {
    const name = uniqueName("ring-basic");
    using ring = MessageRing.create({ name, capacity: 256 });
    expect(ring.maxRecord).toBe(120);
    expect(ring.tryRead()).toBeUndefined();
    let written = 0;
    while (ring.tryWrite(new Uint8Array(40).fill(written))) written++;
    expect(written).toBe(5); // 5 records of 48 bytes in 256
    expect(ring.tryWrite(new Uint8Array(40))).toBe(false);
    for (let i = 0; i < 3; i++) expect(ring.tryRead()).toEqual(new Uint8Array(40).fill(i));
    // Space came back; the next records wrap around the end (behind a padding record).
    for (let i = 0; i < 3; i++) expect(ring.tryWrite(new Uint8Array(40).fill(10 + i))).toBe(true);
    const rest = [];
    for (let m; (m = ring.tryRead()) instanceof Uint8Array; ) rest.push(m[0]);
    expect(rest).toEqual([3, 4, 10, 11, 12]);
    expect(() => ring.tryWrite(new Uint8Array(121))).toThrow(expect.objectContaining({ code: "IPC_ERR_MESSAGE_TOO_LARGE" }));
  });

  it("lends a zero-copy view until release()", () => {
    const name = uniqueName("ring-view");
    using ring = MessageRing.create({ name, capacity: 1024 });
    ring.tryWrite(new Uint8Array([1, 2, 3]));
    ring.tryWrite(new Uint8Array([4]));
    const view = ring.readView() as Uint8Array;
    expect([...view]).toEqual([1, 2, 3]);
    expect(view.buffer).toBe(ring.memory!.buffer);
    expect(() => ring.readView()).toThrow(/release\(\) the previous view/);
    ring.release();
    expect([...(ring.readView() as Uint8Array)]).toEqual([4]);
    ring.release();
  });

  it("writes a batch as far as it fits and drains messages in place, in order", async () => {
    const name = uniqueName("ring-batch");
    using ring = MessageRing.create({ name, capacity: 256 });
    const batch = Array.from({ length: 8 }, (_, i) => new Uint8Array(40).fill(i));
    expect(ring.tryWriteBatch(batch)).toBe(5); // 48-byte records: 5 fit in 256
    const seen: number[][] = [];
    const take = (data: Uint8Array, offset: number, length: number): void => void seen.push([...data.subarray(offset, offset + length)]);
    expect(ring.drain(take, 3)).toBe(3);
    expect(ring.tryWriteBatch(batch.slice(5))).toBe(3); // the space of the three drained came back (the batch wraps)
    expect(ring.drain(take)).toBe(5);
    expect(seen.map((m) => m[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(seen.every((m) => m.length === 40)).toBe(true);
    // A handler that throws: its message counts as read, the error propagates, the rest stays.
    ring.tryWriteBatch(batch.slice(0, 3));
    expect(() =>
      ring.drain(() => {
        throw new Error("handler failed");
      }),
    ).toThrow("handler failed");
    expect(ring.tryRead()?.[0]).toBe(1);
    // A chunked message (longer than a record, shorter than the ring) comes whole; the end mark stops draining.
    expect(ring.tryRead()?.[0]).toBe(2);
    using roomy = MessageRing.create({ name: uniqueName("ring-batch-chunks"), capacity: 1024 });
    const chunked = new Uint8Array(700).map((_, i) => i);
    await roomy.write(chunked);
    const whole: Uint8Array[] = [];
    expect(roomy.drain((data, offset, length) => void whole.push(data.slice(offset, offset + length)))).toBe(1);
    expect(whole[0]).toEqual(chunked);
    await roomy.finish();
    expect(roomy.drain(take)).toBe(0);
    expect(roomy.tryRead()).toBeNull();
  });

  it("chunks a message longer than the ring and reassembles it", async () => {
    const name = uniqueName("ring-chunks");
    using ring = MessageRing.create({ name, capacity: 1024 });
    const big = message(499, ring.capacity); // longer than the ring
    const writing = ring.write(big);
    const received = await ring.read({ timeout: 10_000 });
    await writing;
    expect(check(received!, ring.capacity)).toBe(499);
  });

  it("ends reading after finish(), once everything before it was read", async () => {
    const name = uniqueName("ring-end");
    using ring = MessageRing.create({ name, capacity: 256 });
    ring.tryWrite(new Uint8Array([9]));
    await ring.finish();
    expect(ring.producerFinished).toBe(true);
    expect(await ring.read()).toEqual(new Uint8Array([9]));
    expect(await ring.read()).toBeUndefined();
    expect(ring.tryRead()).toBeNull();
  });

  it("rejects a bad capacity and a segment that is not a ring", () => {
    expect(() => MessageRing.create({ name: uniqueName("bad"), capacity: 1000 })).toThrow(/power of two/);
  });
});

describe("MessageRing across processes", () => {
  it("carries 2 000 000 messages of random sizes from another process, every one intact and in order", { timeout: 300_000 }, async () => {
    const name = uniqueName("ring-stress");
    using ring = MessageRing.create({ name, capacity: 1 << 16 });
    const count = 2_000_000;
    const { spawn } = await import("node:child_process");
    const writer = spawn(process.execPath, [producer, name, String(count), "stress"], { stdio: "inherit" });
    let next = 0;
    for (;;) {
      const received = await ring.read({ timeout: 60_000, maxMessageSize: 1 << 20 });
      if (received === undefined) break;
      const seq = check(received, ring.capacity);
      if (seq !== next) throw new Error(`message ${next} arrived as ${seq} (${received.byteLength} bytes)`);
      next++;
    }
    expect(next).toBe(count);
    expect((await exited(writer)).code).toBe(0);
  });

  it("a producer killed mid-write never shows a torn message: every whole one arrives, then PeerDiedError", { timeout: 60_000 }, async () => {
    const name = uniqueName("ring-kill");
    using ring = MessageRing.create({ name, capacity: 1 << 14 });
    const { spawn } = await import("node:child_process");
    const writer = spawn(process.execPath, [producer, name, "0", "until-killed"], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise((resolve) => writer.stdout!.once("data", resolve));
    let next = 0;
    // Read a while, with the producer writing (chunked messages included), then kill it mid-stream.
    while (next < 3000) {
      const received = await ring.read({ timeout: 20_000, maxMessageSize: 1 << 20 });
      expect(check(received!, ring.capacity)).toBe(next++);
    }
    writer.kill("SIGKILL");
    await exited(writer);
    // Every message it completed arrives, then the reader learns the producer died: no torn record, no
    // partial chunked message.
    const died = await (async () => {
      for (;;) {
        const received = await ring.read({ timeout: 20_000, maxMessageSize: 1 << 20 });
        expect(check(received!, ring.capacity)).toBe(next++);
      }
    })().catch((error: unknown) => error);
    expect(died).toMatchObject({ code: "IPC_ERR_PEER_DIED", pid: writer.pid });
    expect(ring.tryRead()).toBeUndefined();
  });

  it("a writer waiting for room learns that the consumer process died", { timeout: 60_000 }, async () => {
    const name = uniqueName("ring-consumer-dies");
    using ring = MessageRing.create({ name, capacity: 256, spin: 0 });
    const consumer = [
      "--input-type=module",
      "-e",
      `import { MessageRing } from "@ipc/shm"; const r = MessageRing.open("${name}"); console.log(new TextDecoder().decode(r.tryRead()));`,
    ];
    ring.tryWrite(new TextEncoder().encode("one"));
    const { stdout } = await run(process.execPath, consumer, { cwd: fileURLToPath(new URL("..", import.meta.url)) });
    expect(stdout.trim()).toBe("one"); // it read, so it recorded itself as the consumer, and then it exited
    while (ring.tryWrite(new Uint8Array(40)));
    await expect(ring.write(new Uint8Array(40), { timeout: 20_000 })).rejects.toMatchObject({ code: "IPC_ERR_PEER_DIED" });
  });

  it("a waiting reader sleeps (no spinning) and the producer's write wakes it", { timeout: 60_000 }, async () => {
    const name = uniqueName("ring-wake");
    using ring = MessageRing.create({ name, capacity: 4096, spin: 0 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const reading = ring.read({ timeout: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 100)); // the reader is asleep by now
    await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { MessageRing } from "@ipc/shm"; const r = MessageRing.open("${name}"); r.tryWrite(new TextEncoder().encode("wake up")); r.close();`,
      ],
      { cwd: fileURLToPath(new URL("..", import.meta.url)) },
    );
    expect(new TextDecoder().decode(await reading)).toBe("wake up");
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5); // the event loop ran while the reader waited
  });

  it("write() waits while the ring is full and goes on as the reader frees space", { timeout: 60_000 }, async () => {
    const name = uniqueName("ring-full");
    using ring = MessageRing.create({ name, capacity: 256, spin: 0 });
    const writes = Array.from({ length: 20 }, (_, i) => ring.write(new Uint8Array(40).fill(i)));
    let settled = 0;
    writes.forEach((w) => void w.then(() => settled++));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBeLessThan(20); // the ring holds 5 of them
    const got = [];
    while (got.length < 20) got.push((await ring.read({ timeout: 10_000 }))![0]);
    await Promise.all(writes);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it.skipIf(!hasGcc)(
    "a C producer written from docs/wire.md feeds a Node reader, waking it when it sleeps (skipped without gcc)",
    { timeout: 60_000 },
    async () => {
      const name = uniqueName("ring-c");
      using ring = MessageRing.create({ name, capacity: 1024, spin: 0 });
      const dir = mkdtempSync(join(tmpdir(), "ipc-ring-c-"));
      try {
        await run("gcc", [
          "-std=c11",
          "-O2",
          "-Wall",
          "-Werror",
          "-o",
          join(dir, "producer"),
          fileURLToPath(new URL("./fixtures/producer.c", import.meta.url)),
          "-lrt",
        ]);
        const producing = run(join(dir, "producer"), [`/${name}`, "5000"]);
        const got: string[] = [];
        for (let m; (m = await ring.read({ timeout: 20_000 })) !== undefined; ) got.push(new TextDecoder().decode(m));
        await producing;
        expect(got).toEqual(Array.from({ length: 5000 }, (_, i) => `message ${i}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
