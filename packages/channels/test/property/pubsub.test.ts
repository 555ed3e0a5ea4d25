/**
 * Properties of the pub/sub decoder (docs/wire.md §8.4), run on every message a publisher or subscriber
 * receives: Subscribe, Publish and Goodbye round-trip; any bytes decode to a well-formed frame or a
 * ProtocolError. A subscriber delivers exactly what the decoder reads and fails at the first bad frame; a
 * publisher ends a subscriber that sends anything but Subscribe with Goodbye(REASON_PROTOCOL) and goes on
 * serving. Seed and runs: see @ipc/testing/property.
 */
import { memoryPair, memoryTransport } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { publisher, subscribe } from "../../src/index.js";
import { decodePubSubFrame, encodeGoodbye, encodePublish, encodeSubscribe, type PubSubFrame } from "../../src/pubsub/codec.js";
import { memoryAddress } from "../fixtures/messages.js";
import { anyEnvelope, bytes, text } from "./envelopes.js";
import { params } from "@ipc/testing/property";
import { decodeOrProtocolError, hostile, isProtocolError } from "@ipc/testing/property";

const plain = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};

const safeInteger = fc.oneof(fc.nat({ max: 300 }), fc.maxSafeNat());
const subscribeRequest = fc.record({
  topics: fc.array(text, { maxLength: 4 }),
  prefixes: fc.array(text, { maxLength: 4 }),
  history: fc.nat({ max: 0xffff_ffff }),
});

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

const safeIntegerSmall = fc.nat({ max: 1000 });
const fromPublisher = hostile(
  fc.oneof(
    { weight: 4, arbitrary: fc.tuple(text, bytes, safeIntegerSmall).map(([topic, payload, dropped]) => encodePublish(topic, payload, dropped)) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 4 }), text).map(([reason, message]) => encodeGoodbye(reason, message)) },
    { weight: 1, arbitrary: anyEnvelope },
  ),
);
const fromSubscriber = hostile(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({ topics: fc.array(text, { maxLength: 3 }), prefixes: fc.array(text, { maxLength: 2 }), history: fc.nat({ max: 3 }) })
        .map(encodeSubscribe),
    },
    { weight: 1, arbitrary: anyEnvelope },
  ),
);

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

  it("a subscriber delivers what the decoder reads from each frame a publisher sends, and fails at the first bad one", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fromPublisher, { minLength: 1, maxLength: 6 }), async (frames) => {
        const [peer, mine] = memoryPair();
        try {
          const subscription = await subscribe(mine, { prefixes: [""] });
          for (const frame of frames) await peer.send(frame);
          for (const frame of frames) {
            const expected = decodeOrProtocolError(() => decodePubSubFrame(frame, "test"));
            const got = await subscription.receive().then(
              (publication) => ({ publication }),
              (error: unknown) => ({ error: error as { code?: unknown } }),
            );
            if (expected?.kind === "publish") {
              expect(got).toHaveProperty("publication");
              const { publication } = got as { publication: { topic: string; message: Uint8Array; dropped: number } };
              expect(plain(publication)).toEqual(plain({ topic: expected.topic, message: expected.payload, dropped: expected.dropped }));
              continue;
            }
            // Anything else ends the subscription: a Goodbye with the error it names, bad bytes with a ProtocolError.
            expect(got).toHaveProperty("error");
            const { error } = got as { error: { code?: unknown } };
            if (expected === undefined || expected.kind === "subscribe") expect(isProtocolError(error), String(error)).toBe(true);
            else expect(String(error.code)).toMatch(/^IPC_ERR_/);
            return;
          }
          await peer.close();
          expect(await subscription.receive()).toBeUndefined();
        } finally {
          peer.abort();
          mine.abort();
        }
      }),
      params(60, 10),
    );
  });

  it("a publisher ends a subscriber that sends anything but Subscribe with Goodbye(REASON_PROTOCOL), and goes on serving", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fromSubscriber, { minLength: 1, maxLength: 5 }), bytes, async (frames, message) => {
        const raw = await memoryTransport.listen(memoryAddress("pubsub-property"));
        const pub = publisher(raw, { history: 1 });
        const hostileSubscriber = await memoryTransport.connect(raw.address);
        try {
          for (const frame of frames) await hostileSubscriber.send(frame).catch(() => undefined);
          const bad = frames.some((f) => decodeOrProtocolError(() => decodePubSubFrame(f, "test"))?.kind !== "subscribe");
          if (bad) {
            // Publications it subscribed to before the bad frame may come first; then the Goodbye, then the end.
            let frame: PubSubFrame | undefined;
            for (;;) {
              const bytes = await hostileSubscriber.receive();
              expect(bytes, "the publisher closed without a Goodbye").toBeDefined();
              frame = decodePubSubFrame(bytes!, "test");
              if (frame.kind !== "publish") break;
            }
            expect(frame).toMatchObject({ kind: "goodbye", reason: ipc.Goodbye.Reason.REASON_PROTOCOL });
          }
          // Whatever that subscriber sent, a new one is served: it gets the last publication from history.
          await pub.publish("t", message);
          const late = await subscribe(await memoryTransport.connect(raw.address), { topics: ["t"], history: 1 });
          const publication = await late.receive();
          expect(plain(publication)).toEqual(plain({ topic: "t", message, dropped: 0 }));
          late.connection.abort();
        } finally {
          hostileSubscriber.abort();
          await pub.close({ timeout: 1000 }).catch(() => undefined);
        }
      }),
      params(40, 10),
    );
  });
});
