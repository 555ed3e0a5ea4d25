/**
 * Properties of the shm transport's control messages (docs/wire.md §5.6), read from the peer over the
 * rendezvous socket: the server's offer, and the 'A' frame that says why the peer aborted. Valid ones
 * round-trip; any bytes are an offer this client can take (checkOffer) or a ProtocolError, and an abort reason
 * of the documented shape (an unreadable one is a plain abort). Seed and runs: see @ipc/testing/property.
 */
import { FrameTooLargeError, ProtocolError } from "@ipc/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ABORT, AbortCode, checkOffer, decodeAbort, decodeOffer, encodeAbort, encodeOffer } from "../../src/transport/protocol.js";
import { params } from "@ipc/testing/property";

const json = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record(
      { version: fc.oneof(fc.constant(1), fc.jsonValue()), segment: fc.oneof(fc.string(), fc.jsonValue()), capacity: fc.oneof(fc.integer(), fc.jsonValue()) },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        reason: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.jsonValue()),
        text: fc.oneof(fc.string({ maxLength: 1100 }), fc.jsonValue()),
        size: fc.oneof(fc.nat(), fc.jsonValue()),
        limit: fc.oneof(fc.nat(), fc.jsonValue()),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);
const bytes = fc.oneof(
  json.map((text) => new TextEncoder().encode(text)),
  fc.uint8Array({ maxLength: 60 }),
);

describe("shm control message properties", () => {
  it("offers round-trip; any bytes are an offer this client can take (checkOffer) or a ProtocolError", () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/).filter((name) => name !== "." && name !== "..");
    const capacity = fc.integer({ min: 6, max: 30 }).map((bits) => 2 ** bits);
    fc.assert(
      fc.property(segment, capacity, bytes, (name, size, peer) => {
        const offer = { version: 1 as const, segment: name, capacity: size };
        const read = decodeOffer(encodeOffer(offer), "test");
        expect(read).toEqual(offer);
        expect(() => checkOffer(read, "test")).not.toThrow();
        let taken;
        try {
          taken = decodeOffer(peer, "test");
          checkOffer(taken, "test");
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
          return;
        }
        expect(taken.version).toBe(1);
        expect(taken.segment).toMatch(/^[A-Za-z0-9._-]{1,255}$/);
        expect(taken.capacity >= 64 && taken.capacity <= 2 ** 30 && (taken.capacity & (taken.capacity - 1)) === 0).toBe(true);
      }),
      params(100),
    );
  });

  it("abort reasons round-trip; any 'A' frame reads as a reason of the documented shape, never a throw", () => {
    const error = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 1100 }).map((m) => new Error(m)),
      fc.string({ maxLength: 50 }).map((m) => new ProtocolError(m)),
      fc.tuple(fc.nat(), fc.nat()).map(([size, limit]) => new FrameTooLargeError(size, limit)),
    );
    fc.assert(
      fc.property(error, bytes, (e, peer) => {
        const sent = decodeAbort(encodeAbort(e));
        if (e instanceof FrameTooLargeError) expect(sent).toEqual({ reason: AbortCode.TooLarge, text: "", size: e.size, limit: e.limit });
        else {
          expect(sent.reason).toBe(e instanceof ProtocolError ? AbortCode.Dropped : AbortCode.Aborted);
          expect(e.message.startsWith(sent.text)).toBe(true);
        }
        const read = decodeAbort(Uint8Array.from([ABORT, ...peer]));
        expect(Number.isSafeInteger(read.reason) && read.reason >= 0).toBe(true);
        expect(typeof read.text === "string" && read.text.length <= 1023).toBe(true);
        if (read.reason === AbortCode.TooLarge) expect(Number.isSafeInteger(read.size) && Number.isSafeInteger(read.limit)).toBe(true);
      }),
      params(100),
    );
  });
});
