/**
 * The framing codec on its own, in one process: our decoder against the naive one most code starts with
 * (Buffer.concat per chunk), and our writer against one write of Buffer.concat([header, payload]) per
 * message, both into a sink stream.
 */
import { once } from "node:events";
import { FrameDecoder, encodeFrame, framed } from "@ipc/framing";
import { Duplex } from "node:stream";
import type { BenchCase, CaseModule } from "../lib/case.js";
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

/** Decodes the stream repeatedly for about `ms`; returns frames/s and payload bytes/s. */
function measureDecode(size: number, decodeAll: (chunks: Buffer[], onFrame: (f: Uint8Array) => void) => void): Record<string, number> {
  const { chunks, frames } = chunkedStream(size, 8 * 1024 * 1024);
  let seen = 0;
  const onFrame = (f: Uint8Array): void => {
    seen += f.byteLength === size ? 1 : 0;
  };
  for (let i = 0; i < 3; i++) decodeAll(chunks, onFrame); // warm up
  seen = 0;
  let passes = 0;
  const start = now();
  let elapsed = 0;
  do {
    decodeAll(chunks, onFrame);
    passes++;
    elapsed = now() - start;
  } while (elapsed < 700e6);
  if (seen !== passes * frames) throw new Error(`decoded ${seen} frames, expected ${passes * frames}`);
  const seconds = elapsed / 1e9;
  return { "frames/s": seen / seconds, "bytes/s": (seen * size) / seconds };
}

const ours = (chunks: Buffer[], onFrame: (f: Uint8Array) => void): void => {
  const decoder = new FrameDecoder(16 * 1024 * 1024, onFrame);
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

async function measureEncode(size: number, count: number, variant: "ours" | "naive"): Promise<Record<string, number>> {
  const payload = new Uint8Array(size).fill(1);
  const run = async (n: number): Promise<number> => {
    const out = sink();
    const start = now();
    if (variant === "ours") {
      const connection = framed(out);
      for (let i = 0; i < n; i++) await connection.send(payload);
      await new Promise((resolve) => setImmediate(resolve));
    } else {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(size);
      for (let i = 0; i < n; i++) {
        if (!out.write(Buffer.concat([header, payload]))) await once(out, "drain");
      }
    }
    const elapsed = now() - start;
    if (out.bytes !== n * (size + 4)) throw new Error(`wrote ${out.bytes} bytes, expected ${n * (size + 4)}`);
    return elapsed;
  };
  await run(Math.ceil(count / 10));
  const seconds = (await run(count)) / 1e9;
  return { "frames/s": count / seconds, "bytes/s": (count * size) / seconds };
}

const cases: BenchCase[] = [
  { id: "decode-64B-ours", group: "decode 64 B frames, 64 KiB chunks", role: "ours", label: "FrameDecoder", run: async () => measureDecode(64, ours) },
  { id: "decode-64B-naive", group: "decode 64 B frames, 64 KiB chunks", role: "baseline", label: "naive Buffer.concat", run: async () => measureDecode(64, naive) },
  { id: "decode-64KiB-ours", group: "decode 64 KiB frames, 64 KiB chunks", role: "ours", label: "FrameDecoder", run: async () => measureDecode(65536, ours) },
  { id: "decode-64KiB-naive", group: "decode 64 KiB frames, 64 KiB chunks", role: "baseline", label: "naive Buffer.concat", run: async () => measureDecode(65536, naive) },
  { id: "encode-64B-ours", group: "encode 64 B frames", role: "ours", label: "framed().send", run: () => measureEncode(64, 2_000_000, "ours") },
  { id: "encode-64B-naive", group: "encode 64 B frames", role: "baseline", label: "write(concat) per frame", run: () => measureEncode(64, 500_000, "naive") },
  { id: "encode-64KiB-ours", group: "encode 64 KiB frames", role: "ours", label: "framed().send", run: () => measureEncode(65536, 20_000, "ours") },
  { id: "encode-64KiB-naive", group: "encode 64 KiB frames", role: "baseline", label: "write(concat) per frame", run: () => measureEncode(65536, 20_000, "naive") },
];

export const codec: CaseModule = {
  cases,
  groupMetrics: {
    "decode 64 B frames, 64 KiB chunks": ["frames/s"],
    "decode 64 KiB frames, 64 KiB chunks": ["bytes/s"],
    "encode 64 B frames": ["frames/s"],
    "encode 64 KiB frames": ["bytes/s"],
  },
  targets: [
    { group: "decode 64 B frames, 64 KiB chunks", metric: "frames/s", absolute: 10e6, text: "≥ 10 M frames/s" },
    { group: "decode 64 KiB frames, 64 KiB chunks", metric: "bytes/s", absolute: 5e9, text: "≥ 5 GB/s" },
  ],
};
