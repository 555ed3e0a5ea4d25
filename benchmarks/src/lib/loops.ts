/**
 * The loops over a message Connection (ours, and other libraries adapted to it): ping-pong round trips, and a
 * one-way stream ended by an empty message, after which the receiver answers how many messages it counted.
 * An empty message answered at once comes first, so that no clock runs while the other side starts.
 */
import { isViewConnection, type Connection } from "@ipc/core";
import type { Budget, Metrics } from "./case.js";
import { SMALL_MESSAGE } from "./sizes.js";
import { Sampler, now, rates } from "./stats.js";

/** What the loops use of a connection. */
export type MessageEndpoint = Pick<Connection, "send" | "receive" | typeof Symbol.asyncIterator>;

/** An 8-byte count, the receiver's answer at the end of a stream. */
export function encodeCount(count: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, count, true);
  return bytes;
}

function decodeCount(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
}

/** The serving side: echo (`rtt`), or count until an empty message and answer the count (`stream`). */
export async function serveMessages(connection: MessageEndpoint, kind: "rtt" | "stream"): Promise<void> {
  if (kind === "rtt") {
    for await (const message of connection) await connection.send(message);
    return;
  }
  let count = 0;
  for await (const message of connection) {
    // `length`, not `byteLength`: on Node 20 the byteLength getter is not inlined (12–17 ns a read against ~1 ns,
    // docs/benchmarks.md "Issue 17 — stream transports"), a cost of this loop, not of the library it measures.
    if (message.length > 0) count++;
    else {
      await connection.send(encodeCount(count));
      count = 0;
    }
  }
}

/** The measuring side. */
export async function measureMessages(connection: MessageEndpoint, kind: "rtt" | "stream", size: number, budget: Budget): Promise<Metrics> {
  const message = new Uint8Array(size).fill(0x61);
  await connection.send(new Uint8Array(0));
  await connection.receive();
  if (kind === "rtt") {
    const sampler = new Sampler(budget);
    do {
      sampler.begin();
      await connection.send(message);
      await connection.receive();
    } while (sampler.end());
    return sampler.result();
  }
  await stream(connection, message, budget.warmupMs); // unmeasured
  const start = now();
  const sent = await stream(connection, message, budget.measureMs);
  return rates(sent, size, now() - start);
}

/** Sends `message` for `ms`, then an empty one; checks the receiver's count, and returns it. */
async function stream(connection: MessageEndpoint, message: Uint8Array, ms: number): Promise<number> {
  const batch = message.byteLength >= SMALL_MESSAGE ? 1 : 64;
  let sent = 0;
  const end = now() + ms * 1e6;
  do {
    for (let i = 0; i < batch; i++) await connection.send(message);
    sent += batch;
  } while (now() < end);
  await connection.send(new Uint8Array(0));
  const answer = await connection.receive();
  const received = answer === undefined ? -1 : decodeCount(answer);
  if (received !== sent) throw new Error(`sent ${sent} messages, the receiver counted ${received}`);
  return sent;
}

/** Round trips of any `call()` for the budget: p50 and p99 µs. */
export async function timedCalls(budget: Budget, call: () => Promise<unknown>): Promise<Metrics> {
  await call();
  const sampler = new Sampler(budget);
  do {
    sampler.begin();
    await call();
  } while (sampler.end());
  return sampler.result();
}

/** Keeps `window` calls in flight through the warm-up, then for the measured time: calls per second. */
export async function callsInFlight(budget: Budget, window: number, call: () => Promise<unknown>): Promise<Metrics> {
  const run = async (ms: number): Promise<number> => {
    let calls = 0;
    const end = now() + ms * 1e6;
    await Promise.all(
      Array.from({ length: window }, async () => {
        while (now() < end) {
          await call();
          calls++;
        }
      }),
    );
    return calls;
  };
  await run(budget.warmupMs);
  const start = now();
  const calls = await run(budget.measureMs);
  return { "calls/s": calls / ((now() - start) / 1e9) };
}

// --- the batch path: a stream sent with sendBatch() and received with receiveBatch() ---------------------
// The same protocol as the stream above (an empty message ends a phase, the receiver answers its count), with
// one call per batch on both sides.

/** Messages per `sendBatch()` in the batch cases: about what the raw packed loop puts in one 64 KiB write at 64 B. */
export const BATCH = 1024;

/** What the batch loops use of a connection. */
export type BatchEndpoint = Pick<Connection, "send" | "receive" | "sendBatch" | "receiveBatch">;

/** The receiving side: counts the messages of every batch until an empty one, then answers the count. */
export async function serveBatches(connection: BatchEndpoint): Promise<void> {
  let count = 0;
  for (;;) {
    const batch = await connection.receiveBatch();
    if (batch === undefined) return;
    for (const message of batch) {
      // `length`: see serveMessages.
      if (message.length > 0) count++;
      else {
        await connection.send(encodeCount(count));
        count = 0;
      }
    }
  }
}

/** Sends `batch` for `ms`, then an empty message; checks the receiver's count, and returns it. */
async function streamBatches(connection: BatchEndpoint, batch: readonly Uint8Array[], ms: number): Promise<number> {
  let sent = 0;
  const end = now() + ms * 1e6;
  do {
    await connection.sendBatch(batch);
    sent += batch.length;
  } while (now() < end);
  await connection.send(new Uint8Array(0));
  const answer = await connection.receive();
  const received = answer === undefined ? -1 : decodeCount(answer);
  if (received !== sent) throw new Error(`sent ${sent} messages in batches, the receiver counted ${received}`);
  return sent;
}

/** The measuring side of the batch path: batches of {@link BATCH} messages of `size` bytes. */
export async function measureBatches(connection: BatchEndpoint, size: number, budget: Budget): Promise<Metrics> {
  const batch = new Array<Uint8Array>(BATCH).fill(new Uint8Array(size).fill(0x61));
  await connection.send(new Uint8Array(0));
  await connection.receive();
  await streamBatches(connection, batch, budget.warmupMs); // unmeasured
  const start = now();
  const sent = await streamBatches(connection, batch, budget.measureMs);
  return rates(sent, size, now() - start);
}

/**
 * The receiving side of a `views` stream: serveBatches()'s protocol (lib/loops.ts) over the lent batches of
 * receiveViews() — each message's length looked at in place, the batch released once counted (the `views` rows of @ipc/unix, @ipc/tcp and shm://).
 */
export async function serveLentBatches(connection: Connection): Promise<void> {
  if (!isViewConnection(connection)) throw new Error(`${connection.remoteAddress}: this connection offers no receiveViews()`);
  let count = 0;
  for (;;) {
    const batch = await connection.receiveViews();
    if (batch === undefined) return;
    const lengths = batch.lengths;
    let ended = false;
    for (let i = 0; i < lengths.length; i++) {
      if (lengths[i]! > 0) count++;
      else ended = true; // the empty message comes last (the sender waits for the answer)
    }
    batch.release();
    if (ended) {
      await connection.send(encodeCount(count));
      count = 0;
    }
  }
}
