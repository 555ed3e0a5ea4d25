import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageView, ViewConnection } from "@ipc/core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FrameDecoder, FrameReader, encodeFrame, framed } from "../src/index.js";
import { ReadPool } from "../src/read-pool.js";

const dir = mkdtempSync(join(tmpdir(), "ipc-framing-views-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

/** A message whose bytes say which it is: every byte is (seq * 7 + index) & 0xff. */
function message(seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (seq * 7 + i) & 0xff;
  return bytes;
}

function isMessage(bytes: Uint8Array, seq: number, size: number): boolean {
  if (bytes.byteLength !== size) return false;
  for (let i = 0; i < size; i++) if (bytes[i] !== ((seq * 7 + i) & 0xff)) return false;
  return true;
}

/**
 * A framed() pair over a real Unix socket: the receiving end reads with a FrameReader (as @ipc/unix and
 * @ipc/tcp do) or with 'data' events; closed after the test.
 */
async function socketPair(withReader: boolean): Promise<{ sender: ViewConnection; receiver: ViewConnection; close(): Promise<void> }> {
  const path = join(dir, `v${++serial}.sock`);
  const server = net.createServer({ allowHalfOpen: true });
  server.listen(path);
  await once(server, "listening");
  const accepted = once(server, "connection") as Promise<[net.Socket]>;
  const reader = withReader ? new FrameReader() : undefined;
  const socket = net.connect({ path, allowHalfOpen: true, ...(reader === undefined ? {} : { onread: reader.onread }) });
  await once(socket, "connect");
  const [peer] = await accepted;
  const receiver = framed(socket, { reader });
  const sender = framed(peer);
  return {
    sender,
    receiver,
    close: async () => {
      sender.abort();
      receiver.abort();
      server.close();
      await once(server, "close");
    },
  };
}

describe("framed() receiveView()", () => {
  for (const withReader of [true, false]) {
    it(`lends a steady stream of 64 KiB messages from a few recycled read buffers (${withReader ? "FrameReader" : "'data' events"})`, async () => {
      const { sender, receiver, close } = await socketPair(withReader);
      try {
        const count = 400;
        const size = 64 * 1024;
        const sending = (async () => {
          for (let seq = 0; seq < count; seq++) await sender.send(message(seq, size));
        })();
        const buffers = new Set<ArrayBufferLike>();
        let pooled = 0;
        for (let seq = 0; seq < count; seq++) {
          const view = (await receiver.receiveView())!;
          expect(isMessage(view.bytes, seq, size)).toBe(true);
          // Node's own read chunks are fresh each time; the buffers the connection reads or assembles into are its pool's.
          if (withReader || view.bytes.byteOffset === 0) {
            buffers.add(view.bytes.buffer);
            pooled++;
          }
          view.release();
        }
        await sending;
        // Memory reused: far fewer buffers than messages (what one high-water mark of them needs, and a few).
        expect(pooled).toBeGreaterThan(count / 2);
        expect(buffers.size).toBeLessThan(16);
      } finally {
        await close();
      }
    });
  }

  it("a message from receive() after views were lent is a copy that later reads do not overwrite", async () => {
    const { sender, receiver, close } = await socketPair(true);
    try {
      await sender.send(message(0, 70_000));
      (await receiver.receiveView())!.release();
      await sender.send(message(1, 70_000));
      const kept = (await receiver.receive())!;
      for (let seq = 2; seq < 50; seq++) {
        await sender.send(message(seq, 70_000));
        (await receiver.receiveView())!.release();
      }
      expect(isMessage(kept, 1, 70_000)).toBe(true);
    } finally {
      await close();
    }
  });

  it("a receive() waiting from before the first receiveView() gets a message that later reads do not overwrite", async () => {
    const { sender, receiver, close } = await socketPair(true);
    try {
      const early = receiver.receive();
      const view = receiver.receiveView();
      await sender.send(message(0, 65_536));
      await sender.send(message(1, 65_536));
      const first = (await early)!;
      (await view)!.release();
      for (let seq = 2; seq < 40; seq++) {
        await sender.send(message(seq, 65_536));
        (await receiver.receiveView())!.release();
      }
      expect(isMessage(first, 0, 65_536)).toBe(true);
    } finally {
      await close();
    }
  });

  it("a receive waiting in line behind a receiveViews() leaves it when its signal aborts or its timeout ends, and nothing is lost", async () => {
    const { sender, receiver, close } = await socketPair(true);
    try {
      (await Promise.all([sender.send(message(0, 64)), receiver.receiveViews()]))[1]!.release(); // runs from now on
      const first = receiver.receiveViews(); // waits for data: the receives below wait in line behind it
      const controller = new AbortController();
      const aborted = receiver.receive({ signal: controller.signal });
      controller.abort(new Error("not needed"));
      await expect(aborted).rejects.toMatchObject({ code: "IPC_ERR_ABORTED" });
      // A timeout counts from the call, not from the turn: 50 ms pass while the first receive still waits.
      await expect(receiver.receive({ timeout: 50 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
      const later = receiver.receive({ timeout: 60_000 });
      await sender.sendBatch([message(1, 64), message(2, 64)]);
      const batch = (await first)!;
      const seqs = Array.from({ length: batch.count }, (_, i) => (isMessage(batch.at(i), i + 1, 64) ? i + 1 : -1));
      batch.release();
      expect(seqs[0]).toBe(1);
      // Message 2 came in the batch or goes to the receive that stayed in line: either way it is not lost.
      if (seqs.length === 1) expect(isMessage((await later)!, 2, 64)).toBe(true);
      else {
        expect(seqs).toEqual([1, 2]);
        await sender.send(message(3, 64));
        expect(isMessage((await later)!, 3, 64)).toBe(true);
      }
    } finally {
      await close();
    }
  });
});

describe("FrameDecoder with a ReadPool", () => {
  it("frames stay intact until dropped, however reads fill the pooled buffers and whenever frames are dropped", () => {
    // Many equal large frames (their reads reuse buffers of one size) among small ones and odd sizes.
    const sizes = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 3000 }) },
      { weight: 3, arbitrary: fc.constant(64 * 1024) },
      { weight: 1, arbitrary: fc.integer({ min: 16 * 1024, max: 140_000 }) },
    );
    fc.assert(
      fc.property(
        fc.array(sizes, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 150_000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(4), { minLength: 1, maxLength: 8 }),
        (lengths, reads, holdFor) => {
          const pool = new ReadPool(256 * 1024);
          const held: { frame: Uint8Array; seq: number; until: number }[] = [];
          let seq = 0;
          let step = 0;
          const decoder = new FrameDecoder(1 << 24, () => undefined, {
            onFrames: (frames) => {
              for (const frame of frames) held.push({ frame, seq: seq++, until: step + holdFor[seq % holdFor.length]! });
            },
          });
          decoder.usePool(pool);
          const stream = Buffer.concat(lengths.map((n, i) => encodeFrame(message(i, n))));
          let at = 0;
          while (at < stream.byteLength) {
            const target = decoder.readBuffer();
            const n = Math.min(target.byteLength, stream.byteLength - at, reads[step % reads.length]!);
            target.set(stream.subarray(at, at + n));
            at += n;
            decoder.written(n);
            step++;
            // Every frame still held is intact; those whose time came are dropped (their buffers may be reused).
            for (let i = held.length - 1; i >= 0; i--) {
              const { frame, seq: s, until } = held[i]!;
              expect(isMessage(frame, s, lengths[s]!)).toBe(true);
              if (until <= step) {
                pool.drop(frame);
                held.splice(i, 1);
              }
            }
          }
          decoder.end();
          expect(seq).toBe(lengths.length);
          for (const { frame, seq: s } of held) expect(isMessage(frame, s, lengths[s]!)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a frame over maxMessageSize throws before anything of its claimed size is taken from the pool", () => {
    const pool = new ReadPool(256 * 1024);
    const decoder = new FrameDecoder(1024, () => undefined, { onFrames: () => undefined });
    decoder.usePool(pool);
    const target = decoder.readBuffer();
    expect(target.byteLength).toBeLessThanOrEqual(64 * 1024);
    new DataView(target.buffer, target.byteOffset).setUint32(0, 1 << 30);
    expect(() => decoder.written(4)).toThrow(expect.objectContaining({ code: "IPC_ERR_FRAME_TOO_LARGE" }));
  });
});

export type { MessageView };
