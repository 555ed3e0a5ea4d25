/**
 * Properties of FrameDecoder, the decoder of every byte a stream peer sends (docs/wire.md §1): any valid
 * stream decodes to exactly its messages however it is split or read; any byte sequence decodes to what the
 * format says (the frames before a bad one, then a typed error), never to a frame over `maxMessageSize`; a
 * hostile length is never allocated. Seed and runs: see fc-params.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameDecoder, HEADER_SIZE, encodeFrame } from "../../src/index.js";
import { params } from "./fc-params.js";

type Ending = "clean" | "too-large" | "truncated";

interface Decoded {
  readonly frames: Uint8Array[];
  readonly ending: Ending;
  /** The error thrown, if any. */
  readonly error?: unknown;
}

const MiB = 1024 * 1024;

/** What docs/wire.md §1 says `stream` is for a receiver whose limit is `max`. */
function reference(stream: Uint8Array, max: number): Decoded {
  const frames: Uint8Array[] = [];
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  let at = 0;
  while (at < stream.byteLength) {
    if (stream.byteLength - at < HEADER_SIZE) return { frames, ending: "truncated" };
    const length = view.getUint32(at);
    if (length > max) return { frames, ending: "too-large" };
    if (stream.byteLength - at - HEADER_SIZE < length) return { frames, ending: "truncated" };
    frames.push(stream.slice(at + HEADER_SIZE, at + HEADER_SIZE + length));
    at += HEADER_SIZE + length;
  }
  return { frames, ending: "clean" };
}

/** The ending a decoder's error stands for; a crash (anything but the two typed errors) fails the property. */
function endingOf(error: unknown): Ending {
  const code = (error as { code?: unknown } | null)?.code;
  // An over-limit length may also be reported as a ProtocolError (text written on a binary channel, docs/wire.md §6.1).
  if (code === "IPC_ERR_FRAME_TOO_LARGE") return "too-large";
  if (code === "IPC_ERR_PROTOCOL") return "truncated";
  throw new Error(`the decoder threw something other than FrameTooLargeError or ProtocolError: ${String(error)}`, { cause: error });
}

/** Feeds `chunks` with push(), then end(). Frames are copied as they come (a view may be of a chunk). */
function decodeByPush(chunks: readonly Uint8Array[], max: number): Decoded {
  const frames: Uint8Array[] = [];
  const decoder = new FrameDecoder(max, (frame) => {
    if (frame.byteLength > max) throw new Error(`delivered a frame of ${frame.byteLength} bytes over the limit ${max}`);
    frames.push(frame.slice());
  });
  try {
    for (const chunk of chunks) decoder.push(chunk);
    decoder.end();
  } catch (error) {
    return { frames, ending: endingOf(error), error };
  }
  return { frames, ending: "clean" };
}

/**
 * Reads `stream` the way a socket with Node's `onread` option does (FrameReader): into the buffer
 * readBuffer() offers, `sizes[i]` bytes at most per read (cycled), reported with written().
 */
function decodeByReads(stream: Uint8Array, max: number, sizes: readonly number[]): Decoded {
  const frames: Uint8Array[] = [];
  const decoder = new FrameDecoder(max, (frame) => {
    if (frame.byteLength > max) throw new Error(`delivered a frame of ${frame.byteLength} bytes over the limit ${max}`);
    frames.push(frame.slice());
  });
  let at = 0;
  let read = 0;
  try {
    while (at < stream.byteLength) {
      const buffer = decoder.readBuffer();
      expect(buffer.byteLength, "readBuffer() offers room for at least one byte").toBeGreaterThan(0);
      const want = sizes.length === 0 ? Infinity : sizes[read++ % sizes.length]!;
      const n = Math.min(buffer.byteLength, stream.byteLength - at, want);
      buffer.set(stream.subarray(at, at + n));
      at += n;
      decoder.written(n);
    }
    decoder.end();
  } catch (error) {
    return { frames, ending: endingOf(error), error };
  }
  return { frames, ending: "clean" };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** `bytes` cut at `cuts` (taken modulo its length + 1), each piece a fresh copy as a read would give. */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.byteLength]) {
    chunks.push(bytes.slice(from, p));
    from = p;
  }
  return chunks;
}

const header = (length: number): Uint8Array => {
  const bytes = new Uint8Array(HEADER_SIZE);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
};

/** Messages of every size class: empty, small (views of a chunk), and past 16 KiB (read in place). */
const message = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 41, maxLength: 3000 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 1, arbitrary: fc.integer({ min: 16 * 1024, max: 80 * 1024 }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
);
const messages = fc.array(message, { maxLength: 25 });
const cuts = fc.array(fc.nat(), { maxLength: 40 });
const readSizes = fc.array(fc.integer({ min: 1, max: 100 * 1024 }), { maxLength: 12 });

/** Byte streams a hostile or broken peer may send: valid frames, over-limit lengths, cut frames, garbage. */
const hostileStream = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.uint8Array({ maxLength: 60 }).map(encodeFrame) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 60 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }).map(header) },
      { weight: 1, arbitrary: fc.constantFrom(0xffff_ffff, 0x8000_0000, 0x0100_0001, 0x6865_6c6c).map(header) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.uint8Array({ minLength: 1, maxLength: 60 }), fc.nat())
          .map(([payload, cut]) => encodeFrame(payload).subarray(0, cut % (payload.byteLength + HEADER_SIZE))),
      },
    ),
    { maxLength: 12 },
  )
  .map(concat);
// Limits up to 100 kB: a length under a limit may be allocated (before issue 16.2, all at once), and this property
// is about decoding, not memory (the last two properties are).
const limit = fc.oneof(fc.constantFrom(0, 1, 3, 16, 255, 4096, 70_000), fc.nat({ max: 100_000 }));

function expectSame(actual: Decoded, expected: Decoded): void {
  expect(actual.ending).toBe(expected.ending);
  expect(actual.frames.length).toBe(expected.frames.length);
  actual.frames.forEach((frame, i) => expect(Buffer.compare(frame, expected.frames[i]!), `frame ${i}`).toBe(0));
}

describe("FrameDecoder properties", () => {
  it("decodes any split of any sequence of valid frames to exactly those messages (push)", () => {
    fc.assert(
      fc.property(messages, cuts, (msgs, points) => {
        const stream = concat(msgs.map(encodeFrame));
        const decoded = decodeByPush(split(stream, points), 1 << 20);
        expectSame(decoded, { frames: msgs, ending: "clean" });
      }),
      params(150),
    );
  });

  it("decodes any sequence of valid frames read in any sizes through readBuffer()/written() to exactly those messages", () => {
    fc.assert(
      fc.property(messages, readSizes, (msgs, sizes) => {
        const stream = concat(msgs.map(encodeFrame));
        expectSame(decodeByReads(stream, 1 << 20, sizes), { frames: msgs, ending: "clean" });
      }),
      params(150),
    );
  });

  it("decodes arbitrary bytes to what docs/wire.md §1 says, with only typed errors and no frame over the limit (push)", () => {
    fc.assert(
      fc.property(hostileStream, limit, cuts, (stream, max, points) => {
        expectSame(decodeByPush(split(stream, points), max), reference(stream, max));
      }),
      params(300),
    );
  });

  it("decodes arbitrary bytes to what docs/wire.md §1 says, with only typed errors and no frame over the limit (readBuffer)", () => {
    fc.assert(
      fc.property(hostileStream, limit, readSizes, (stream, max, sizes) => {
        expectSame(decodeByReads(stream, max, sizes), reference(stream, max));
      }),
      params(300),
    );
  });

  it("refuses a length over the limit before allocating it, however its header is split", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 4 }),
        fc.integer({ min: 0, max: 16 * MiB }),
        fc.integer({ min: 1, max: 0xffff_ffff }),
        cuts,
        (before, max, over, points) => {
          const length = Math.min(0xffff_ffff, max + over);
          const stream = concat([...before.map(encodeFrame), header(length), new Uint8Array(16)]);
          const usedBefore = process.memoryUsage().arrayBuffers;
          const decoded = decodeByPush(split(stream, points), max);
          const grew = process.memoryUsage().arrayBuffers - usedBefore;
          expectSame(decoded, reference(stream, max));
          expect(decoded.ending).toBe("too-large");
          expect(grew, `ArrayBuffer bytes allocated while refusing a length of ${length}`).toBeLessThan(MiB);
        },
      ),
      params(60),
    );
  });

  // Issue 16.2 (slowloris): the bytes of a frame that has only begun to arrive must not cost its claimed length,
  // or a thousand peers announcing 16 MiB each reserve 16 GB (docs/wire.md §1: a hostile length costs nothing).
  it("holds memory for a partial frame in proportion to the bytes that arrived, not to the length it claims", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8 * MiB, max: 32 * MiB }),
        fc.uint8Array({ maxLength: 4096 }),
        fc.array(fc.integer({ min: 1, max: 2048 }), { maxLength: 8 }),
        (length, arrived, sizes) => {
          const decoder = new FrameDecoder(0xffff_ffff, () => {
            throw new Error("no frame is complete");
          });
          const usedBefore = process.memoryUsage().arrayBuffers;
          const chunks = split(concat([header(length), arrived]), sizes.reduce<number[]>((acc, s) => [...acc, (acc.at(-1) ?? 0) + s], []));
          for (const chunk of chunks) decoder.push(chunk);
          const grew = process.memoryUsage().arrayBuffers - usedBefore;
          expect(grew, `ArrayBuffer bytes held for ${arrived.byteLength} bytes of a frame claiming ${length}`).toBeLessThan(MiB);
          expect(() => decoder.end()).toThrow(expect.objectContaining({ code: "IPC_ERR_PROTOCOL" }));
        },
      ),
      params(8, 4),
    );
  });
});
