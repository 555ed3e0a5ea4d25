/**
 * The two measurements over a message `Connection` (ours and any library adapted to it): ping-pong round
 * trips, and a one-way stream ended by an empty message, after which the receiver answers with its count.
 */
import type { Connection } from "@ipc/core";
import { decodeCount, elapsed, encodeCount, now, payload, rates, roundTrips, warmupMs, type Metrics } from "./measure.js";
import type { CaseSpec } from "./spec.js";

/** What the loops use of a connection: ours are `Connection`s; other libraries are adapted to this. */
export type MessageEndpoint = Pick<Connection, "send" | "receive" | typeof Symbol.asyncIterator>;


/**
 * The receiving side: echo (rtt), or count until an empty message and answer the count (stream). Either
 * answers an empty message at once, which the measuring side uses to know it is up.
 */
export async function serveMessages(connection: MessageEndpoint, spec: CaseSpec): Promise<void> {
  if (spec.kind === "rtt") {
    for await (const message of connection) await connection.send(message);
    return;
  }
  let count = 0;
  for await (const message of connection) {
    if (message.byteLength > 0) count++;
    else {
      await connection.send(encodeCount(count));
      count = 0;
    }
  }
}

/** The measuring side. */
export async function measureMessages(connection: MessageEndpoint, spec: CaseSpec): Promise<Metrics> {
  const message = payload(spec.size);
  // An empty message first, answered by either kind of receiver: the clock starts once the peer is up
  // (a child process takes a while to boot), not while it boots.
  await connection.send(new Uint8Array(0));
  await connection.receive();
  if (spec.kind === "rtt") {
    return roundTrips(spec.duration, async () => {
      await connection.send(message);
      await connection.receive();
    });
  }
  await stream(connection, message, warmupMs(spec.duration)); // unmeasured
  const start = now();
  const sent = await stream(connection, message, spec.duration);
  return rates(sent, spec.size, now() - start);
}

/** Sends `message` for `durationMs`, then an empty one; checks the receiver's count. Returns the count. */
async function stream(connection: MessageEndpoint, message: Uint8Array, durationMs: number): Promise<number> {
  const batch = message.byteLength >= 16_384 ? 1 : 64;
  let sent = 0;
  const start = now();
  while (!elapsed(start, durationMs)) {
    for (let i = 0; i < batch; i++) await connection.send(message);
    sent += batch;
  }
  await connection.send(new Uint8Array(0));
  const answer = await connection.receive();
  const received = answer === undefined ? -1 : decodeCount(answer);
  if (received !== sent) throw new Error(`sent ${sent} messages, the receiver counted ${received}`);
  return sent;
}
