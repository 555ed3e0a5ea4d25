import { memoryPair, type Connection } from "@ipc/core";
import { describe, expect, it } from "vitest";
import {
  RpcError,
  createClient,
  isRpcError,
  loadService,
  type protobuf,
  statusName,
  type Client,
  type ClientStream,
  type ServerStream,
  type Unary,
} from "../src/index.js";
import { decodeEnvelope } from "../src/decode.js";
import { EnvelopeWriter } from "../src/encode.js";
import type { Envelope } from "../src/wire.js";
import * as generated from "./gen/calculator.js";

const Calculator = loadService(generated, "calc.Calculator");
const { calc } = generated;

async function failure(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    return error as RpcError;
  }
  throw new Error("expected a failure");
}

/** A client and, at the other end, a hand-driven server that reads envelopes and writes them. */
function withRawServer(): {
  client: Client<typeof Calculator.methods>;
  server: Connection;
  next(): Promise<Envelope>;
  writer: EnvelopeWriter;
} {
  const [a, b] = memoryPair();
  const client = createClient(Calculator, a);
  return {
    client,
    server: b,
    writer: new EnvelopeWriter(),
    next: async () => decodeEnvelope((await b.receive({ timeout: 5000 }))!),
  };
}

describe("statuses and RpcError", () => {
  it("names statuses by their wire numbers; unknown numbers are UNKNOWN", () => {
    expect(statusName(0)).toBe("OK");
    expect(statusName(4)).toBe("DEADLINE_EXCEEDED");
    expect(statusName(16)).toBe("UNAUTHENTICATED");
    expect(statusName(99)).toBe("UNKNOWN");
    expect(statusName(-1)).toBe("UNKNOWN");
  });

  it("is an IpcError with code IPC_ERR_RPC, a status, details and a cause", () => {
    const cause = new Error("why");
    const error = new RpcError("NOT_FOUND", "no such user", { details: new Uint8Array([1]), cause });
    expect(error).toMatchObject({ name: "RpcError", code: "IPC_ERR_RPC", status: "NOT_FOUND", message: "no such user", cause });
    expect([...error.details!]).toEqual([1]);
    expect(isRpcError(error)).toBe(true);
    expect(isRpcError(error, "NOT_FOUND")).toBe(true);
    expect(isRpcError(error, "INTERNAL")).toBe(false);
    expect(isRpcError(new Error("x"))).toBe(false);
  });
});

describe("createClient", () => {
  it("refuses what is not a service or a connection, and bad options", () => {
    const [a] = memoryPair();
    expect(() => createClient({} as never, a)).toThrow(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    expect(() => createClient(Calculator, {} as never)).toThrow(/takes a Connection/);
    expect(() => createClient(Calculator, a, { streamWindow: 0 })).toThrow(/streamWindow must be an integer/);
    expect(() => createClient(Calculator, a, { interceptors: [1 as never] })).toThrow(/array of functions/);
  });

  it("rejects a call with bad options with InvalidArgumentError, and bad metadata with INVALID_ARGUMENT", async () => {
    const { client } = withRawServer();
    await expect(client.add({ a: 1 }, { timeout: -5 })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    await expect(client.add({ a: 1 }, { deadline: new Date(Number.NaN) })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    await expect(client.add({ a: 1 }, { signal: {} as AbortSignal })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    expect(() => client.count({ to: 1 }, { timeout: Number.NaN })).toThrow(/timeout must be/);
    expect((await failure(client.add({ a: 1 }, { metadata: { n: 5 as unknown as string } }))).status).toBe("INVALID_ARGUMENT");
    expect((await failure(client.sum(5 as never))).status).toBe("INVALID_ARGUMENT");
    client.abort();
  });

  it("sends what docs/wire.md §7 says: the request with its id, path, time left and window", async () => {
    const { client, next } = withRawServer();
    // The time left, not the deadline: at most the timeout, and not much less (a margin of 100 s, so that a
    // busy machine cannot fail it, still tells it from an absolute time or a time already spent).
    void client.add({ a: 19, b: 23 }, { timeout: 600_000, metadata: { k: "v" } }).catch(() => undefined);
    const request = await next();
    expect(request).toMatchObject({ kind: "request", id: 1, metadata: { k: "v" }, window: 0 });
    expect(Buffer.from((request as { method: Uint8Array }).method).toString()).toBe("/calc.Calculator/Add");
    expect((request as { timeoutMs: number }).timeoutMs).toBeGreaterThan(500_000);
    expect((request as { timeoutMs: number }).timeoutMs).toBeLessThanOrEqual(600_000);
    expect(calc.AddRequest.decode((request as { payload: Uint8Array }).payload).toJSON()).toEqual({ a: 19, b: 23 });
    const streaming = client.count({ to: 2 })[Symbol.asyncIterator]();
    void streaming.next().catch(() => undefined);
    expect(await next()).toMatchObject({ kind: "request", id: 2, window: 256 * 1024 });
    client.abort();
  });

  it("sends the messages a client stream yields in one burst with one sendBatch(), in order, then its end", async () => {
    const [a, b] = memoryPair();
    const batches: number[] = [];
    const sendBatch = a.sendBatch.bind(a);
    a.sendBatch = (messages, options) => {
      batches.push(messages.length);
      return sendBatch(messages, options);
    };
    const client = createClient(Calculator, a);
    const next = async (): Promise<Envelope> => decodeEnvelope((await b.receive({ timeout: 5000 }))!);
    const writer = new EnvelopeWriter();
    const numbers = Array.from({ length: 100 }, (_, value) => ({ value }));
    const sum = client.sum(numbers);
    const { id } = (await next()) as { id: number };
    await b.send(writer.window(id, 1024 * 1024));
    for (const { value } of numbers) {
      const message = (await next()) as { kind: string; payload: Uint8Array };
      expect(message.kind).toBe("message");
      expect(calc.Number.decode(message.payload).value).toBe(value);
    }
    expect(await next()).toMatchObject({ kind: "end", id });
    // An array yields at once: the whole stream is one burst (within the 64 KiB a burst holds).
    expect(batches).toEqual([100]);
    await b.send(writer.response(id, 0, "", undefined, calc.Result as never, { value: 4950 }));
    expect(await sum).toEqual(expect.objectContaining({ value: 4950 }));
    client.abort();
  });

  it("sends a client stream's message at once when the source waits, without holding it for a batch", async () => {
    const { client, next, server, writer } = withRawServer();
    let release!: () => void;
    const later = new Promise<void>((resolve) => (release = resolve));
    const source = (async function* () {
      yield { value: 1 };
      await later;
      yield { value: 2 };
    })();
    const sum = client.sum(source);
    const { id } = (await next()) as { id: number };
    await server.send(writer.window(id, 1024 * 1024));
    // The first message arrives while the source still waits for the second.
    const first = (await next()) as { kind: string; payload: Uint8Array };
    expect(first.kind).toBe("message");
    expect(calc.Number.decode(first.payload).value).toBe(1);
    release();
    expect(calc.Number.decode(((await next()) as { payload: Uint8Array }).payload).value).toBe(2);
    expect(await next()).toMatchObject({ kind: "end", id });
    await server.send(writer.response(id, 0, "", undefined, calc.Result as never, { value: 3 }));
    expect(await sum).toEqual(expect.objectContaining({ value: 3 }));
    client.abort();
  });

  it("ignores messages for calls it does not know, and a server's garbage fails every call with UNAVAILABLE", async () => {
    const { client, server, next, writer } = withRawServer();
    const call = failure(client.add({ a: 1, b: 2 }));
    const { id } = (await next()) as { id: number };
    await server.send(writer.response(999, 0, "", undefined, calc.Result as never, { value: 1 }));
    await server.send(writer.window(998, 10));
    await server.send(writer.cancel(id, 1)); // a server does not send cancels: ignored
    await server.send(new Uint8Array([0xff, 0xff]));
    const error = await call;
    expect(error.status).toBe("UNAVAILABLE");
    expect(error.message).toMatch(/not protobuf|envelope/);
  });

  it("fails a call whose server breaks the protocol with INTERNAL, tells it, and goes on", async () => {
    const { client, server, next, writer } = withRawServer();
    // A stream message on a unary call.
    const unary = failure(client.add({ a: 1, b: 2 }));
    const first = (await next()) as { id: number };
    await server.send(writer.streamMessage(first.id, calc.Result as never, { value: 1 }));
    expect((await unary).status).toBe("INTERNAL");
    expect(await next()).toMatchObject({ kind: "cancel", id: first.id, status: 1 });
    // More than the window on a stream: a valid Number (with an unknown field to make it big), twice.
    const iterator = client.count({ to: 10 })[Symbol.asyncIterator]();
    const request = (await next()) as { id: number; window: number };
    const padded = { encode: (_m: unknown, w: protobuf.Writer) => w.uint32(0x08).uint32(7).uint32(0x7a).bytes(new Uint8Array(request.window)) };
    await server.send(writer.streamMessage(request.id, padded as never, {}));
    await server.send(writer.streamMessage(request.id, calc.Number as never, { value: 2 }));
    // The call fails at once: what arrived before the violation is dropped with it.
    const overflow = await failure(iterator.next());
    expect(overflow.status).toBe("INTERNAL");
    expect(overflow.message).toMatch(/flow-control window/);
    expect(await next()).toMatchObject({ kind: "cancel", id: request.id });
    // A response that does not decode.
    const third = failure(client.add({ a: 1 }));
    const request3 = (await next()) as { id: number };
    const invalid = { encode: (_m: unknown, w: protobuf.Writer) => w.uint32(0x0f).uint32(1) };
    await server.send(writer.response(request3.id, 0, "", undefined, invalid as never, {}));
    const undecodable = await third;
    expect(undecodable.status).toBe("INTERNAL");
    expect(undecodable.message).toMatch(/does not decode as calc\.Result/);
    client.abort();
  });
});

describe("calls of a service loaded at run time without types", () => {
  type Methods = {
    readonly add: Unary<{ a: number; b: number }, { value: number }>;
    readonly count: ServerStream<{ to: number }, { value: number }>;
    readonly sum: ClientStream<{ value: number }, { value: number }>;
  };
  const proto = new URL("./fixtures/calculator.proto", import.meta.url).pathname;

  it("work with declared types, and with none (DynamicCall)", async () => {
    const typed = loadService<Methods>(proto, "calc.Calculator");
    const dynamic = loadService(proto, "calc.Calculator");
    expect(Object.keys(typed.methods)).toEqual(Object.keys(dynamic.methods));
    const [a, b] = memoryPair();
    const { serve } = await import("../src/index.js");
    const server = serve(b, typed, {
      add: ({ a: x, b: y }) => ({ value: x + y }),
      count: async function* ({ to }) {
        for (let value = 1; value <= to; value++) yield { value };
      },
      sum: async (numbers) => {
        let value = 0;
        for await (const n of numbers) value += n.value;
        return { value };
      },
    });
    const client = createClient(dynamic, a);
    expect(await client.add!({ a: 2, b: 3 })).toMatchObject({ value: 5 });
    const values: unknown[] = [];
    for await (const n of client.count!({ to: 3 }) as AsyncIterable<{ value: number }>) values.push(n.value);
    expect(values).toEqual([1, 2, 3]);
    expect(await client.sum!([{ value: 4 }, { value: 5 }])).toMatchObject({ value: 9 });
    await client.close();
    await server.closed;
  });
});
