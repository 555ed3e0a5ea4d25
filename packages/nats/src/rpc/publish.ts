/** Publishing with the errors of @ipc/rpc: what NATS refuses to send becomes an `RpcError`. */
import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import { RpcError } from "@ipc/rpc";
import { messageOf } from "@ipc/rpc/carrier";
import { fastPublish } from "./fast-publish.js";

/** The status a failed `publish()` gives a call: over `max_payload` is `RESOURCE_EXHAUSTED`, the rest `UNAVAILABLE`. */
export function publishFailure(error: unknown, what: string, size: number, limit: number | undefined): RpcError {
  const text = messageOf(error);
  if (/max_payload/i.test(text)) {
    const max = limit === undefined ? "" : ` of ${limit} bytes`;
    return new RpcError("RESOURCE_EXHAUSTED", `${what}: the message is ${size} bytes with its headers, over the NATS server's max_payload${max}`, {
      cause: error,
    });
  }
  return new RpcError("UNAVAILABLE", `${what}: NATS did not take the message (${text})`, { cause: error });
}

/**
 * Publishes, or throws the `RpcError` of {@link publishFailure}. `repeated`: `subject` is published to
 * again and again (a method's subject), so its encoding is worth keeping (see fast-publish.ts).
 */
export function publish(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  options: { reply?: string; headers?: MsgHdrs } | undefined,
  what: string,
  repeated = false,
): void {
  try {
    if (!fastPublish(nc, subject, data, options?.reply, options?.headers, repeated)) nc.publish(subject, data, options);
  } catch (error) {
    throw publishFailure(error, what, data.byteLength, nc.info?.max_payload);
  }
}

/** Publishes a message whose loss is harmless (a cancel, a grant to a call that ended): errors are dropped. */
export function publishQuietly(nc: NatsConnection, subject: string, data: Uint8Array, options?: { reply?: string; headers?: MsgHdrs }): void {
  try {
    nc.publish(subject, data, options);
  } catch {
    // The connection is closing or gone: the peer learns the outcome from its own side.
  }
}

export const EMPTY: Uint8Array = new Uint8Array(0);
