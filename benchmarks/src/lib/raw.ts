/**
 * The loops of the raw baselines: the fastest straightforward Node code for each job, with nothing but
 * `node:*` (docs/benchmarks.md, "Baselines", says why each is written the way it is):
 *
 * - Round trip: the client writes one frame (4-byte length + payload, docs/wire.md §1) from a reused buffer
 *   and counts the echo's bytes as they arrive, read with Node's `onread` option into one reused buffer where
 *   the socket allows it (no allocation per read); the echo side writes back every chunk it gets.
 * - Stream of large messages: the sender writes one reused frame buffer per message and honours
 *   `write() === false` / `'drain'`; the receiver reads with `onread` into one reused 64 KiB buffer (a FIFO's
 *   reader with 'data' events, which measured faster there) and counts the bytes.
 * - Stream of small messages: the sender packs each message (length, then payload) into a fresh 64 KiB buffer
 *   and writes the buffer when it is full. One write per message is kept as an "other" row: it measures
 *   system calls, not messaging.
 *
 * A stream runs for the warm-up and then the measured time; the sender then ends its side, and the receiver
 * answers how many bytes it counted, which must be every frame that was sent.
 */
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { Budget, Metrics } from "./case.js";
import { Sampler, now, rates } from "./stats.js";

/** What Node's `onread` socket option takes (documented for net.Socket; typed only on net.connect). */
export interface OnRead {
  readonly buffer: Uint8Array | (() => Uint8Array);
  // biome-ignore lint/suspicious/noConfusingVoidType: node's OnReadOpts callback may return nothing (keep reading) or false (pause).
  readonly callback: (bytesRead: number, buffer: Uint8Array) => boolean | void;
}

/** Bytes per write when small messages are packed. */
export const PACK_BYTES = 64 * 1024;

/** A frame as docs/wire.md §1 has it: a 4-byte big-endian length, then `size` bytes. */
export function frameOf(size: number): Buffer {
  const frame = Buffer.alloc(4 + size, 0x61);
  frame.writeUInt32BE(size, 0);
  return frame;
}

/** What a stream receiver answers at the end: the bytes it got. */
export interface StreamCount {
  readonly bytes: number;
}

/** Counts the bytes a socket reads (with `onread`, into one reused 64 KiB buffer, or fed by 'data'). */
export class ByteCounter {
  bytes = 0;
  readonly onread: OnRead = { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n) => void (this.bytes += n) };
}

/**
 * The receiving side of a stream: counts bytes (fed by the socket's `onread`, or by 'data' events when
 * `viaData`), and once the input ends answers the count as JSON (and ends `output` if `close`). It does not
 * walk the frames: finding message boundaries is the library's work (and @ipc/framing's decoder is measured
 * on its own); the sender checks that the count is every frame it wrote.
 */
export function answerCount(input: Readable, output: Writable, counter: ByteCounter, viaData: boolean, close: boolean): void {
  input.on("error", () => undefined);
  output.on("error", () => undefined);
  if (viaData) input.on("data", (chunk: Buffer) => void (counter.bytes += chunk.byteLength));
  input.on("end", () => {
    output.write(JSON.stringify({ bytes: counter.bytes } satisfies StreamCount));
    if (close) output.end();
  });
}

/** How a stream's sender writes: see the file's comment. */
export type StreamShape = "frames" | "packed" | "per-message";

/** What a sender wrote: in all, and in the measured part that began at `start` (ns). */
interface Sent {
  readonly sent: number;
  readonly measured: number;
  readonly start: number;
}

/**
 * Calls `write()` (which writes `perWrite` messages and returns what `write()` returned) through the warm-up
 * and the measured time, waiting for 'drain' whenever a write says so; checks the clock every `checkEvery`.
 */
async function writeFor(budget: Budget, output: Writable, perWrite: number, checkEvery: number, write: () => boolean): Promise<Sent> {
  let sent = 0;
  let before = 0;
  const warm = now() + budget.warmupMs * 1e6;
  let start = 0;
  for (;;) {
    let ok = true;
    for (let i = 0; i < checkEvery && ok; i++) {
      ok = write();
      sent += perWrite;
    }
    if (!ok) await once(output, "drain");
    const t = now();
    if (start === 0 && t >= warm) {
      start = t;
      before = sent;
    }
    if (start !== 0 && t >= start + budget.measureMs * 1e6) return { sent, measured: sent - before, start };
  }
}

/** Writes `size`-byte messages shaped as `shape` for the budget, ends, and checks the receiver's count. */
export async function sendStream(output: Writable, answer: Promise<StreamCount>, size: number, budget: Budget, shape: StreamShape): Promise<Metrics> {
  let result: Sent;
  if (shape === "packed") {
    const payload = new Uint8Array(size).fill(0x61);
    const frame = 4 + size;
    const perWrite = Math.max(1, Math.floor(PACK_BYTES / frame));
    // One buffer, packed again for every write that the kernel took whole (`writableLength` back to 0: the socket
    // keeps no reference to it); a fresh one only while a write is still queued. A fresh 64 KiB buffer per write
    // cost the sender 5–12 page faults a write whenever glibc gave the freed buffers back to the kernel, which
    // made the TCP split-core baseline bimodal (docs/benchmarks.md, "The packed baseline's page faults").
    // The length's four bytes stored one by one, then the payload: 19 ns a message here, against 25 ns with
    // writeUInt32BE() (the sender is what limits a TCP loopback stream of small messages).
    let buffer = Buffer.allocUnsafe(perWrite * frame);
    result = await writeFor(budget, output, perWrite, 1, () => {
      for (let i = 0, at = 0; i < perWrite; i++, at += frame) {
        buffer[at] = size >>> 24;
        buffer[at + 1] = (size >>> 16) & 0xff;
        buffer[at + 2] = (size >>> 8) & 0xff;
        buffer[at + 3] = size & 0xff;
        buffer.set(payload, at + 4);
      }
      const ok = output.write(buffer);
      if (output.writableLength !== 0) buffer = Buffer.allocUnsafe(perWrite * frame);
      return ok;
    });
  } else {
    const frame = frameOf(size);
    result = await writeFor(budget, output, 1, shape === "per-message" ? 64 : 1, () => output.write(frame));
  }
  output.end();
  const counted = await answer;
  const took = now() - result.start;
  if (counted.bytes !== result.sent * (4 + size))
    throw new Error(`sent ${result.sent} frames of ${4 + size} bytes, the receiver counted ${counted.bytes} bytes`);
  return rates(result.measured, size, took);
}

/** The answer of a stream receiver, read from `input` (JSON, then the end). */
export async function readAnswer(input: Readable): Promise<StreamCount> {
  let text = "";
  input.on("data", (chunk: Buffer) => (text += chunk.toString()));
  input.resume(); // a stream paused by readyLine() stays paused when a 'data' listener comes
  await once(input, "end");
  return JSON.parse(text) as StreamCount;
}

/** Writes back every chunk that arrives. */
export function echo(input: Readable, output: Writable): void {
  input.on("error", () => undefined);
  output.on("error", () => undefined);
  input.on("data", (chunk: Buffer) => output.write(chunk));
}

/**
 * The measuring side of a round trip: write one frame of `size` bytes, count the echo's bytes (fed to
 * {@link received}, by `onread` or by 'data'), repeat; p50 and p99 over the measured time. With `gapMs`,
 * waits that long between round trips (both sides fall asleep: the idle case).
 */
export class RoundTrips {
  readonly onread: OnRead;
  readonly #frame: Buffer;
  #got = 0;
  #done: (() => void) | undefined;

  constructor(size: number) {
    this.#frame = frameOf(size);
    this.onread = { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n) => this.received(n) };
  }

  received(bytes: number): void {
    this.#got += bytes;
    if (this.#got < this.#frame.byteLength) return;
    this.#got -= this.#frame.byteLength;
    this.#done?.();
  }

  /**
   * Callbacks, not a promise per round trip: the next frame goes out from the read callback itself. The
   * first round trip only shows that the other side is up (a child process boots meanwhile): the clock of
   * the warm-up starts after it.
   */
  run(output: Writable, budget: Budget, gapMs?: number): Promise<Metrics> {
    let sampler: Sampler | undefined;
    return new Promise((resolve) => {
      const send = (): void => {
        sampler?.begin();
        output.write(this.#frame);
      };
      this.#done = () => {
        if (sampler === undefined) {
          sampler = new Sampler(budget);
          send();
        } else if (!sampler.end()) {
          this.#done = undefined;
          resolve(sampler.result());
        } else if (gapMs === undefined) send();
        else setTimeout(send, gapMs);
      };
      send();
    });
  }
}
