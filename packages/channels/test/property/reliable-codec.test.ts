/**
 * Properties of the reliable session's decoders (docs/wire.md §8.2): the varints of the hot path, Data and Ack
 * parsed in place, every session message through decodeSessionFrame, and the Batch that carries them
 * (docs/wire.md §8.1). Valid values round-trip; any bytes decode to what the generated code reads from them
 * or to a ProtocolError, and nothing is read outside the bytes given. Seed and runs: see @ipc/testing/property.
 */
import { ipc } from "@ipc/core/proto";
import fc from "fast-check";
import Long from "long";
import { describe, expect, it } from "vitest";
import { forEachInBatch } from "../../src/batch.js";
import {
  decodeSessionFrame,
  encodeAck,
  encodeData,
  encodeGoodbye,
  encodeHello,
  encodeSessionEnd,
  encodeWelcome,
  parseData,
  parsedData,
  type SessionFrame,
} from "../../src/reliable/codec.js";
import { VarintReader, readVarint, varintLength, writeVarint } from "../../src/reliable/varint.js";
import { anyEnvelope, bytes } from "./envelopes.js";
import { params } from "@ipc/testing/property";
import { decodeOrProtocolError, hostile, isProtocolError } from "@ipc/testing/property";

const safeInteger = fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: 0xffff_ffff }), fc.maxSafeNat());
const EMPTY = new Uint8Array(0);

/** Plain values for deep equality (byte arrays of any class as number arrays). */
const plain = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};

/** What docs/wire.md §8.2 makes of `bytes`, read with the code protobufjs generates: a frame, or "error". */
function reference(bytes: Uint8Array): SessionFrame | "error" {
  let m: ipc.IpcMessage;
  try {
    m = ipc.IpcMessage.decode(bytes);
  } catch {
    return "error";
  }
  const numbers: number[] = [];
  const n = (value: number | Long | null | undefined): number => {
    const long = Long.fromValue(value ?? 0, true);
    numbers.push(long.greaterThan(Number.MAX_SAFE_INTEGER) ? -1 : long.toNumber());
    return numbers.at(-1)!;
  };
  let frame: SessionFrame;
  const hs = (h: ipc.IHello) => ({
    version: h.version ?? 0,
    session: h.session ?? EMPTY,
    received: n(h.received),
    ack: n(h.ack),
    window: n(h.window),
    features: 0,
  });
  switch (m.kind) {
    case "data":
      frame = { kind: "data", id: n(m.data!.id), payload: m.data!.payload ?? EMPTY, ack: n(m.data!.ack) };
      break;
    case "ack":
      frame = { kind: "ack", id: n(m.ack!.id) };
      break;
    case "hello":
      frame = { kind: "hello", ...hs(m.hello!) };
      break;
    case "welcome":
      frame = { kind: "welcome", ...hs(m.welcome!) };
      break;
    case "sessionEnd":
      frame = { kind: "sessionEnd", last: n(m.sessionEnd!.last) };
      break;
    case "goodbye":
      frame = { kind: "goodbye", reason: m.goodbye!.reason ?? 0, message: m.goodbye!.message ?? "" };
      break;
    default:
      frame = { kind: "other", name: m.kind ?? "an empty envelope" };
  }
  // Ids and counts past 2^53 − 1 are a protocol error (docs/wire.md §8.2.1).
  return numbers.includes(-1) ? "error" : frame;
}

/**
 * A decoded frame without the handshake's `features` (field 6, which the generated code does not know: it is
 * checked by the round trips).
 */
function withoutFeatures(frame: SessionFrame | undefined): unknown {
  if (frame === undefined || !("features" in frame)) return frame;
  const { features: _features, ...rest } = frame;
  return rest;
}

const sessionMessage = fc.oneof(
  fc.tuple(safeInteger, bytes, safeInteger).map(([id, payload, ack]) => encodeData(id, payload, ack)),
  safeInteger.map(encodeAck),
  fc
    .record({ session: bytes, received: safeInteger, ack: safeInteger, window: safeInteger, features: fc.nat({ max: 127 }) })
    .chain((h) => fc.constantFrom(encodeHello(h), encodeWelcome(h))),
  safeInteger.map(encodeSessionEnd),
  fc.tuple(fc.integer({ min: 0, max: 4 }), fc.string({ maxLength: 20 })).map(([reason, message]) => encodeGoodbye(reason, message)),
  anyEnvelope,
);
const peerBytes = hostile(sessionMessage);

/** `inner` placed inside a larger buffer between `fill` bytes: [buffer, start, end]. */
function embed(inner: Uint8Array, before: number, after: number, fill: number): [Uint8Array, number, number] {
  const buffer = new Uint8Array(before + inner.byteLength + after).fill(fill);
  buffer.set(inner, before);
  return [buffer, before, before + inner.byteLength];
}

describe("reliable session codec properties", () => {
  it("varints round-trip every integer from 0 to 2^53 − 1, in varintLength bytes", () => {
    fc.assert(
      fc.property(safeInteger, fc.nat({ max: 8 }), (value, offset) => {
        const bytes = new Uint8Array(offset + 10).fill(0xaa);
        const end = writeVarint(bytes, offset, value);
        expect(end - offset).toBe(varintLength(value));
        const cursor = { offset };
        expect(readVarint(bytes, cursor, end)).toBe(value);
        expect(cursor.offset).toBe(end);
        const reader = new VarintReader(bytes, offset, end);
        expect(reader.varint()).toBe(value);
        expect(reader.offset).toBe(end);
      }),
      params(300),
    );
  });

  it("a varint read from any bytes is a safe integer read within its bounds, or a failure", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.nat({ max: 12 }), (bytes, cut) => {
        const end = Math.min(cut, bytes.byteLength);
        const cursor = { offset: 0 };
        const value = readVarint(bytes, cursor, end);
        expect(cursor.offset).toBeLessThanOrEqual(end);
        if (value !== -1) expect(Number.isSafeInteger(value) && value >= 0).toBe(true);
        const reader = new VarintReader(bytes, 0, end);
        const read = reader.varint();
        expect(read ?? -1).toBe(value);
        expect(reader.offset).toBeLessThanOrEqual(end);
      }),
      params(300),
    );
  });

  it("Data and Ack round-trip through decodeSessionFrame and through parseData at any place in a buffer", () => {
    fc.assert(
      fc.property(safeInteger, bytes, safeInteger, fc.nat({ max: 16 }), fc.nat({ max: 16 }), (id, payload, ack, before, after) => {
        const data = encodeData(id, payload, ack);
        expect(plain(decodeSessionFrame(data))).toEqual(plain({ kind: "data", id, payload, ack }));
        expect(plain(decodeSessionFrame(encodeAck(id)))).toEqual({ kind: "ack", id });
        const [buffer, start, end] = embed(data, before, after, 0x22);
        expect(parseData(buffer, start, end)).toBe(true);
        expect(plain({ ...parsedData })).toEqual(plain({ id, ack, payload }));
      }),
      params(200),
    );
  });

  it("Hello, Welcome, SessionEnd and Goodbye round-trip", () => {
    fc.assert(
      fc.property(
        bytes,
        safeInteger,
        safeInteger,
        safeInteger,
        fc.integer({ min: 0, max: 4 }),
        fc.string({ maxLength: 20 }),
        fc.nat({ max: 127 }),
        (session, received, ack, window, reason, message, features) => {
          const h = { session, received, ack, window, features };
          expect(plain(decodeSessionFrame(encodeHello(h)))).toEqual(plain({ kind: "hello", version: 1, ...h }));
          expect(plain(decodeSessionFrame(encodeWelcome(h)))).toEqual(plain({ kind: "welcome", version: 1, ...h }));
          expect(decodeSessionFrame(encodeSessionEnd(received))).toEqual({ kind: "sessionEnd", last: received });
          expect(decodeSessionFrame(encodeGoodbye(reason, message))).toEqual({ kind: "goodbye", reason, message });
        },
      ),
      params(150),
    );
  });

  it("decodeSessionFrame reads any bytes as the generated code does, or throws a ProtocolError", () => {
    fc.assert(
      fc.property(peerBytes, (bytes) => {
        const decoded = withoutFeatures(decodeOrProtocolError(() => decodeSessionFrame(bytes)));
        const expected = reference(bytes);
        if (expected === "error") expect(decoded, "decoded what is not a valid session message").toBeUndefined();
        else expect(plain(decoded)).toEqual(plain(withoutFeatures(expected)));
      }),
      params(300),
    );
  });

  it("parseData accepts only what decodeSessionFrame reads as the same Data, and reads nothing outside its bounds", () => {
    fc.assert(
      fc.property(peerBytes, fc.nat({ max: 8 }), fc.nat({ max: 8 }), (bytes, before, after) => {
        const results = [0x00, 0xff].map((fill) => {
          const [buffer, start, end] = embed(bytes, before, after, fill);
          return parseData(buffer, start, end) ? plain({ ...parsedData }) : false;
        });
        // The same answer whatever surrounds the bytes: nothing outside [start, end) was read.
        expect(results[1]).toEqual(results[0]);
        if (results[0] === false) return;
        const frame = decodeSessionFrame(bytes);
        expect(frame.kind).toBe("data");
        expect(results[0]).toEqual(
          plain({ id: (frame as { id: number }).id, ack: (frame as { ack: number }).ack, payload: (frame as { payload: Uint8Array }).payload }),
        );
      }),
      params(300),
    );
  });

  it("a Batch hands out exactly its elements, and any bytes are a Batch's elements, not a Batch, or a ProtocolError", () => {
    const batch = fc.array(sessionMessage, { maxLength: 5 }).map((messages) => ipc.IpcMessage.encode({ batch: { messages } }).finish());
    fc.assert(
      fc.property(fc.oneof(batch, hostile(batch)), (bytes) => {
        const elements: number[][] = [];
        let isBatch: boolean;
        try {
          isBatch = forEachInBatch(bytes, (buffer, start, end) => {
            expect(buffer).toBe(bytes);
            expect(0 <= start && start <= end && end <= bytes.byteLength).toBe(true);
            elements.push([...buffer.subarray(start, end)]);
          });
        } catch (error) {
          expect(isProtocolError(error), String(error)).toBe(true);
          return;
        }
        let decoded: ipc.IpcMessage | undefined;
        try {
          decoded = ipc.IpcMessage.decode(bytes);
        } catch {
          decoded = undefined;
        }
        if (!isBatch) {
          expect(bytes[0]).not.toBe(0x6a);
          return;
        }
        expect(decoded?.kind).toBe("batch");
        expect(elements).toEqual(decoded!.batch!.messages!.map((m) => [...m]));
      }),
      params(300),
    );
  });
});
