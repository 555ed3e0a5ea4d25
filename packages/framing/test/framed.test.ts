import { spawn } from "node:child_process";
import { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { FrameDecoder, framed } from "../src/index.js";

/** A duplex whose written bytes are recorded per write() / writev() call, and whose writes complete
 * only when `release()` is called (to hold the writer under backpressure). */
function recordingStream(autoComplete = true): {
  stream: Duplex;
  writes: Uint8Array[][];
  release(): void;
} {
  const writes: Uint8Array[][] = [];
  const held: (() => void)[] = [];
  const finish = (callback: () => void): void => {
    if (autoComplete) callback();
    else held.push(callback);
  };
  const stream = new Duplex({
    read() {},
    write(chunk: Uint8Array, _encoding, callback) {
      writes.push([chunk]);
      finish(callback);
    },
    writev(chunks, callback) {
      writes.push(chunks.map((c) => c.chunk as Uint8Array));
      finish(callback);
    },
  });
  return {
    stream,
    writes,
    release: () => {
      for (const cb of held.splice(0)) cb();
    },
  };
}

function frames(writes: Uint8Array[][]): number[] {
  const sizes: number[] = [];
  const decoder = new FrameDecoder(1 << 24, (f) => sizes.push(f.byteLength));
  for (const call of writes) for (const chunk of call) decoder.push(chunk);
  return sizes;
}

describe("framed() sending", () => {
  it("coalesces the sends of one tick into one write", async () => {
    const { stream, writes } = recordingStream();
    const connection = framed(stream);
    for (let i = 0; i < 900; i++) void connection.send(new Uint8Array(64));
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    expect(writes[0]).toHaveLength(1);
    expect(frames(writes)).toEqual(Array(900).fill(64));
  });

  it("writes each full 64 KiB slab at once, so the OS works while the sender goes on", async () => {
    const { stream, writes } = recordingStream();
    const connection = framed(stream);
    for (let i = 0; i < 3000; i++) void connection.send(new Uint8Array(64));
    // 3 slabs are full before the tick ends: they are already written.
    expect(writes.length).toBe(3);
    await new Promise((r) => setImmediate(r));
    expect(writes.length).toBe(4);
    for (const call of writes.slice(0, 3)) expect(call.reduce((n, c) => n + c.byteLength, 0)).toBeGreaterThanOrEqual(65_536);
    expect(frames(writes)).toEqual(Array(3000).fill(64));
  });

  it("reuses written-out slabs without corrupting frames still being written", async () => {
    const { stream, writes, release } = recordingStream(false);
    const connection = framed(stream, { highWaterMark: 1 << 20 });
    const copies: Uint8Array[][] = [];
    // Snapshot what reaches the stream's write() before its callback runs (after which a slab may be reused).
    const step = async (): Promise<void> => {
      await new Promise((r) => setImmediate(r));
      copies.push(...writes.splice(0).map((call) => call.map((c) => Uint8Array.from(c))));
      release();
    };
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 2000; i++) void connection.send(new Uint8Array(60).fill((round * 2000 + i) & 0xff));
      await step();
    }
    for (let i = 0; i < 20; i++) await step();
    const seen: number[] = [];
    const decoder = new FrameDecoder(1 << 20, (f) => {
      expect(f.every((b) => b === f[0])).toBe(true);
      seen.push(f[0]!);
    });
    for (const call of copies) for (const chunk of call) decoder.push(chunk);
    expect(seen).toEqual(Array.from({ length: 12_000 }, (_, i) => i & 0xff));
  });

  it("coalesces awaited sends too (a send resolves when accepted, not when written)", async () => {
    const { stream, writes } = recordingStream();
    const connection = framed(stream);
    for (let i = 0; i < 100; i++) await connection.send(new Uint8Array(10));
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
  });

  it("sends a large message's header and payload in one writev, without copying the payload", async () => {
    const { stream, writes } = recordingStream();
    const connection = framed(stream);
    const big = new Uint8Array(100_000).fill(1);
    await connection.send(new Uint8Array(3));
    await connection.send(big);
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    expect(writes[0]!.length).toBe(2);
    // Node's Writable wraps a Uint8Array in a Buffer view: same memory, so no copy was made.
    expect(writes[0]![1]!.buffer).toBe(big.buffer);
    expect(frames(writes)).toEqual([3, 100_000]);
  });

  it("waits once the high-water mark is reached, and resumes as writes complete", async () => {
    const { stream, writes, release } = recordingStream(false);
    const connection = framed(stream, { highWaterMark: 1000 });
    const accepted: number[] = [];
    const sends = Array.from({ length: 20 }, (_, i) => connection.send(new Uint8Array(100)).then(() => accepted.push(i)));
    await new Promise((r) => setImmediate(r));
    // 10 frames of 104 bytes pass the mark of 1000; the rest wait.
    expect(accepted).toHaveLength(10);
    while (accepted.length < 20) {
      release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(sends);
    release();
    expect(accepted).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(frames(writes)).toHaveLength(20);
  });
});

describe("framed() over a child's stdin and stdout", () => {
  it("talks to `cat` as a readable/writable pair and sees it close", async () => {
    const child = spawn("cat", { stdio: ["pipe", "pipe", "inherit"] });
    const connection = framed({ readable: child.stdout, writable: child.stdin });
    for (let i = 0; i < 100; i++) await connection.send(new Uint8Array(i * 100).fill(i));
    const sizes: number[] = [];
    const closing = connection.close({ timeout: 10_000 });
    for await (const message of connection) {
      expect(message.every((b) => b === sizes.length)).toBe(true);
      sizes.push(message.byteLength);
    }
    await closing;
    await expect(connection.closed).resolves.toBeUndefined();
    expect(sizes).toEqual(Array.from({ length: 100 }, (_, i) => i * 100));
  });

  it("reports a child killed mid-frame as ProtocolError, after the whole messages", async () => {
    // The child writes one whole frame and half of another, then is killed.
    const script = "process.stdout.write(Buffer.from([0,0,0,2,7,7,0,0,0,9,1,2]), () => console.error('written'))";
    const child = spawn(process.execPath, ["-e", `${script}; setInterval(() => {}, 1000)`], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const connection = framed({ readable: child.stdout, writable: child.stdin });
    await new Promise((resolve) => child.stderr.once("data", resolve));
    child.kill("SIGKILL");
    expect(await connection.receive({ timeout: 10_000 })).toEqual(new Uint8Array([7, 7]));
    await expect(connection.receive({ timeout: 10_000 })).rejects.toMatchObject({
      code: "IPC_ERR_PROTOCOL",
      message: expect.stringMatching(/2 of its 9 payload bytes arrived, 7 missing/),
    });
  });
});
