/**
 * Properties of the mux decoders (docs/wire.md §8.3): data frames parsed in place, every other frame through
 * decodeMuxFrame. Valid frames round-trip; any bytes decode to what the generated code reads from them or to a
 * ProtocolError, nothing is read outside the bytes given; and a mux whose peer sends any of them ends, when
 * the peer leaves, with a typed error or none. Seed and runs: see @ipc/testing/property.
 */
import { memoryPair } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mux } from "../../src/index.js";
import { decodeMuxFrame, encodeMuxData, encodeMuxFrame, parseMuxData, parsedMuxData, type MuxFrame } from "../../src/mux/codec.js";
import { bytes, muxFrame, text } from "./envelopes.js";
import { params } from "@ipc/testing/property";
import { decodeOrProtocolError, hostile } from "@ipc/testing/property";

const EMPTY = new Uint8Array(0);
const stream = fc.oneof(fc.nat({ max: 100 }), fc.nat({ max: 0xffff_ffff }));

const plain = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};

/** A mux frame without its `reply` flag. */
type Unreplied = MuxFrame extends infer F ? (F extends MuxFrame ? Omit<F, "reply"> : never) : never;

/** What docs/wire.md §8.3 makes of `bytes`, read with the generated code (`reply` aside: see below). */
function reference(bytes: Uint8Array): Unreplied | "error" {
  let m: ipc.IpcMessage;
  try {
    m = ipc.IpcMessage.decode(bytes);
  } catch {
    return "error";
  }
  if (m.kind !== "mux" || m.mux?.frame == null) return "error";
  const f = m.mux;
  switch (f.frame) {
    case "open":
      return { kind: "open", stream: f.open!.stream ?? 0, name: f.open!.name ?? "", window: f.open!.window ?? 0, features: 0 };
    case "accept":
      return { kind: "accept", stream: f.accept!.stream ?? 0, window: f.accept!.window ?? 0, features: 0 };
    case "data":
      return { kind: "data", stream: f.data!.stream ?? 0, payload: f.data!.payload ?? EMPTY };
    case "credit":
      return { kind: "credit", stream: f.credit!.stream ?? 0, credit: f.credit!.credit ?? 0 };
    case "end":
      return { kind: "end", stream: f.end!.stream ?? 0 };
    case "reset":
      return { kind: "reset", stream: f.reset!.stream ?? 0, message: f.reset!.message ?? "" };
    default:
      // A MuxDataRun: read in place by parseMuxRun where this side reads runs, never by decodeMuxFrame.
      return "error";
  }
}

/**
 * Without `reply`: protobufjs reads a bool as its low 32 bits, the hand-written parser (rightly) as the whole
 * varint; and without `features`, a field the generated code does not know (the round trips check it).
 */
function withoutReply(frame: MuxFrame | Unreplied): unknown {
  const { reply: _reply, features: _features, ...rest } = frame as MuxFrame & { reply?: boolean; features?: number };
  return plain(rest);
}

const muxMessage = fc.oneof(
  fc.tuple(stream, fc.boolean(), bytes).map(([s, reply, payload]) => encodeMuxData(s, reply, payload)),
  muxFrame.map((mux) => ipc.IpcMessage.encode({ mux }).finish()),
);
const peerBytes = hostile(muxMessage);

describe("mux codec properties", () => {
  it("data frames round-trip through decodeMuxFrame and through parseMuxData at any place in a buffer", () => {
    fc.assert(
      fc.property(stream, fc.boolean(), bytes, fc.nat({ max: 16 }), fc.nat({ max: 16 }), (s, reply, payload, before, after) => {
        const encoded = encodeMuxData(s, reply, payload);
        expect(plain(decodeMuxFrame(encoded))).toEqual(plain({ kind: "data", stream: s, reply, payload }));
        const buffer = new Uint8Array(before + encoded.byteLength + after).fill(0x52);
        buffer.set(encoded, before);
        expect(parseMuxData(buffer, before, before + encoded.byteLength)).toBe(true);
        expect(plain({ ...parsedMuxData })).toEqual(plain({ stream: s, reply, payload }));
      }),
      params(200),
    );
  });

  it("open, accept, credit, end and reset frames round-trip", () => {
    const frame: fc.Arbitrary<Exclude<MuxFrame, { kind: "data" }>> = fc.oneof(
      fc.record({ kind: fc.constant("open" as const), stream, name: text, window: stream, features: fc.nat({ max: 127 }) }),
      fc.record({ kind: fc.constant("accept" as const), stream, window: stream, features: fc.nat({ max: 127 }) }),
      fc.record({ kind: fc.constant("credit" as const), stream, reply: fc.boolean(), credit: stream }),
      fc.record({ kind: fc.constant("end" as const), stream, reply: fc.boolean() }),
      fc.record({ kind: fc.constant("reset" as const), stream, reply: fc.boolean(), message: text }),
    );
    fc.assert(
      fc.property(frame, (f) => {
        expect(decodeMuxFrame(encodeMuxFrame(f))).toEqual(f);
      }),
      params(200),
    );
  });

  it("decodeMuxFrame reads any bytes as the generated code does, or throws a ProtocolError", () => {
    fc.assert(
      fc.property(peerBytes, (bytes) => {
        const decoded = decodeOrProtocolError(() => decodeMuxFrame(bytes));
        const expected = reference(bytes);
        if (expected === "error") expect(decoded, "decoded what is not a mux frame").toBeUndefined();
        else expect(withoutReply(decoded!)).toEqual(withoutReply(expected));
      }),
      params(300),
    );
  });

  it("parseMuxData accepts only what decodeMuxFrame reads as the same data frame, and reads nothing outside its bounds", () => {
    fc.assert(
      fc.property(peerBytes, fc.nat({ max: 8 }), fc.nat({ max: 8 }), (bytes, before, after) => {
        const results = [0x00, 0xff].map((fill) => {
          const buffer = new Uint8Array(before + bytes.byteLength + after).fill(fill);
          buffer.set(bytes, before);
          return parseMuxData(buffer, before, before + bytes.byteLength) ? plain({ ...parsedMuxData }) : false;
        });
        expect(results[1]).toEqual(results[0]);
        if (results[0] === false) return;
        const frame = decodeMuxFrame(bytes) as Extract<MuxFrame, { kind: "data" }>;
        expect(frame.kind).toBe("data");
        expect(results[0]).toEqual(plain({ stream: frame.stream, reply: frame.reply, payload: frame.payload }));
      }),
      params(300),
    );
  });

  it("a mux whose peer sends any frames, then leaves, ends with a typed error or none", async () => {
    const batch = fc.array(muxMessage, { minLength: 1, maxLength: 4 }).map((messages) => ipc.IpcMessage.encode({ batch: { messages } }).finish());
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(peerBytes, hostile(batch)), { minLength: 1, maxLength: 6 }), async (sent) => {
        const [peer, mine] = memoryPair();
        const m = mux(mine);
        try {
          // Once the mux has refused something it aborts the connection: the peer's sends fail from then on.
          const refused = await (async () => {
            for (const frame of sent) await peer.send(frame);
            await peer.close();
          })().then(
            () => undefined,
            (e: unknown) => e,
          );
          if (refused !== undefined) expect((refused as { code?: unknown }).code, String(refused)).toBe("IPC_ERR_CONNECTION_RESET");
          const error = await m.closed.then(
            () => undefined,
            (e: unknown) => e,
          );
          if (error !== undefined) expect(String((error as { code?: unknown }).code), String(error)).toMatch(/^IPC_ERR_/);
        } finally {
          peer.abort();
          mine.abort();
        }
      }),
      params(40, 10),
    );
  });
});
