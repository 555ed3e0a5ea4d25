/**
 * The measuring loops the case files share: round trips and one-way sends over a raw Node stream (the
 * baselines: 4-byte length frames written straight to the stream, replies counted in bytes) and over an
 * @ipc Connection (ours), so that every baseline and every contender is measured the same way.
 */
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { Connection } from "@ipc/core";
import { latency, now } from "./stats.js";

/** A frame as docs/wire.md §1 has it: a 4-byte big-endian length, then `size` bytes. */
export function frameOf(size: number): Buffer {
  const frame = Buffer.alloc(4 + size, 0x33);
  frame.writeUInt32BE(size, 0);
  return frame;
}

/** How many round trips: `warmup` unmeasured, then `count` measured, `gapMs` apart (idle mode). */
export interface RoundTripPlan {
  readonly warmup: number;
  readonly count: number;
  readonly gapMs?: number;
}

/** Round trips of one `size`-byte frame written to `output`, the echo read from `input`: p50 / p99 µs. */
export async function rawRoundTrips(input: Readable, output: Writable, size: number, plan: RoundTripPlan): Promise<Record<string, number>> {
  const frame = frameOf(size);
  const samples = new Float64Array(plan.count);
  await new Promise<void>((resolve) => {
    let i = 0;
    let got = 0;
    let start = 0;
    const send = (): void => {
      start = now();
      output.write(frame);
    };
    input.on("data", (chunk: Buffer) => {
      got += chunk.length;
      if (got < frame.length) return;
      got -= frame.length;
      if (i >= plan.warmup) samples[i - plan.warmup] = now() - start;
      if (++i === plan.warmup + plan.count) return resolve();
      if (plan.gapMs === undefined) send();
      else setTimeout(send, plan.gapMs);
    });
    send();
  });
  const { p50, p99 } = latency(samples);
  return { "p50 µs": p50, "p99 µs": p99 };
}

/** Round trips of a `size`-byte message over an echoing Connection: p50 / p99 µs. */
export async function connectionRoundTrips(connection: Connection, size: number, plan: RoundTripPlan): Promise<Record<string, number>> {
  const message = new Uint8Array(size).fill(1);
  const samples = new Float64Array(plan.count);
  for (let i = 0; i < plan.warmup + plan.count; i++) {
    if (plan.gapMs !== undefined) await new Promise((resolve) => setTimeout(resolve, plan.gapMs));
    const start = now();
    await connection.send(message);
    await connection.receive();
    if (i >= plan.warmup) samples[i - plan.warmup] = now() - start;
  }
  const { p50, p99 } = latency(samples);
  return { "p50 µs": p50, "p99 µs": p99 };
}

/** Sends `count` frames of `size` bytes to `output` (waiting on drain), then waits for `acked`: rates. */
export async function rawSend(output: Writable, acked: Promise<unknown>, count: number, size: number): Promise<Record<string, number>> {
  const frame = frameOf(size);
  const start = now();
  for (let i = 0; i < count; i++) if (!output.write(frame)) await once(output, "drain");
  await acked;
  const seconds = (now() - start) / 1e9;
  return { "msgs/s": count / seconds, "bytes/s": (count * size) / seconds };
}

/** Sends `count` messages of `size` bytes, then waits for the peer's one-message answer: rates. */
export async function connectionSend(connection: Connection, count: number, size: number): Promise<Record<string, number>> {
  const message = new Uint8Array(size).fill(2);
  const start = now();
  for (let i = 0; i < count; i++) await connection.send(message);
  await connection.receive();
  const seconds = (now() - start) / 1e9;
  return { "msgs/s": count / seconds, "bytes/s": (count * size) / seconds };
}

/** The raw echo peer: writes back whatever arrives. */
export function echoBytes(input: Readable, output: Writable): void {
  input.on("data", (chunk: Buffer) => output.write(chunk));
  input.on("error", () => undefined);
}

/** The raw sink peer: counts bytes and writes one byte once `count` frames of `size` bytes arrived. */
export function sinkBytes(input: Readable, output: Writable, count: number, size: number): void {
  const total = count * (size + 4);
  let seen = 0;
  input.on("data", (chunk: Buffer) => {
    seen += chunk.length;
    if (seen === total) output.write(Buffer.alloc(1));
  });
  input.on("error", () => undefined);
}

/** The Connection echo peer. */
export async function echoMessages(connection: Connection): Promise<void> {
  for await (const message of connection) await connection.send(message);
}

/** The Connection sink peer: answers one message once `count` arrived. */
export async function sinkMessages(connection: Connection, count: number): Promise<void> {
  let seen = 0;
  for await (const _message of connection) if (++seen === count) await connection.send(new Uint8Array(1));
}
