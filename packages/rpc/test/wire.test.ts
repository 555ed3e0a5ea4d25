import { ipc } from "@ipc/core/proto";
import Long from "long";
import { describe, expect, it } from "vitest";
import { protobuf } from "../src/index.js";
import { decodeEnvelope } from "../src/decode.js";
import { EnvelopeWriter } from "../src/encode.js";
import { utf8Bytes, type CallId, type RequestEnvelope } from "../src/wire.js";

/** A deterministic generator (xorshift), so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const Payload = protobuf.parse(`syntax = "proto3"; message P { string s = 1; bytes b = 2; }`).root.lookupType("P");
/** Plain data for deep equality: byte arrays of any class (Buffer, Uint8Array) as number arrays. */
const plain = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};
const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1 ");
const idOf = (value: number | Long | null | undefined): CallId => {
  const long = Long.fromValue(value ?? 0, true);
  return long.lessThanOrEqual(Number.MAX_SAFE_INTEGER) ? long.toNumber() : long.toBigInt();
};

describe("the envelope codec against the code protobufjs generates from ipc.proto", () => {
  const next = random(0x5eed);
  const ids = (): CallId[] => [1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, 2n ** 53n + 1n, 2n ** 64n - 1n, Math.floor(next() * 1e9) + 1];
  const text = (): string => ["", "a", "/calc.Calculator/Add", "ünïcödé ✓", "x".repeat(300)][Math.floor(next() * 5)]!;
  const writer = new EnvelopeWriter();

  it("encodes requests that protobuf decodes field for field", () => {
    for (const id of ids()) {
      const metadata = next() < 0.5 ? undefined : { authorization: "Bearer x", [text()]: text() };
      const message = { s: text(), b: new Uint8Array(Math.floor(next() * 40)).fill(7) };
      const timeoutMs = Math.floor(next() * 2 ** 40);
      const window = Math.floor(next() * 2 ** 31);
      const bytes = writer.request(id, utf8Bytes("/calc.Calculator/Add"), timeoutMs, metadata, Payload as never, message, window);
      const decoded = ipc.IpcMessage.decode(bytes);
      expect(decoded.kind).toBe("rpcRequest");
      const request = decoded.rpcRequest!;
      expect(idOf(request.id)).toEqual(id);
      expect(request.method).toBe("/calc.Calculator/Add");
      expect(Long.fromValue(request.timeoutMs ?? 0).toNumber()).toBe(timeoutMs);
      expect({ ...request.metadata }).toEqual(metadata ?? {});
      expect(request.window ?? 0).toBe(window);
      expect(plain(Payload.toObject(Payload.decode(request.payload ?? new Uint8Array()), { defaults: true }))).toEqual(plain(message));
      expect(writer.payloadSize).toBe(Payload.encode(message).finish().byteLength);
    }
  });

  it("decodes what protobuf encodes, for every RPC kind", () => {
    for (const id of ids()) {
      const long = Long.fromValue(typeof id === "bigint" ? id.toString() : id, true);
      const payload = new Uint8Array(Math.floor(next() * 50)).fill(3);
      const metadata = { a: text(), b: "2" };
      const request = plain(
        decodeEnvelope(ipc.IpcMessage.encode({ rpcRequest: { id: long, method: "/s/M", timeoutMs: 1500, metadata, payload, window: 65536 } }).finish()),
      );
      expect(request).toEqual(
        plain({ kind: "request", id, method: utf8Bytes("/s/M"), timeoutMs: 1500, metadata, metadataTooLarge: false, payload, window: 65536 }),
      );
      const details = new Uint8Array([1, 2, 3]);
      const response = plain(
        decodeEnvelope(
          ipc.IpcMessage.encode({ rpcResponse: { id: long, status: ipc.RpcStatus.RPC_STATUS_NOT_FOUND, message: "gone", details, payload } }).finish(),
        ),
      );
      expect(response).toEqual(plain({ kind: "response", id, status: 5, message: "gone", details, payload }));
      const cancel = decodeEnvelope(ipc.IpcMessage.encode({ rpcCancel: { id: long, status: ipc.RpcStatus.RPC_STATUS_DEADLINE_EXCEEDED } }).finish());
      expect(cancel).toEqual({ kind: "cancel", id, status: 4 });
      expect(plain(decodeEnvelope(ipc.IpcMessage.encode({ rpcMessage: { id: long, payload } }).finish()))).toEqual(plain({ kind: "message", id, payload }));
      expect(decodeEnvelope(ipc.IpcMessage.encode({ rpcEnd: { id: long } }).finish())).toEqual({ kind: "end", id });
      expect(decodeEnvelope(ipc.IpcMessage.encode({ rpcWindow: { id: long, credit: 4096 } }).finish())).toEqual({
        kind: "window",
        id,
        credit: 4096,
      });
    }
  });

  it("round-trips every kind through its own encoder", () => {
    const id = 2n ** 63n + 5n;
    const message = { s: "hi" };
    const reply = decodeEnvelope(writer.response(id, 13, "boom", new Uint8Array([9]), Payload as never, message));
    expect(plain(reply)).toMatchObject({ kind: "response", id, status: 13, message: "boom", details: [9] });
    expect(Payload.decode((reply as { payload: Uint8Array }).payload).toJSON()).toEqual({ s: "hi" });
    expect(decodeEnvelope(writer.cancel(7, 1))).toEqual({ kind: "cancel", id: 7, status: 1 });
    expect(decodeEnvelope(writer.end(8))).toEqual({ kind: "end", id: 8 });
    expect(decodeEnvelope(writer.window(9, 262144))).toEqual({ kind: "window", id: 9, credit: 262144 });
    expect(decodeEnvelope(writer.streamMessage(10, Payload as never, message))).toMatchObject({ kind: "message", id: 10 });
  });

  it("leaves out default values, as protobuf 3 does (an empty message has no payload field)", () => {
    expect(hex(writer.request(1, utf8Bytes("/s/M"), 0, undefined, Payload as never, {}, 0))).toBe("82 01 08 08 01 12 04 2f 73 2f 4d");
    expect(writer.payloadSize).toBe(0);
    expect(hex(writer.response(1, 0, "", undefined, Payload as never, {}))).toBe("8a 01 02 08 01");
  });

  it("skips unknown fields inside a kind and outside it; other kinds decode as 'other'", () => {
    // RpcEnd { id: 3, field 9: "zz" } then an unknown envelope field 40 (varint 1).
    expect(decodeEnvelope(new Uint8Array([0xa2, 0x01, 0x06, 0x08, 0x03, 0x4a, 0x02, 0x7a, 0x7a, 0xc0, 0x02, 0x01]))).toEqual({ kind: "end", id: 3 });
    expect(decodeEnvelope(ipc.IpcMessage.encode({ text: "hi" }).finish())).toEqual({ kind: "other", field: 1 });
    expect(decodeEnvelope(new Uint8Array(0))).toEqual({ kind: "other", field: 0 });
  });

  it("keeps at most 256 metadata entries of 64 KiB together, and flags a request over either", () => {
    const decodeWith = (metadata: Record<string, string>) => {
      const bytes = ipc.IpcMessage.encode({ rpcRequest: { id: 1, method: "/s/M", metadata, payload: new Uint8Array([7]) } }).finish();
      const request = decodeEnvelope(bytes) as RequestEnvelope;
      return { tooLarge: request.metadataTooLarge, entries: request.metadata && Object.keys(request.metadata).length, payload: [...request.payload] };
    };
    const entries = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
    expect(decodeWith(entries(256))).toEqual({ tooLarge: false, entries: 256, payload: [7] });
    expect(decodeWith(entries(257))).toEqual({ tooLarge: true, entries: undefined, payload: [7] });
    expect(decodeWith({ big: "x".repeat(64 * 1024) })).toEqual({ tooLarge: true, entries: undefined, payload: [7] });
    expect(decodeWith({ big: "x".repeat(60 * 1024) })).toEqual({ tooLarge: false, entries: 1, payload: [7] });
  });

  it("throws ProtocolError, and nothing else, on bytes that are not an envelope", () => {
    const bad = [
      [0x82, 0x01, 0x05, 0x08], // truncated kind
      [0x82, 0x01, 0x02, 0x08], // truncated varint
      [0x80, 0x01, 0x01], // field 16 as a varint
      [0x07], // wire type 7
      [0x00, 0x00], // field 0
      [0x82, 0x01, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 11-byte varint
    ];
    for (const bytes of bad) {
      expect(() => decodeEnvelope(new Uint8Array(bytes))).toThrow(expect.objectContaining({ code: "IPC_ERR_PROTOCOL" }));
    }
    const next2 = random(42);
    for (let i = 0; i < 5000; i++) {
      const bytes = new Uint8Array(Math.floor(next2() * 60)).map(() => Math.floor(next2() * 256));
      if (next2() < 0.5 && bytes.length > 2) [bytes[0], bytes[1]] = [0x82 + Math.floor(next2() * 6) * 8, 0x01];
      try {
        decodeEnvelope(bytes);
      } catch (error) {
        expect((error as { code?: string }).code).toBe("IPC_ERR_PROTOCOL");
      }
    }
  });
});

describe("docs/wire.md §7.9 worked examples", () => {
  const writer = new EnvelopeWriter();
  const root = protobuf.parse(`syntax = "proto3"; message AddRequest { int32 a = 1; int32 b = 2; } message Result { int32 value = 1; }`).root;
  const AddRequest = root.lookupType("AddRequest") as never;
  const Result = root.lookupType("Result") as never;
  const add = utf8Bytes("/calc.Calculator/Add");
  it.each([
    [
      "a request for Add(19, 23), id 1, 100 ms left",
      () => writer.request(1, add, 100, undefined, AddRequest, { a: 19, b: 23 }, 0),
      "82 01 20 08 01 12 14 2f 63 61 6c 63 2e 43 61 6c 63 75 6c 61 74 6f 72 2f 41 64 64 18 64 2a 04 08 13 10 17",
    ],
    ["its response, value 42", () => writer.response(1, 0, "", undefined, Result, { value: 42 }), "8a 01 06 08 01 2a 02 08 2a"],
    [
      "a failure: NOT_FOUND 'no such user'",
      () => writer.response(2, 5, "no such user", undefined, undefined, undefined),
      "8a 01 12 08 02 10 05 1a 0c 6e 6f 20 73 75 63 68 20 75 73 65 72",
    ],
    ["a cancel of call 1", () => writer.cancel(1, 1), "92 01 04 08 01 10 01"],
    ["a stream message of call 3 holding Number { value: 1 }", () => writer.streamMessage(3, Result, { value: 1 }), "9a 01 06 08 03 12 02 08 01"],
    ["the end of call 3's request stream", () => writer.end(3), "a2 01 02 08 03"],
    ["64 KiB more credit for call 3", () => writer.window(3, 65536), "aa 01 06 08 03 10 80 80 04"],
  ])("%s", (_name, encode, bytes) => {
    expect(hex(encode())).toBe(bytes);
  });
});
