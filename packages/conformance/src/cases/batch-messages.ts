/**
 * What the batch cases share: messages that say what they are (seq and size, 0-byte ones included), reading
 * them back with `receiveBatch()`, and filling a connection towards a peer that reads nothing.
 */
import type { Connection } from "@ipc/core";
import { expect } from "vitest";
import { checkPatterned, patterned, rejection } from "../harness.js";

/** A message a case sends and expects back: `patterned(seq, size)`. */
export interface Expected {
  readonly seq: number;
  readonly size: number;
}

/** The bytes of `expected`. */
export function bytesOf(expected: Expected): Uint8Array {
  return patterned(expected.seq, expected.size);
}

/** `count` messages of `size` bytes, seqs from `first`. */
export function run(first: number, count: number, size: number | ((seq: number) => number)): Expected[] {
  return Array.from({ length: count }, (_, i) => ({ seq: first + i, size: typeof size === "number" ? size : size(first + i) }));
}

/** Why `received` is not `expected` (the `at`-th message), or `undefined` when it is. */
export function mismatch(received: Uint8Array | undefined, expected: Expected, at: number): string | undefined {
  const what = `message #${at} (seq ${expected.seq}, ${expected.size} bytes)`;
  if (received === undefined) return `${what} never came: the connection ended first`;
  if (!(received instanceof Uint8Array)) return `${what} came as ${Object.prototype.toString.call(received)}, not a Uint8Array`;
  if (received.byteLength !== expected.size) return `${what} came with ${received.byteLength} bytes (seq ${checkPatterned(received)})`;
  // Messages under 4 bytes carry no seq: compare them byte for byte.
  const same = expected.size >= 4 ? checkPatterned(received) === expected.seq : Buffer.from(received).equals(bytesOf(expected));
  return same ? undefined : `${what} came as seq ${checkPatterned(received)} or corrupted`;
}

/** What {@link readBatches} read: the messages, and how many each `receiveBatch()` returned. */
export interface Read {
  readonly messages: Uint8Array[];
  readonly batches: number[];
}

/** A guard against a hang only (the case's own timeout is the real limit): generous for a loaded machine. */
export const WAIT = { timeout: 20_000 };

/**
 * Reads `count` messages from `connection` with `receiveBatch(bounds)`, none beyond (`maxMessages` at most what
 * is left): every call must return a non-empty array (never `undefined` before `count`). Checks each against
 * `expected`, when given, as it comes.
 */
export async function readBatches(
  connection: Connection,
  count: number,
  bounds: { maxMessages?: number; maxBytes?: number } = {},
  expected?: readonly Expected[],
): Promise<Read> {
  const messages: Uint8Array[] = [];
  const batches: number[] = [];
  while (messages.length < count) {
    // Never past `count`: what follows belongs to the caller's next read.
    const maxMessages = Math.min(bounds.maxMessages ?? Number.MAX_SAFE_INTEGER, count - messages.length);
    const batch = await connection.receiveBatch({ ...bounds, maxMessages, ...WAIT });
    if (batch === undefined) throw new Error(`receiveBatch() returned undefined (the end) after ${messages.length} of ${count} messages`);
    if (!Array.isArray(batch) || batch.length === 0) throw new Error(`receiveBatch() returned ${JSON.stringify(batch)}, not a non-empty array`);
    for (const message of batch) {
      if (expected !== undefined && messages.length < expected.length) {
        const wrong = mismatch(message, expected[messages.length]!, messages.length);
        if (wrong !== undefined) throw new Error(wrong);
      }
      messages.push(message);
    }
    batches.push(batch.length);
  }
  if (messages.length > count) throw new Error(`receiveBatch() returned ${messages.length} messages, ${messages.length - count} more than were sent`);
  return { messages, batches };
}

/**
 * The wait a stalled send is given before it counts as stalled. The timeout is the behaviour under test (a
 * batch that waits, then is withdrawn whole); a batch that would only have been accepted later on a loaded
 * machine is withdrawn just the same, and the cases count only what was accepted, so the value cannot make
 * them fail — it only sets how long filling takes.
 */
export const STALL_WAIT = 250;

/** What {@link fill} sent: every message accepted, in order, the batch that timed out, and the next free seq. */
export interface Filled {
  readonly accepted: Expected[];
  readonly withdrawn: Expected[];
  readonly next: number;
}

/**
 * Sends batches of `perBatch` messages of `size` bytes (seqs from 0, every message its own) towards a peer
 * that reads nothing, until one cannot be accepted within {@link STALL_WAIT} — it must reject with
 * TimeoutError — or `limit` bytes were accepted (then the connection has no backpressure: the case fails).
 */
export async function fill(a: Connection, limit: number, size: number, perBatch: number): Promise<Filled> {
  const accepted: Expected[] = [];
  let next = 0;
  while (accepted.length * size <= limit) {
    const batch = run(next, perBatch, size);
    next += perBatch;
    const settled = await outcome(a.sendBatch(batch.map(bytesOf), { timeout: STALL_WAIT }));
    if (settled !== "resolved") {
      expect(settled.code, `a sendBatch() waiting for room failed with ${String(settled)}`).toBe("IPC_ERR_TIMEOUT");
      return { accepted, withdrawn: batch, next };
    }
    accepted.push(...batch);
  }
  throw new Error(`${accepted.length * size} bytes of batches were accepted while the peer read nothing: no backpressure`);
}

/** Resolves with what `promise` settled as: `"resolved"`, or the error it rejected with. */
export function outcome(promise: Promise<unknown>): Promise<"resolved" | (Error & { code?: string })> {
  return promise.then(
    () => "resolved" as const,
    (error: unknown) => error as Error & { code?: string },
  );
}

export { rejection };
