/**
 * The framing codec on its own, in one process: our decoder against the naive one most code starts with
 * (Buffer.concat per chunk), and our writer against one write of Buffer.concat([header, payload]) per
 * message, both into a sink stream.
 */
import { once } from "node:events";
import { FrameDecoder, encodeFrame, framed } from "@ipc/framing";
import { Duplex } from "node:stream";
import type { Budget, BenchCase, CaseModule, Group } from "../lib/case.js";
import { now } from "../lib/stats.js";

const CHUNK = 64 * 1024;

/** A stream of back-to-back frames of `size` bytes, cut into 64 KiB chunks (frames straddle chunks). */
function chunkedStream(size: number, totalBytes: number): { chunks: Buffer[]; frames: number } {
  const frame = encodeFrame(new Uint8Array(size).fill(0x5a));
  const frames = Math.floor(totalBytes / frame.byteLength);
  const stream = Buffer.alloc(frames * frame.byteLength);
  for (let i = 0; i < frames; i++) stream.set(frame, i * frame.byteLength);
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += CHUNK) chunks.push(stream.subarray(at, at + CHUNK));
  return { chunks, frames };
}

/** Decodes the stream repeatedly through the warm-up and the measured time; returns frames/s and payload bytes/s. */
function measureDecode(budget: Budget, size: number, decodeAll: (chunks: Buffer[], onFrame: (f: Uint8Array) => void) => void): Record<string, number> {
  const { chunks, frames } = chunkedStream(size, 8 * 1024 * 1024);
  let seen = 0;
  const onFrame = (f: Uint8Array): void => {
    seen += f.byteLength === size ? 1 : 0;
  };
  const warm = now() + budget.warmupMs * 1e6;
  do decodeAll(chunks, onFrame);
  while (now() < warm);
  seen = 0;
  let passes = 0;
  const start = now();
  let elapsed = 0;
  do {
    decodeAll(chunks, onFrame);
    passes++;
    elapsed = now() - start;
  } while (elapsed < budget.measureMs * 1e6);
  if (seen !== passes * frames) throw new Error(`decoded ${seen} frames, expected ${passes * frames}`);
  const seconds = elapsed / 1e9;
  return { "frames/s": seen / seconds, "bytes/s": (seen * size) / seconds };
}

const ours = (chunks: Buffer[], onFrame: (f: Uint8Array) => void): void => {
  const decoder = new FrameDecoder(16 * 1024 * 1024, onFrame);
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
};

/**
 * Frames lent (`lendFrames`): valid only during onFrame, which is all this consumer needs; a frame that spans
 * chunks is assembled in one reused buffer instead of a fresh array per frame (issue 17).
 */
const lent = (chunks: Buffer[], onFrame: (f: Uint8Array) => void): void => {
  const decoder = new FrameDecoder(16 * 1024 * 1024, onFrame, { lendFrames: true });
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
};

/**
 * The alternative to charging a view for the chunk it pins (issue 16.1): every frame copied out of its chunk
 * into an array of its own. Measured beside ours to choose between them; framed() charges instead.
 */
const copyingOut = (chunks: Buffer[], onFrame: (f: Uint8Array) => void): void => {
  const decoder = new FrameDecoder(16 * 1024 * 1024, (frame) => onFrame(frame.slice()));
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
};

const naive = (chunks: Buffer[], onFrame: (f: Uint8Array) => void): void => {
  let pending = Buffer.alloc(0);
  for (const chunk of chunks) {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (pending.length < 4 + length) break;
      onFrame(pending.subarray(4, 4 + length));
      pending = pending.subarray(4 + length);
    }
  }
};

/** A writable that accepts everything at once, counting bytes. */
function sink(): Duplex & { bytes: number } {
  const stream = new Duplex({
    read() {},
    write(chunk: Uint8Array, _encoding, callback) {
      counter.bytes += chunk.byteLength;
      callback();
    },
    writev(chunks, callback) {
      for (const c of chunks) counter.bytes += (c.chunk as Uint8Array).byteLength;
      callback();
    },
  });
  const counter = Object.assign(stream, { bytes: 0 });
  return counter;
}

/** Encodes into a sink through the warm-up, then for the measured time (the clock read every 64 frames). */
async function measureEncode(budget: Budget, size: number, variant: "ours" | "naive"): Promise<Record<string, number>> {
  const payload = new Uint8Array(size).fill(1);
  const run = async (ms: number): Promise<{ n: number; ns: number }> => {
    const out = sink();
    const start = now();
    const end = start + ms * 1e6;
    let n = 0;
    if (variant === "ours") {
      const connection = framed(out);
      do {
        for (let i = 0; i < 64; i++) await connection.send(payload);
        n += 64;
      } while (now() < end);
      await new Promise((resolve) => setImmediate(resolve));
    } else {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(size);
      do {
        for (let i = 0; i < 64; i++) if (!out.write(Buffer.concat([header, payload]))) await once(out, "drain");
        n += 64;
      } while (now() < end);
    }
    const ns = now() - start;
    if (out.bytes !== n * (size + 4)) throw new Error(`wrote ${out.bytes} bytes, expected ${n * (size + 4)}`);
    return { n, ns };
  };
  await run(budget.warmupMs);
  const { n, ns } = await run(budget.measureMs);
  return { "frames/s": n / (ns / 1e9), "bytes/s": (n * size) / (ns / 1e9) };
}

const DECODE_SMALL = "decode 64 B frames, 64 KiB chunks";
const DECODE_BIG = "decode 64 KiB frames, 64 KiB chunks";
const ENCODE_SMALL = "encode 64 B frames";
const ENCODE_BIG = "encode 64 KiB frames";

const cases: BenchCase[] = [
  { id: "decode-64B-ours", label: "FrameDecoder", run: async (c) => measureDecode(c.budget, 64, ours) },
  { id: "decode-64B-naive", label: "naive Buffer.concat", run: async (c) => measureDecode(c.budget, 64, naive) },
  { id: "decode-64B-copy", label: "FrameDecoder, frames copied out", run: async (c) => measureDecode(c.budget, 64, copyingOut) },
  { id: "decode-64KiB-ours", label: "FrameDecoder", run: async (c) => measureDecode(c.budget, 65536, ours) },
  { id: "decode-64KiB-naive", label: "naive Buffer.concat", run: async (c) => measureDecode(c.budget, 65536, naive) },
  { id: "decode-64KiB-lent", label: "FrameDecoder, frames lent (lendFrames)", run: async (c) => measureDecode(c.budget, 65536, lent) },
  { id: "encode-64B-ours", label: "framed().send", run: (c) => measureEncode(c.budget, 64, "ours") },
  { id: "encode-64B-naive", label: "write(concat) per frame", run: (c) => measureEncode(c.budget, 64, "naive") },
  { id: "encode-64KiB-ours", label: "framed().send", run: (c) => measureEncode(c.budget, 65536, "ours") },
  { id: "encode-64KiB-naive", label: "write(concat) per frame", run: (c) => measureEncode(c.budget, 65536, "naive") },
];

const pair = (title: string, metric: string, id: string): Group => ({
  title,
  metrics: [metric],
  rows: [
    { case: `${id}-ours`, role: "ours" },
    { case: `${id}-naive`, role: "baseline" },
  ],
});

export const module: CaseModule = {
  cases: () => cases,
  groups: () => [
    {
      ...pair(DECODE_SMALL, "frames/s", "decode-64B"),
      rows: [...pair(DECODE_SMALL, "frames/s", "decode-64B").rows, { case: "decode-64B-copy", role: "other" }],
      targets: [{ metric: "frames/s", absolute: 10e6, text: "≥ 10 M frames/s", cases: ["decode-64B-ours"] }],
    },
    {
      ...pair(DECODE_BIG, "bytes/s", "decode-64KiB"),
      rows: [...pair(DECODE_BIG, "bytes/s", "decode-64KiB").rows, { case: "decode-64KiB-lent", role: "ours" }],
      targets: [
        { metric: "bytes/s", absolute: 5e9, text: "≥ 5 GB/s" },
        { metric: "bytes/s", ratio: 1, text: "never slower than naive" },
      ],
    },
    pair(ENCODE_SMALL, "frames/s", "encode-64B"),
    pair(ENCODE_BIG, "bytes/s", "encode-64KiB"),
  ],
};
