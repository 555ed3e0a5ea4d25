/**
 * The shm transport's control protocol, over the @ipc/unix rendezvous connection (docs/wire.md, "The
 * shm transport"): the server names the connection's segment, the client answers once it mapped it, and
 * from then on the connection carries doorbells (empty messages), the close ("F") and the abort ("A" and why).
 */
import { FrameTooLargeError, ProtocolError } from "@ipc/core";

/** A doorbell: "the ring you sleep on changed". */
export const BELL = new Uint8Array(0);
/** "I finished writing (my ring's end record is in)." */
export const FIN = new Uint8Array([0x46]);
/**
 * "I aborted, and why": the byte `41` ('A'), then UTF-8 JSON `{"reason":R,…}` with the reason codes of the
 * stream transports' end reasons (docs/wire.md §2.4, §5.6): 1 aborted (`text`), 2 refused a message over
 * its maxMessageSize (`size`, `limit`), 3 dropped the connection for a fault of the peer (`text`).
 */
export const ABORT = 0x41;

/** The reason codes of an 'A' frame. */
export const AbortCode = { Aborted: 1, TooLarge: 2, Dropped: 3 } as const;

/** What an 'A' frame says. */
export interface AbortReason {
  readonly reason: number;
  readonly text: string;
  /** For {@link AbortCode.TooLarge}: the refused message's size and the refusing side's maxMessageSize. */
  readonly size?: number;
  readonly limit?: number;
}

/** The most bytes of text an 'A' frame carries (as a stream's end reason). */
const MAX_TEXT = 1023;

export function encodeAbort(error: Error): Uint8Array {
  let wire: object;
  if (error instanceof FrameTooLargeError) wire = { reason: AbortCode.TooLarge, size: error.size, limit: error.limit };
  else {
    let text = error.message;
    while (new TextEncoder().encode(text).byteLength > MAX_TEXT) text = text.slice(0, -1);
    wire = { reason: error instanceof ProtocolError ? AbortCode.Dropped : AbortCode.Aborted, text };
  }
  const json = new TextEncoder().encode(JSON.stringify(wire));
  const frame = new Uint8Array(1 + json.byteLength);
  frame[0] = ABORT;
  frame.set(json, 1);
  return frame;
}

/** What an 'A' frame says; what cannot be read is an abort without a text. */
export function decodeAbort(frame: Uint8Array): AbortReason {
  try {
    const wire = JSON.parse(new TextDecoder().decode(frame.subarray(1))) as Record<string, unknown>;
    const count = (value: unknown): number | undefined => (Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined);
    const reason = count(wire.reason) ?? AbortCode.Aborted;
    const text = typeof wire.text === "string" ? wire.text.slice(0, MAX_TEXT) : "";
    const size = count(wire.size);
    const limit = count(wire.limit);
    if (reason === AbortCode.TooLarge && size !== undefined && limit !== undefined) return { reason, text: "", size, limit };
    return { reason: reason === AbortCode.TooLarge ? AbortCode.Aborted : reason, text };
  } catch {
    return { reason: AbortCode.Aborted, text: "" };
  }
}

/** The client's answer once it mapped the segment. */
export const MAPPED = new TextEncoder().encode('{"mapped":true}');

/** What the server tells a new client. */
export interface Offer {
  readonly version: 1;
  /** The connection's segment (unlinked once both sides mapped it). */
  readonly segment: string;
  /** Each ring's capacity in bytes; ring 0 carries server → client, ring 1 client → server. */
  readonly capacity: number;
}

export function encodeOffer(offer: Offer): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(offer));
}

export function decodeOffer(bytes: Uint8Array | undefined, what: string): Offer {
  try {
    const offer = JSON.parse(new TextDecoder().decode(bytes)) as Offer;
    if (offer.version === 1 && typeof offer.segment === "string" && Number.isInteger(offer.capacity)) return offer;
  } catch {
    // reported below
  }
  throw new ProtocolError(`${what}: the server's first message is not an shm offer (is it an @ipc shm listener?)`);
}

/**
 * An offer this client can take: a segment name (one path component, as checkName allows) and a ring
 * capacity the ring layout allows (a power of two from 64 to 2^30). A hostile server's offer of a path or
 * of a layout the rings would refuse is a ProtocolError before anything is opened.
 */
export function checkOffer(offer: Offer, what: string): void {
  const { segment, capacity } = offer;
  const name = /^[A-Za-z0-9._-]{1,255}$/.test(segment) && segment !== "." && segment !== "..";
  const size = capacity >= 64 && capacity <= 2 ** 30 && (capacity & (capacity - 1)) === 0;
  if (!name || !size) {
    throw new ProtocolError(
      `${what}: the server offered ${name ? `a ring capacity of ${capacity} bytes (not a power of two from 64 to 2^30)` : `segment ${JSON.stringify(segment.slice(0, 300))} (not a segment name)`}`,
    );
  }
}

/** The abstract Unix socket name a listener on `shm://name` answers at. */
export function rendezvousOf(name: string): string {
  return `unix-abstract:ipc-shm/${name}`;
}
