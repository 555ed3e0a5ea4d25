/**
 * The shm transport's control protocol, over the @ipc/unix rendezvous connection (docs/wire.md, "The
 * shm transport"): the server names the connection's segment, the client answers once it mapped it, and
 * from then on the connection carries doorbells (empty messages) and the close ("F").
 */
import { ProtocolError } from "@ipc/core";

/** A doorbell: "the ring you sleep on changed". */
export const BELL = new Uint8Array(0);
/** "I finished writing (my ring's end record is in)." */
export const FIN = new Uint8Array([0x46]);
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

/** The abstract Unix socket name a listener on `shm://name` answers at. */
export function rendezvousOf(name: string): string {
  return `unix-abstract:ipc-shm/${name}`;
}
