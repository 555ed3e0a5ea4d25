/**
 * Properties of @ipc/rpc's decoders of peer bytes (decode.ts over the envelope of docs/wire.md §3 and §7):
 * any bytes decode to a valid envelope or a ProtocolError, and a canonical envelope decodes exactly as the
 * generated code reads it; a server fed damaged requests answers each with a status (INVALID_ARGUMENT for a
 * request that does not decode) and goes on serving; a client fed damaged responses settles its call with a
 * value or an RpcError. Seed and runs: see @ipc/testing/property.
 */
import { fileURLToPath } from "node:url";
import { memoryPair } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import fc from "fast-check";
import Long from "long";
import { describe, expect, it } from "vitest";
import { RPC_STATUS_CODES, createClient, isRpcError, loadService, serve, type Implementation } from "../../src/index.js";
import { decodeEnvelope } from "../../src/decode.js";
import { utf8Bytes, utf8Text, type CallId, type Envelope } from "../../src/wire.js";
import { params } from "@ipc/testing/property";
import { apply, decodeOrProtocolError, edits, hostile, mutated } from "@ipc/testing/property";

const Calculator = loadService(fileURLToPath(new URL("../fixtures/calculator.proto", import.meta.url)), "calc.Calculator");
const types = Object.fromEntries(Object.values(Calculator.methods).map((m) => [m.path, m]));
const AddRequest = Calculator.methods.add!.requestType;
const Result = Calculator.methods.add!.responseType;
const EMPTY = new Uint8Array(0);
const MAX_STATUS = 16;

// Field numbers of the envelope's kinds (packages/core/proto/ipc.proto).
const FIELD: Record<string, number> = {
  text: 1,
  binary: 2,
  command: 3,
  data: 4,
  ack: 5,
  hello: 6,
  welcome: 7,
  sessionEnd: 8,
  goodbye: 9,
  mux: 10,
  subscribe: 11,
  publish: 12,
  batch: 13,
  rpcRequest: 16,
  rpcResponse: 17,
  rpcCancel: 18,
  rpcMessage: 19,
  rpcEnd: 20,
  rpcWindow: 21,
};

const plain = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};

function idOf(value: number | Long | null | undefined): CallId {
  const long = Long.fromValue(value ?? 0, true);
  return long.greaterThan(Number.MAX_SAFE_INTEGER) ? long.toBigInt() : long.toNumber();
}

/** What the generated code reads from `bytes`, in decode.ts's shape; undefined if it cannot read them. */
function reference(bytes: Uint8Array): { envelope: Envelope; canonical: boolean } | undefined {
  let m: ipc.IpcMessage;
  try {
    m = ipc.IpcMessage.decode(bytes);
  } catch {
    return undefined;
  }
  // Canonical: the generated code writes these very bytes back. Other encodings of the same values (fields
  // repeated or out of order, known fields with another wire type) are read differently by different
  // decoders; for them only "an envelope or a ProtocolError" is required.
  const canonical = Buffer.compare(ipc.IpcMessage.encode(m).finish(), bytes) === 0;
  let envelope: Envelope;
  switch (m.kind) {
    case "rpcRequest": {
      const r = m.rpcRequest!;
      const timeout = Long.fromValue(r.timeoutMs ?? 0, true);
      const entries = Object.entries(r.metadata ?? {});
      envelope = {
        kind: "request",
        id: idOf(r.id),
        method: utf8Bytes(r.method ?? ""),
        timeoutMs: timeout.greaterThan(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : timeout.toNumber(),
        metadata: entries.length === 0 ? undefined : Object.assign(Object.create(null) as Record<string, string>, Object.fromEntries(entries)),
        metadataTooLarge: false,
        payload: r.payload ?? EMPTY,
        window: r.window ?? 0,
      };
      break;
    }
    case "rpcResponse": {
      const r = m.rpcResponse!;
      const details = Object.hasOwn(r, "details") ? (r.details ?? undefined) : undefined;
      envelope = { kind: "response", id: idOf(r.id), status: r.status ?? 0, message: r.message ?? "", details, payload: r.payload ?? EMPTY };
      break;
    }
    case "rpcCancel":
      envelope = { kind: "cancel", id: idOf(m.rpcCancel!.id), status: m.rpcCancel!.status ?? 0 };
      break;
    case "rpcMessage":
      envelope = { kind: "message", id: idOf(m.rpcMessage!.id), payload: m.rpcMessage!.payload ?? EMPTY };
      break;
    case "rpcEnd":
      envelope = { kind: "end", id: idOf(m.rpcEnd!.id) };
      break;
    case "rpcWindow":
      envelope = { kind: "window", id: idOf(m.rpcWindow!.id), credit: m.rpcWindow!.credit ?? 0 };
      break;
    default:
      envelope = { kind: "other", field: m.kind === undefined ? 0 : FIELD[m.kind]! };
  }
  return { envelope, canonical };
}

/** Request and method fields as the decoder compares them: the method as text. */
const comparable = (e: Envelope): unknown => plain(e.kind === "request" ? { ...e, method: utf8Text(e.method), metadata: e.metadata && { ...e.metadata } } : e);

const u64 = fc
  .oneof(
    { weight: 5, arbitrary: fc.bigInt({ min: 1n, max: 60n }) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
    { weight: 1, arbitrary: fc.constantFrom(0n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n) },
  )
  .map((v) => Long.fromBigInt(v, true));
const text = fc.string({ unit: "binary", maxLength: 10 });
const bytes = fc.uint8Array({ maxLength: 24 });
const paths = Object.keys(types);
const method = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...paths) }, { weight: 1, arbitrary: text });

/** A request's payload: one of the calculator's request messages, or arbitrary bytes. */
const requestPayload = fc.oneof(
  fc.record({ a: fc.integer(), b: fc.integer() }).map((m) => AddRequest.encode(m).finish()),
  fc.record({ message: text }).map((m) => Calculator.methods.echo!.requestType.encode(m).finish()),
  fc.record({ to: fc.nat({ max: 5 }) }).map((m) => Calculator.methods.count!.requestType.encode(m).finish()),
  bytes,
);
const request = fc
  .record({
    id: u64,
    method,
    timeoutMs: fc.oneof(fc.constant(Long.UZERO), u64),
    metadata: fc.dictionary(text, text, { maxKeys: 3 }),
    payload: requestPayload,
    window: fc.nat({ max: 1 << 20 }),
  })
  .map((rpcRequest) => ipc.IpcMessage.encode({ rpcRequest }).finish());
const rpcEnvelope = fc.oneof(
  { weight: 4, arbitrary: request },
  {
    weight: 2,
    arbitrary: fc
      .record({ id: u64, status: fc.integer({ min: 0, max: 20 }), message: text, details: bytes, payload: bytes })
      .map((rpcResponse) => ipc.IpcMessage.encode({ rpcResponse }).finish()),
  },
  { weight: 1, arbitrary: fc.record({ id: u64, status: fc.integer({ min: 0, max: 20 }) }).map((rpcCancel) => ipc.IpcMessage.encode({ rpcCancel }).finish()) },
  { weight: 1, arbitrary: fc.record({ id: u64, payload: bytes }).map((rpcMessage) => ipc.IpcMessage.encode({ rpcMessage }).finish()) },
  { weight: 1, arbitrary: u64.map((id) => ipc.IpcMessage.encode({ rpcEnd: { id } }).finish()) },
  { weight: 1, arbitrary: fc.record({ id: u64, credit: fc.nat() }).map((rpcWindow) => ipc.IpcMessage.encode({ rpcWindow }).finish()) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        text.map((t) => ({ text: t })),
        u64.map((id) => ({ ack: { id } })),
      )
      .map((m) => ipc.IpcMessage.encode(m).finish()),
  },
);
const peerBytes = hostile(rpcEnvelope);

/** A request whose envelope is intact and whose payload is damaged. */
const damagedPayload = fc
  .record({ id: u64, method: fc.constantFrom(...paths), payload: mutated(requestPayload) })
  .map((rpcRequest) => ipc.IpcMessage.encode({ rpcRequest }).finish());

type Calc = typeof Calculator.methods;
const implementation = {
  add: ({ a, b }: { a: number; b: number }) => ({ value: a + b }),
  multiply: ({ a, b }: { a: number; b: number }) => ({ value: a * b }),
  echo: ({ message }: { message: string }) => ({ message }),
  count: async function* ({ to }: { to: number }) {
    for (let value = 1; value <= Math.min(to, 3); value++) yield { value };
  },
  sum: async (numbers: AsyncIterable<{ value: number }>) => {
    let value = 0;
    for await (const n of numbers) value += n.value;
    return { value };
  },
  chat: async function* (requests: AsyncIterable<{ message: string }>) {
    for await (const { message } of requests) yield { message };
  },
  sleep: () => ({}),
} as unknown as Implementation<Calc>;

/** The id of the call that proves the server still serves after the damaged frames (no generated frame uses it). */
const LAST = 987_654_321_987;

/** An RpcRequest envelope whose id is written as the varint bytes `id` (lengths under 128 bytes). */
function requestSpelled(id: readonly number[], path: string, payload: Uint8Array): Uint8Array {
  const method = utf8Bytes(path);
  const inner = [0x08, ...id, 0x12, method.byteLength, ...method, 0x2a, payload.byteLength, ...payload];
  return Uint8Array.from([0x82, 0x01, inner.length, ...inner]);
}

describe("RPC decoder properties", () => {
  it("decodes any bytes to an envelope or a ProtocolError; a canonical envelope exactly as the generated code reads it", () => {
    fc.assert(
      fc.property(peerBytes, (bytes) => {
        const decoded = decodeOrProtocolError(() => decodeEnvelope(bytes));
        const expected = reference(bytes);
        if (expected?.canonical === true) {
          expect(decoded, "refused a canonical envelope").toBeDefined();
          expect(comparable(decoded!)).toEqual(comparable(expected.envelope));
        } else if (decoded !== undefined && decoded.kind !== "other") {
          expect(typeof decoded.id === "number" ? Number.isSafeInteger(decoded.id) && decoded.id >= 0 : decoded.id > BigInt(Number.MAX_SAFE_INTEGER)).toBe(
            true,
          );
        }
      }),
      params(500),
    );
  });

  // Found by the first property: an id written with bits above 64 decoded as a bigint even when its low 64 bits
  // are a small number, so 2^64 passed the server's "id 0" check and 2^64 + 1 its "already in flight" check.
  it("an id written as a 10-byte varint with bits above 64 is the id of its low 64 bits, to the server's checks too", async () => {
    const add = AddRequest.encode({ a: 1, b: 1 }).finish();
    const over = (low: number): number[] => [0x80 | low, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]; // 2^64 + low
    expect(decodeEnvelope(requestSpelled(over(5), "/calc.Calculator/Add", add))).toMatchObject({ kind: "request", id: 5 });
    const [peer, mine] = memoryPair();
    const held = {
      ...implementation,
      sleep: (_request: unknown, context: { signal: AbortSignal }) => new Promise((resolve) => context.signal.addEventListener("abort", () => resolve({}))),
    };
    const server = serve(mine, Calculator, held as unknown as Implementation<Calc>);
    try {
      await peer.send(requestSpelled([0x01], "/calc.Calculator/Sleep", EMPTY));
      await peer.send(requestSpelled(over(1), "/calc.Calculator/Add", add));
      expect(decodeEnvelope((await peer.receive())!)).toMatchObject({
        kind: "response",
        id: 0,
        status: RPC_STATUS_CODES.INVALID_ARGUMENT,
        message: expect.stringMatching(/already/),
      });
      await peer.send(requestSpelled(over(0), "/calc.Calculator/Add", add));
      expect(decodeEnvelope((await peer.receive())!)).toMatchObject({
        kind: "response",
        id: 0,
        status: RPC_STATUS_CODES.INVALID_ARGUMENT,
        message: expect.stringMatching(/id 0/),
      });
    } finally {
      server.abort();
      peer.abort();
    }
  });

  it("a server answers every damaged request with a status, INVALID_ARGUMENT when its payload does not decode, and goes on serving", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(peerBytes, damagedPayload), { minLength: 1, maxLength: 6 }), async (frames) => {
        const [peer, mine] = memoryPair();
        const server = serve(mine, Calculator, implementation);
        try {
          const replies: Envelope[] = [];
          const reading = (async () => {
            for (;;) {
              const bytes = await peer.receive();
              if (bytes === undefined) throw new Error("the server closed the connection");
              const reply = decodeEnvelope(bytes);
              replies.push(reply);
              if (reply.kind === "response" && reply.id === LAST) return;
            }
          })();
          for (const frame of frames) await peer.send(frame);
          await peer.send(
            ipc.IpcMessage.encode({ rpcRequest: { id: LAST, method: "/calc.Calculator/Add", payload: AddRequest.encode({ a: 2, b: 3 }).finish() } }).finish(),
          );
          await reading;
          for (const reply of replies) {
            expect(["response", "window", "message"]).toContain(reply.kind);
            if (reply.kind === "response") expect(reply.status >= 0 && reply.status <= MAX_STATUS, `status ${reply.status}`).toBe(true);
          }
          const last = replies.at(-1) as Extract<Envelope, { kind: "response" }>;
          expect(last.status).toBe(0);
          expect((Result.decode(last.payload) as unknown as { value: number }).value).toBe(5);
          // Each request that decodes, on an id of its own, for a method whose request is one message, whose payload
          // does not decode: INVALID_ARGUMENT on its id.
          const requests = frames.map((f) => decodeOrProtocolError(() => decodeEnvelope(f))).filter((e) => e?.kind === "request");
          for (const r of requests) {
            if (r?.kind !== "request" || r.id === 0 || requests.filter((o) => o!.kind === "request" && o!.id === r.id).length > 1) continue;
            const m = types[utf8Text(r.method)];
            if (m === undefined || (m.kind !== "unary" && m.kind !== "server-stream")) continue;
            let decodes = true;
            try {
              m.requestType.decode(r.payload);
            } catch {
              decodes = false;
            }
            if (decodes) continue;
            expect(replies.find((e) => e.kind === "response" && e.id === r.id)).toMatchObject({ status: RPC_STATUS_CODES.INVALID_ARGUMENT });
          }
        } finally {
          server.abort();
          peer.abort();
        }
      }),
      params(60, 10),
    );
  });

  it("a client settles a call with a value or an RpcError, whatever responses come back", async () => {
    // A response to the call without its id (the client chooses the id), and how it is damaged, if at all.
    const body = fc.oneof(
      fc.integer().map((value) => ({ payload: Result.encode({ value }).finish() })),
      fc.record({ status: fc.integer({ min: 0, max: 20 }), message: text, details: bytes, payload: bytes }),
    );
    const reply = fc.tuple(body, fc.option(edits, { freq: 3 }));
    await fc.assert(
      fc.asyncProperty(fc.array(reply, { minLength: 1, maxLength: 4 }), async (replies) => {
        const [peer, mine] = memoryPair();
        const client = createClient(Calculator, mine);
        try {
          const call = (client.add!({ a: 2, b: 3 }) as Promise<unknown>).then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          );
          const sent = decodeEnvelope((await peer.receive())!);
          expect(sent.kind).toBe("request");
          const id = Long.fromValue((sent as { id: CallId }).id.toString(), true);
          const frames = replies.map(([r, damage]) => {
            const bytes = ipc.IpcMessage.encode({ rpcResponse: { id, ...r } }).finish();
            return damage === null ? bytes : apply(bytes, damage);
          });
          frames.push(ipc.IpcMessage.encode({ rpcResponse: { id, payload: Result.encode({ value: 5 }).finish() } }).finish());
          for (const frame of frames) {
            // Once the client refused something it aborted the connection: the rest cannot be sent.
            if (
              !(await peer.send(frame).then(
                () => true,
                () => false,
              ))
            )
              break;
          }
          const outcome = await call;
          if ("error" in outcome) expect(isRpcError(outcome.error), String(outcome.error)).toBe(true);
          else expect(typeof (outcome.value as { value?: unknown }).value).toBe("number");
        } finally {
          peer.abort();
          mine.abort();
        }
      }),
      params(60, 10),
    );
  });
});
