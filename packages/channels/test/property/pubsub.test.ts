/**
 * Properties of the pub/sub decoder (docs/wire.md §8.4), run on every message a publisher or subscriber
 * receives: Subscribe, Publish and Goodbye round-trip; any bytes decode to a well-formed frame or a
 * ProtocolError. Seed and runs: see fc-params.ts.
 */
import { ipc } from "@ipc/core/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePubSubFrame, encodeGoodbye, encodePublish, encodeSubscribe, type PubSubFrame } from "../../src/pubsub/codec.js";
import { anyEnvelope, bytes, text } from "./envelopes.js";
import { params } from "./fc-params.js";
import { decodeOrProtocolError, hostile } from "./mutate.js";

const plain = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};

const safeInteger = fc.oneof(fc.nat({ max: 300 }), fc.maxSafeNat());
const subscribeRequest = fc.record({ topics: fc.array(text, { maxLength: 4 }), prefixes: fc.array(text, { maxLength: 4 }), history: fc.nat({ max: 0xffff_ffff }) });

function expectWellFormed(frame: PubSubFrame): void {
  switch (frame.kind) {
    case "subscribe":
      expect(frame.topics.every((t) => typeof t === "string") && frame.prefixes.every((p) => typeof p === "string")).toBe(true);
      expect(Number.isInteger(frame.history) && frame.history >= 0 && frame.history <= 0xffff_ffff).toBe(true);
      return;
    case "publish":
      expect(typeof frame.topic).toBe("string");
      expect(frame.payload).toBeInstanceOf(Uint8Array);
      expect(Number.isSafeInteger(frame.dropped) && frame.dropped >= 0).toBe(true);
      return;
    case "goodbye":
      expect(Number.isInteger(frame.reason)).toBe(true);
      expect(typeof frame.message).toBe("string");
      return;
    default:
      throw new Error(`decoded an unknown kind: ${JSON.stringify(frame)}`);
  }
}

describe("pub/sub codec properties", () => {
  it("Subscribe, Publish and Goodbye round-trip", () => {
    fc.assert(
      fc.property(subscribeRequest, text, bytes, safeInteger, fc.integer({ min: 0, max: 4 }), (request, topic, payload, dropped, reason) => {
        expect(plain(decodePubSubFrame(encodeSubscribe(request), "test"))).toEqual(plain({ kind: "subscribe", ...request }));
        expect(plain(decodePubSubFrame(encodePublish(topic, payload, dropped), "test"))).toEqual(plain({ kind: "publish", topic, payload, dropped }));
        expect(decodePubSubFrame(encodeGoodbye(reason, topic), "test")).toEqual({ kind: "goodbye", reason, message: topic });
      }),
      params(200),
    );
  });

  it("decodes any bytes to a well-formed frame or a ProtocolError", () => {
    const pubsubMessage = fc.oneof(
      subscribeRequest.map(encodeSubscribe),
      fc.tuple(text, bytes, safeInteger).map(([topic, payload, dropped]) => encodePublish(topic, payload, dropped)),
      anyEnvelope,
    );
    fc.assert(
      fc.property(hostile(pubsubMessage), (bytes) => {
        const frame = decodeOrProtocolError(() => decodePubSubFrame(bytes, "test"));
        if (frame === undefined) return;
        expectWellFormed(frame);
        // What the generated code reads from the same bytes.
        const m = ipc.IpcMessage.decode(bytes);
        expect(m.kind).toBe(frame.kind);
      }),
      params(300),
    );
  });
});
