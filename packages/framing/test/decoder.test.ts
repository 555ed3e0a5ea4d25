import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameDecoder, LEND_KEEP_MAX, encodeFrame } from "../src/index.js";

/** Decodes `chunks` with a fresh decoder; returns the frames (copied) and the error, if any. */
function decodeAll(chunks: Uint8Array[], max = 1 << 24): { frames: number[][]; error?: { code?: string; message: string } } {
  const frames: number[][] = [];
  const decoder = new FrameDecoder(max, (f) => frames.push([...f]));
  try {
    for (const chunk of chunks) decoder.push(chunk);
    decoder.end();
  } catch (error) {
    return { frames, error: error as { code?: string; message: string } };
  }
  return { frames };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Splits `bytes` at the given cut points (sorted, deduplicated, within range). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.byteLength]) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  return chunks;
}

const messages = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 5000 }) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  ),
  { maxLength: 40 },
);

describe("FrameDecoder", () => {
  it("decodes every message sequence, however the stream is chunked", () => {
    fc.assert(
      fc.property(messages, fc.array(fc.nat(), { maxLength: 60 }), (msgs, cuts) => {
        const stream = concat(msgs.map(encodeFrame));
        const { frames, error } = decodeAll(split(stream, cuts));
        expect(error).toBeUndefined();
        expect(frames).toEqual(msgs.map((m) => [...m]));
      }),
      { numRuns: 300 },
    );
  });

  it("decodes a stream fed one byte at a time", () => {
    const msgs = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)];
    const stream = concat(msgs.map(encodeFrame));
    const chunks = Array.from(stream, (b) => new Uint8Array([b]));
    expect(decodeAll(chunks).frames).toEqual(msgs.map((m) => [...m]));
  });

  it("hands out a frame inside one chunk as a view of that chunk (no copy)", () => {
    const chunk = concat([encodeFrame(new Uint8Array([1, 2])), encodeFrame(new Uint8Array([3]))]);
    const frames: Uint8Array[] = [];
    new FrameDecoder(100, (f) => frames.push(f)).push(chunk);
    expect(frames.map((f) => f.buffer)).toEqual([chunk.buffer, chunk.buffer]);
    expect(frames.map((f) => f.byteOffset)).toEqual([4, 10]);
  });

  it("assembles a frame spanning chunks into one array of exactly its size", () => {
    const frames: Uint8Array[] = [];
    const decoder = new FrameDecoder(100, (f) => frames.push(f));
    const frame = encodeFrame(new Uint8Array(50).fill(5));
    decoder.push(frame.subarray(0, 2));
    decoder.push(frame.subarray(2, 30));
    expect(decoder.pendingBytes).toBe(30);
    decoder.push(frame.subarray(30));
    expect(frames[0]!.buffer.byteLength).toBe(50);
    expect(decoder.pendingBytes).toBe(0);
  });

  it("refuses a length over maxMessageSize after the frames before it, without allocating it", () => {
    const header = new Uint8Array([0xff, 0xff, 0xff, 0xf0]);
    const { frames, error } = decodeAll([concat([encodeFrame(new Uint8Array([9])), header])], 1000);
    expect(frames).toEqual([[9]]);
    expect(error?.code).toBe("IPC_ERR_FRAME_TOO_LARGE");
    expect(error?.message).toMatch(/4294967280 bytes, over this connection's maxMessageSize of 1000/);
  });

  it("refuses a length over the limit even when its header is split across chunks", () => {
    const { error } = decodeAll([new Uint8Array([0, 0]), new Uint8Array([4, 0])], 1000);
    expect(error?.code).toBe("IPC_ERR_FRAME_TOO_LARGE");
  });

  it("accepts a frame of exactly maxMessageSize", () => {
    expect(decodeAll([encodeFrame(new Uint8Array(1000))], 1000).frames[0]).toHaveLength(1000);
  });

  it("ignores everything after a failure", () => {
    const frames: Uint8Array[] = [];
    const decoder = new FrameDecoder(10, (f) => frames.push(f));
    expect(() => decoder.push(new Uint8Array([0, 0, 1, 0]))).toThrow();
    decoder.push(encodeFrame(new Uint8Array([1])));
    decoder.end();
    expect(frames).toEqual([]);
  });

  it("names the missing bytes when the stream ends inside a payload or a header", () => {
    const frame = encodeFrame(new Uint8Array(100));
    expect(decodeAll([frame.subarray(0, 30)]).error).toMatchObject({
      code: "IPC_ERR_PROTOCOL",
      message: expect.stringMatching(/26 of its 100 payload bytes arrived, 74 missing/),
    });
    expect(decodeAll([frame.subarray(0, 3)]).error).toMatchObject({
      code: "IPC_ERR_PROTOCOL",
      message: expect.stringMatching(/3 of its 4 length bytes arrived, 1 missing/),
    });
  });

  it("never throws anything but a typed error on random bytes, and never holds more than the limit", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), fc.array(fc.nat(), { maxLength: 20 }), (garbage, cuts) => {
        const max = 2048;
        const frames: Uint8Array[] = [];
        const decoder = new FrameDecoder(max, (f) => frames.push(f));
        try {
          for (const chunk of split(garbage, cuts)) {
            decoder.push(chunk);
            expect(decoder.pendingBytes).toBeLessThanOrEqual(max + 4);
          }
          decoder.end();
        } catch (error) {
          expect(["IPC_ERR_FRAME_TOO_LARGE", "IPC_ERR_PROTOCOL"]).toContain((error as { code?: string }).code);
        }
        for (const f of frames) expect(f.byteLength).toBeLessThanOrEqual(max);
      }),
      { numRuns: 500 },
    );
  });
});

describe("encodeFrame", () => {
  it("writes the bytes of docs/wire.md §1: 4-byte big-endian length, then the payload", () => {
    const frame = encodeFrame(new TextEncoder().encode("Message 1"));
    expect([...frame.subarray(0, 4)]).toEqual([0, 0, 0, 9]);
    expect(new TextDecoder().decode(frame.subarray(4))).toBe("Message 1");
    expect([...encodeFrame(new Uint8Array(0x01020304 & 0xffff))].slice(0, 4)).toEqual([0, 0, 0x03, 0x04]);
  });
});

describe("docs/wire.md examples", () => {
  const hex = (bytes: Uint8Array): string =>
    Buffer.from(bytes)
      .toString("hex")
      .replace(/(..)(?!$)/g, "$1 ");
  it("frames as documented", () => {
    expect(hex(encodeFrame(new TextEncoder().encode("Message 1")))).toBe("00 00 00 09 4d 65 73 73 61 67 65 20 31");
    const stream = concat([encodeFrame(new TextEncoder().encode("hi")), encodeFrame(new TextEncoder().encode("!")), encodeFrame(new Uint8Array(0))]);
    expect(hex(stream)).toBe("00 00 00 02 68 69 00 00 00 01 21 00 00 00 00");
    expect(decodeAll([stream]).frames).toEqual([[0x68, 0x69], [0x21], []]);
  });

  it("refuses 01 00 00 01 under the default 16 MiB limit", () => {
    expect(decodeAll([new Uint8Array([1, 0, 0, 1])]).error?.code).toBe("IPC_ERR_FRAME_TOO_LARGE");
  });
});

describe("FrameDecoder with lendFrames", () => {
  /** Decodes `chunks` lending frames; returns each frame copied during onFrame, and the arrays it was lent. */
  function decodeLent(chunks: Uint8Array[]): { frames: number[][]; lent: Uint8Array[] } {
    const frames: number[][] = [];
    const lent: Uint8Array[] = [];
    const decoder = new FrameDecoder(
      1 << 24,
      (f) => {
        frames.push([...f]);
        lent.push(f);
      },
      { lendFrames: true },
    );
    for (const chunk of chunks) decoder.push(chunk);
    decoder.end();
    return { frames, lent };
  }

  it("decodes what the default decoder does, however the stream is cut", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 40 }),
            fc.integer({ min: 1, max: 70_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
          ),
          { maxLength: 6 },
        ),
        fc.array(fc.nat(), { maxLength: 12 }),
        (messages, cuts) => {
          const chunks = split(concat(messages.map(encodeFrame)), cuts);
          expect(decodeLent(chunks).frames).toEqual(decodeAll(chunks).frames);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("assembles every frame that spans chunks in the same reused buffer", () => {
    const frames = [1, 2, 3].map((n) => encodeFrame(new Uint8Array(65_536).fill(n)));
    // Chunks of 64 KiB: every frame of 64 KiB + 4 spans two of them.
    const stream = concat(frames);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < stream.byteLength; at += 65_536) chunks.push(stream.slice(at, at + 65_536));
    const { frames: got, lent } = decodeLent(chunks);
    expect(got.map((f) => [f.length, f[0], f[65_535]])).toEqual([1, 2, 3].map((n) => [65_536, n, n]));
    expect(new Set(lent.map((f) => f.buffer)).size).toBe(1);
    expect(chunks.some((chunk) => chunk.buffer === lent[0]!.buffer)).toBe(false);
  });

  it("gives a frame over LEND_KEEP_MAX an array of its own, and keeps no buffer of that size", () => {
    const big = LEND_KEEP_MAX + 10;
    const stream = concat([encodeFrame(new Uint8Array(big).fill(1)), encodeFrame(new Uint8Array(big).fill(2))]);
    const chunks = split(stream, [1000, big, big + 1000]);
    const { frames, lent } = decodeLent(chunks);
    expect(frames.map((f) => [f.length, f[0], f[big - 1]])).toEqual([
      [big, 1, 1],
      [big, 2, 2],
    ]);
    expect(lent[0]!.buffer).not.toBe(lent[1]!.buffer);
  });

  it("hands out a frame inside one chunk as a view of that chunk", () => {
    const chunk = concat([encodeFrame(new Uint8Array([1, 2, 3])), encodeFrame(new Uint8Array([4]))]);
    const { lent } = decodeLent([chunk]);
    expect(lent.map((f) => f.buffer === chunk.buffer)).toEqual([true, true]);
  });
});

// Issue 17: framed() connections queue a read's frames in one step.
describe("FrameDecoder onFrames", () => {
  it("hands out each push()'s frames as one array, in order, across chunk boundaries", () => {
    const calls: number[][] = [];
    const decoder = new FrameDecoder(1 << 20, () => expect.unreachable("onFrame is not called"), {
      onFrames: (frames, bytes) => {
        expect(bytes).toBe(frames.reduce((sum, f) => sum + f.byteLength, 0));
        calls.push(frames.map((f) => f[0]!));
      },
    });
    const stream = concat([
      encodeFrame(Uint8Array.of(1)),
      encodeFrame(Uint8Array.of(2)),
      encodeFrame(new Uint8Array(100).fill(3)),
      encodeFrame(Uint8Array.of(4)),
    ]);
    decoder.push(stream.subarray(0, 12)); // frames 1 and 2, and part of 3's header
    decoder.push(stream.subarray(12, 60)); // the rest of 3's header and part of its payload: nothing
    decoder.push(stream.subarray(60)); // the rest of 3, and 4
    expect(calls).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("hands out the frames before a frame too large, then throws", () => {
    const calls: number[][] = [];
    const decoder = new FrameDecoder(10, () => undefined, { onFrames: (frames) => calls.push(frames.map((f) => f[0]!)) });
    const stream = concat([encodeFrame(Uint8Array.of(1)), encodeFrame(Uint8Array.of(2)), encodeFrame(new Uint8Array(11))]);
    expect(() => decoder.push(stream)).toThrow(expect.objectContaining({ code: "IPC_ERR_FRAME_TOO_LARGE" }));
    expect(calls).toEqual([[1, 2]]);
  });

  it("cannot be combined with lendFrames", () => {
    expect(() => new FrameDecoder(10, () => undefined, { onFrames: () => undefined, lendFrames: true })).toThrow(
      expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }),
    );
  });
});
