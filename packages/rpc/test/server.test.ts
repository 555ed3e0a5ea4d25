import { memoryPair, type Connection } from "@ipc/core";
import { describe, expect, it } from "vitest";
import { RPC_STATUS_CODES, createClient, loadService, type protobuf, serve, type CallContext, type Implementation, type RpcError } from "../src/index.js";
import { decodeEnvelope } from "../src/decode.js";
import { EnvelopeWriter } from "../src/encode.js";
import { utf8Bytes, type Envelope } from "../src/wire.js";
import * as generated from "./gen/calculator.js";

const Calculator = loadService(generated, "calc.Calculator");
const INVALID = RPC_STATUS_CODES.INVALID_ARGUMENT;
const EXHAUSTED = RPC_STATUS_CODES.RESOURCE_EXHAUSTED;
const { calc } = generated;
type Calc = typeof Calculator.methods;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}

function implementation(overrides: Partial<Implementation<Calc>> = {}): Implementation<Calc> {
  return {
    add: ({ a, b }) => ({ value: a + b }),
    multiply: ({ a, b }) => ({ value: a * b }),
    echo: ({ message }) => ({ message }),
    count: async function* ({ to }) {
      for (let value = 1; value <= to; value++) yield { value };
    },
    sum: async (numbers) => {
      let value = 0;
      for await (const n of numbers) value += n.value;
      return { value };
    },
    chat: async function* (requests) {
      for await (const { message } of requests) yield { message };
    },
    sleep: async ({ ms }, context) => {
      await sleep(ms, context.signal);
      return {};
    },
    ...overrides,
  };
}

/** A server of the calculator and, at the other end, a hand-driven client. */
function withRawClient(options?: Parameters<typeof serve>[3], overrides?: Partial<Implementation<Calc>>) {
  const [a, b] = memoryPair();
  const server = serve(b, Calculator, implementation(overrides), options);
  const writer = new EnvelopeWriter();
  return {
    server,
    client: a as Connection,
    send: (bytes: Uint8Array) => a.send(bytes),
    request: (id: number, method: string, message: object = {}, type: { encode: unknown } = calc.AddRequest) =>
      a.send(writer.request(id, utf8Bytes(`/calc.Calculator/${method}`), 0, undefined, type as never, message, 0)),
    next: async (): Promise<Envelope> => decodeEnvelope((await a.receive({ timeout: 5000 }))!),
    writer,
  };
}

describe("serve", () => {
  it("refuses an implementation with an rpc the service does not have, or a handler that is not a function", () => {
    const [, b] = memoryPair();
    expect(() => serve(b, Calculator, { ...implementation(), divide: () => ({}) } as never)).toThrow(
      /'divide', which is not an rpc of calc\.Calculator \(add, multiply, echo, count, sum, chat, sleep\)/,
    );
    expect(() => serve(b, Calculator, { ...implementation(), add: 5 } as never)).toThrow(/must be a function, got number/);
    expect(() => serve(b, {} as never, implementation())).toThrow(/takes a service/);
    expect(() => serve({} as never, Calculator, implementation())).toThrow(/Listener or a Connection/);
    expect(() => serve(b, Calculator, implementation(), { maxConcurrentCalls: 0 })).toThrow(/maxConcurrentCalls must be an integer/);
  });

  it("answers messages that belong to no call on id 0 with INVALID_ARGUMENT, and goes on", async () => {
    const raw = withRawClient();
    await raw.request(0, "Add", { a: 1, b: 1 });
    expect(await raw.next()).toMatchObject({ kind: "response", id: 0, status: INVALID, message: expect.stringMatching(/id 0/) });
    await raw.send(raw.writer.response(5, 0, "", undefined, undefined, undefined));
    expect(await raw.next()).toMatchObject({ id: 0, message: expect.stringMatching(/only a server does/) });
    await raw.send(new Uint8Array([0x0a, 0x02, 0x68, 0x69])); // IpcMessage { text: "hi" }
    expect(await raw.next()).toMatchObject({ id: 0, message: expect.stringMatching(/kind 1/) });
    await raw.send(raw.writer.cancel(77, 1)); // unknown ids: ignored
    await raw.send(raw.writer.window(77, 10));
    await raw.send(raw.writer.end(77));
    await raw.request(1, "Add", { a: 2, b: 3 });
    const reply = (await raw.next()) as { id: number; status: number; payload: Uint8Array };
    expect(reply).toMatchObject({ kind: "response", id: 1, status: 0 });
    expect(calc.Result.decode(reply.payload).value).toBe(5);
  });

  it("refuses a request id already in flight", async () => {
    const raw = withRawClient();
    await raw.request(1, "Sleep", { ms: 60_000 }, calc.SleepRequest);
    await raw.request(1, "Add", { a: 1, b: 1 });
    expect(await raw.next()).toMatchObject({ id: 0, message: expect.stringMatching(/id 1, which a call in flight already has/) });
    await raw.send(raw.writer.cancel(1, 1));
    raw.server.abort();
  });

  it("ends a call whose client breaks the stream rules: messages on a unary call, before the window, beyond it", async () => {
    // A Sum that reads nothing, so the credit it granted is all the client ever gets.
    const raw = withRawClient(
      { maxConcurrentCalls: 1, streamWindow: 100 },
      {
        sum: async (_numbers, context) => {
          await sleep(60_000, context.signal);
          return {};
        },
      },
    );
    await raw.request(1, "Sleep", { ms: 60_000 }, calc.SleepRequest);
    await raw.send(raw.writer.streamMessage(1, calc.Number as never, { value: 1 }));
    expect(await raw.next()).toMatchObject({ id: 1, status: INVALID, message: expect.stringMatching(/stream message on a unary call/) });
    // Sum: the server grants its window when the handler starts.
    await raw.request(2, "Sum", {}, calc.Number);
    expect(await raw.next()).toMatchObject({ kind: "window", id: 2, credit: 100 });
    // 150 bytes (an unknown field, which Number.decode skips): more than the window of 100, then one more.
    const padded = { encode: (_m: unknown, w: protobuf.Writer) => w.uint32(0x7a).bytes(new Uint8Array(150)) };
    await raw.send(raw.writer.streamMessage(2, padded as never, {}));
    await raw.send(raw.writer.streamMessage(2, calc.Number as never, { value: 1 }));
    expect(await raw.next()).toMatchObject({ id: 2, status: EXHAUSTED, message: expect.stringMatching(/flow-control window/) });
    // Call 3 takes the one slot; call 4 waits in the queue, where it has no window yet.
    await raw.request(3, "Sleep", { ms: 60_000 }, calc.SleepRequest);
    await raw.request(4, "Sum", {}, calc.Number);
    await raw.send(raw.writer.streamMessage(4, calc.Number as never, { value: 1 }));
    expect(await raw.next()).toMatchObject({ id: 4, status: EXHAUSTED, message: expect.stringMatching(/before the server granted/) });
    raw.server.abort();
  });

  it("turns whatever a handler throws or returns wrongly into INTERNAL", async () => {
    const [a, b] = memoryPair();
    const server = serve(
      b,
      Calculator,
      implementation({
        add: () => {
          throw "a string";
        },
        multiply: () => Promise.reject(new TypeError("bad")),
        count: (() => 42) as never,
      }),
    );
    const client = createClient(Calculator, a);
    await expect(client.add({})).rejects.toMatchObject({ status: "INTERNAL", message: expect.stringMatching(/a string/) });
    await expect(client.multiply({})).rejects.toMatchObject({ status: "INTERNAL", message: expect.stringMatching(/bad/) });
    const stream = client.count({ to: 1 })[Symbol.asyncIterator]();
    await expect(stream.next()).rejects.toMatchObject({ status: "INTERNAL", message: expect.stringMatching(/no iterable/) });
    client.abort();
    await server.closed;
  });

  it("fails a call whose interceptor never calls next() with INTERNAL", async () => {
    const [a, b] = memoryPair();
    const server = serve(b, Calculator, implementation(), { interceptors: [async () => undefined] });
    const client = createClient(Calculator, a, {
      interceptors: [async (context, next) => (context.method.name === "Multiply" ? undefined : next())],
    });
    await expect(client.add({ a: 1 })).rejects.toMatchObject({
      status: "INTERNAL",
      message: expect.stringMatching(/server interceptor returned without calling next/),
    });
    await expect(client.multiply({ a: 1 })).rejects.toMatchObject({
      status: "INTERNAL",
      message: expect.stringMatching(/client interceptor returned without calling next/),
    });
    client.abort();
    server.abort();
  });

  it("gives a handler that looks at its signal late an already aborted one", async () => {
    const [a, b] = memoryPair();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let lookNow!: () => void;
    const late = new Promise<void>((resolve) => (lookNow = resolve));
    let report!: (status: unknown) => void;
    const seen = new Promise((resolve) => (report = resolve));
    const server = serve(
      b,
      Calculator,
      implementation({
        sleep: async (_request, context: CallContext) => {
          started();
          // It listens for nothing, and looks at its signal only once the cancel has reached the server.
          await late;
          report((context.signal.reason as RpcError | undefined)?.status);
          return {};
        },
      }),
    );
    const client = createClient(Calculator, a);
    const controller = new AbortController();
    const call = client.sleep({ ms: 1 }, { signal: controller.signal });
    await running;
    controller.abort();
    await expect(call).rejects.toMatchObject({ status: "CANCELLED" });
    // A call made after the cancel is answered after the server read the cancel (one connection, in order).
    expect((await client.add({ a: 1, b: 1 })).value).toBe(2);
    lookNow();
    expect(await seen).toBe("CANCELLED");
    client.abort();
    server.abort();
  });

  it("abort() stops at once: handlers' signals abort, the client's calls fail with UNAVAILABLE", async () => {
    const [a, b] = memoryPair();
    let aborted = 0;
    let started = 0;
    let bothRunning!: () => void;
    const running = new Promise<void>((resolve) => (bothRunning = resolve));
    const server = serve(
      b,
      Calculator,
      implementation({
        sleep: async (_r, context) => {
          if (++started === 2) bothRunning();
          await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
          aborted++;
          return {};
        },
      }),
    );
    const client = createClient(Calculator, a);
    const calls = [client.sleep({}), client.sleep({})].map((c) => c.catch((e: RpcError) => e.status));
    await running; // both handlers run (waiting for a fixed time instead could abort before they start)
    server.abort();
    expect(await Promise.all(calls)).toEqual(["UNAVAILABLE", "UNAVAILABLE"]);
    await server.closed;
    expect(aborted).toBe(2);
  });

  it("closes with `await using`", async () => {
    const [a, b] = memoryPair();
    const client = createClient(Calculator, a);
    {
      await using server = serve(b, Calculator, implementation());
      expect((await client.add({ a: 1, b: 1 })).value).toBe(2);
      void server;
    }
    await expect(client.add({ a: 1 })).rejects.toMatchObject({ status: "UNAVAILABLE" });
  });
});
