import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { RpcError, isRpcError, type CallContext, type Implementation } from "@ipc/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsClient, serveNats, type NatsClient, type NatsServer } from "../src/index.js";
import { Calculator, calculatorRoot, type CalculatorMethods } from "./fixtures/calculator.js";
import { natsServerMissing, startNatsServer, type NatsServer as TestServer } from "@ipc/testing";

const skip = natsServerMissing !== undefined;
const why = skip ? ` (skipped: ${natsServerMissing})` : "";

/** What the handlers saw, for the tests to wait on. */
class Observed {
  readonly #waiters = new Map<string, (reason: unknown) => void>();
  readonly #seen = new Map<string, unknown>();
  note(key: string, value: unknown): void {
    this.#seen.set(key, value);
    this.#waiters.get(key)?.(value);
  }
  wait(key: string): Promise<unknown> {
    if (this.#seen.has(key)) return Promise.resolve(this.#seen.get(key));
    return new Promise((resolve) => this.#waiters.set(key, resolve));
  }
}

function implementation(observed: Observed): Implementation<CalculatorMethods> {
  return {
    add: ({ a, b }) => ({ value: a + b }),
    count: async function* ({ to, pad }) {
      for (let value = 1; value <= to; value++) yield { value, pad: new Uint8Array(pad ?? 0) };
    },
    sum: async (numbers) => {
      let value = 0;
      for await (const n of numbers) value += n.value;
      return { value };
    },
    chat: async function* (requests) {
      for await (const { message } of requests) yield { message: message.toUpperCase() };
    },
    echo: ({ message }, context: CallContext) => {
      if (message === "not found") throw new RpcError("NOT_FOUND", "no such user", { details: new Uint8Array([1, 2, 3]) });
      if (message === "crash") throw new Error("the handler broke");
      return { message: `${message}|${context.metadata.authorization ?? ""}|${context.deadline ? "deadline" : "none"}` };
    },
    sleep: ({ ms }, context) =>
      new Promise((resolve) => {
        observed.note(`sleep ${ms} started`, true);
        const timer = setTimeout(() => resolve({ value: ms }), ms);
        context.signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            observed.note(`sleep ${ms} aborted`, (context.signal.reason as RpcError).status);
            resolve({ value: -1 });
          },
          { once: true },
        );
      }),
    blob: ({ replySize }) => ({ data: new Uint8Array(replySize ?? 0) }),
    who: () => ({ pid: process.pid, name: "in-process" }),
  };
}

describe.skipIf(skip)(`@ipc/rpc services over NATS${why}`, () => {
  let server: TestServer;
  let serverConnection: NatsConnection;
  let clientConnection: NatsConnection;
  let service: NatsServer;
  let client: NatsClient<CalculatorMethods>;
  const observed = new Observed();

  beforeAll(async () => {
    server = await startNatsServer({ maxPayload: 64 * 1024 });
    [serverConnection, clientConnection] = await Promise.all([connect({ servers: server.url }), connect({ servers: server.url })]);
    service = serveNats(serverConnection, Calculator, implementation(observed), { streamWindow: 4096 });
    await serverConnection.flush();
    client = createNatsClient(Calculator, clientConnection, { streamWindow: 4096 });
  });

  afterAll(async () => {
    await client?.close();
    await service?.close();
    await Promise.all([serverConnection?.close(), clientConnection?.close()]);
    await server?.stop();
  });

  it("unary calls, many at once, with metadata and the deadline reaching the handler", async () => {
    expect(await client.add({ a: 19, b: 23 })).toEqual({ value: 42 });
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => client.add({ a: i, b: i })));
    expect(answers.map((a) => a.value)).toEqual(Array.from({ length: 500 }, (_, i) => 2 * i));
    const echo = await client.echo({ message: "hi" }, { metadata: { authorization: "Bearer t0k" }, timeout: 30_000 });
    expect(echo.message).toBe("hi|Bearer t0k|deadline");
  });

  it("server streaming paced by a small window: every message, in order", async () => {
    const values: number[] = [];
    for await (const n of client.count({ to: 300, pad: 100 })) values.push(n.value);
    expect(values).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it("client streaming and bidirectional streaming", async () => {
    async function* numbers() {
      for (let value = 1; value <= 1000; value++) yield { value };
    }
    expect(await client.sum(numbers())).toEqual({ value: 500_500 });
    const replies: string[] = [];
    for await (const reply of client.chat(["a", "b", "c"].map((message) => ({ message })))) replies.push(reply.message);
    expect(replies).toEqual(["A", "B", "C"]);
  });

  it("leaving a response stream early cancels the call", async () => {
    let n = 0;
    for await (const _ of client.count({ to: 1_000_000 })) if (++n === 10) break;
    expect(n).toBe(10);
  });

  it("handler statuses: RpcError with details, INTERNAL, UNIMPLEMENTED", async () => {
    const notFound = await client.echo({ message: "not found" }).catch((e: unknown) => e);
    expect(isRpcError(notFound, "NOT_FOUND")).toBe(true);
    expect((notFound as RpcError).message).toBe("no such user");
    expect([...(notFound as RpcError).details!]).toEqual([1, 2, 3]);
    const crash = await client.echo({ message: "crash" }).catch((e: unknown) => e);
    expect(isRpcError(crash, "INTERNAL")).toBe(true);
    expect((crash as Error).message).toContain("the handler broke");

    const onlyAdd: Partial<Implementation<CalculatorMethods>> = { add: ({ a, b }) => ({ value: a + b }) };
    const partial = serveNats(serverConnection, Calculator, onlyAdd as Implementation<CalculatorMethods>, { prefix: "partial" });
    await serverConnection.flush();
    const partialClient = createNatsClient(Calculator, clientConnection, { prefix: "partial" });
    const missing = await partialClient.echo({ message: "x" }).catch((e: unknown) => e);
    expect(isRpcError(missing, "UNIMPLEMENTED")).toBe(true);
    await partialClient.close();
    await partial.close();
  });

  it("a deadline: the caller fails at once with DEADLINE_EXCEEDED and the handler's signal aborts", async () => {
    const error = await client.sleep({ ms: 60_000 }, { timeout: 200 }).catch((e: unknown) => e);
    expect(isRpcError(error, "DEADLINE_EXCEEDED")).toBe(true);
    expect(await observed.wait("sleep 60000 aborted")).toBe("DEADLINE_EXCEEDED");
  });

  it("the server enforces the deadline itself (a plain NATS request that never cancels)", async () => {
    const AddRequest = calculatorRoot.lookupType("calc.SleepRequest");
    const h = headers();
    h.set("Ipc-Timeout", "200");
    const reply = await clientConnection.request("ipc.rpc.calc.Calculator.Sleep", AddRequest.encode({ ms: 60_001 }).finish(), {
      headers: h,
      timeout: 60_000,
    });
    expect(reply.headers?.get("Ipc-Status")).toBe("4");
    expect(reply.headers?.get("Ipc-Message")).toContain("passed its deadline");
    expect(await observed.wait("sleep 60001 aborted")).toBe("DEADLINE_EXCEEDED");
  });

  it("cancellation reaches the handler", async () => {
    const controller = new AbortController();
    const call = client.sleep({ ms: 60_002 }, { signal: controller.signal });
    await observed.wait("sleep 60002 started");
    controller.abort(new Error("the user pressed stop"));
    const error = await call.catch((e: unknown) => e);
    expect(isRpcError(error, "CANCELLED")).toBe(true);
    expect(((error as RpcError).cause as Error).message).toBe("the user pressed stop");
    expect(await observed.wait("sleep 60002 aborted")).toBe("CANCELLED");
  });

  it("no server for the service is UNAVAILABLE at once (NATS no responders)", async () => {
    const lonely = createNatsClient(Calculator, clientConnection, { prefix: "nobody.home" });
    const error = await lonely.add({ a: 1, b: 2 }, { timeout: 60_000 }).catch((e: unknown) => e);
    expect(isRpcError(error, "UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toContain("no responders");
    await lonely.close();
  });

  it("over the NATS server's max_payload: RESOURCE_EXHAUSTED for a request and for a response", async () => {
    const big = await client.blob({ data: new Uint8Array(100 * 1024) }).catch((e: unknown) => e);
    expect(isRpcError(big, "RESOURCE_EXHAUSTED")).toBe(true);
    expect((big as Error).message).toMatch(/max_payload/);
    const bigReply = await client.blob({ replySize: 100 * 1024 }).catch((e: unknown) => e);
    expect(isRpcError(bigReply, "RESOURCE_EXHAUSTED")).toBe(true);
    // The connection goes on.
    expect(await client.add({ a: 1, b: 1 })).toEqual({ value: 2 });
  });

  it("a plain NATS client calls the service with protobuf alone (docs/wire.md §9)", async () => {
    const AddRequest = calculatorRoot.lookupType("calc.AddRequest");
    const Result = calculatorRoot.lookupType("calc.Result");
    const reply = await clientConnection.request("ipc.rpc.calc.Calculator.Add", AddRequest.encode({ a: 40, b: 2 }).finish(), { timeout: 60_000 });
    // Success is the bare Result: no headers to read.
    expect(reply.headers).toBeUndefined();
    expect(Result.toObject(Result.decode(reply.data))).toEqual({ value: 42 });
  });

  it("metadata NATS cannot carry as a header is refused before sending", async () => {
    const error = await client.echo({ message: "x" }, { metadata: { "bad name": "v" } }).catch((e: unknown) => e);
    expect(isRpcError(error, "INVALID_ARGUMENT")).toBe(true);
  });

  it("interceptors on both sides, in @ipc/rpc's order; a server interceptor refuses with its status", async () => {
    const order: string[] = [];
    const guarded = serveNats(serverConnection, Calculator, implementation(new Observed()), {
      prefix: "guarded",
      interceptors: [
        async (context, next) => {
          order.push("server");
          if (context.metadata.authorization !== "Bearer ok") throw new RpcError("UNAUTHENTICATED", "bad token");
          await next();
        },
      ],
    });
    await serverConnection.flush();
    const caller = createNatsClient(Calculator, clientConnection, {
      prefix: "guarded",
      interceptors: [
        async (context, next) => {
          order.push("client");
          context.metadata.authorization = context.method.name === "Add" ? "Bearer ok" : "Bearer no";
          await next();
        },
      ],
    });
    expect(await caller.add({ a: 2, b: 3 })).toEqual({ value: 5 });
    const refused = await caller.echo({ message: "x" }).catch((e: unknown) => e);
    expect(isRpcError(refused, "UNAUTHENTICATED")).toBe(true);
    expect(order).toEqual(["client", "server", "client", "server"]);
    await caller.close();
    await guarded.close();
  });

  it("a deadline ends a server stream too, and the handler stops", async () => {
    const got: number[] = [];
    const error = await (async () => {
      for await (const n of client.count({ to: 1_000_000_000 }, { timeout: 300 })) got.push(n.value);
    })().catch((e: unknown) => e);
    expect(isRpcError(error, "DEADLINE_EXCEEDED")).toBe(true);
    expect(got.length).toBeGreaterThan(0);
    // The handler's generator is stopped (its slot given back): a condition, polled until it holds.
    while (service.stats().callsRunning > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(service.stats()).toMatchObject({ callsRunning: 0, callsQueued: 0 });
  });

  it("graceful close: running calls finish, new ones find no server", async () => {
    const nc = await connect({ servers: server.url });
    const closing = serveNats(nc, Calculator, implementation(observed), { prefix: "closing" });
    await nc.flush();
    const caller = createNatsClient(Calculator, clientConnection, { prefix: "closing" });
    const running = caller.sleep({ ms: 300 });
    await observed.wait("sleep 300 started");
    const closed = closing.close();
    expect(await running).toEqual({ value: 300 });
    await closed;
    const after = await caller.add({ a: 1, b: 1 }).catch((e: unknown) => e);
    expect(isRpcError(after, "UNAVAILABLE")).toBe(true);
    await caller.close();
    await nc.close();
  });

  it("a queue group shares the calls between the servers of a service", async () => {
    const extra = await Promise.all([connect({ servers: server.url }), connect({ servers: server.url })]);
    const servers = extra.map((nc) => serveNats(nc, Calculator, implementation(new Observed()), { prefix: "shared" }));
    await Promise.all(extra.map((nc) => nc.flush()));
    const shared = createNatsClient(Calculator, clientConnection, { prefix: "shared" });
    await Promise.all(Array.from({ length: 300 }, (_, i) => shared.add({ a: i, b: 1 })));
    const counts = servers.map((s) => s.stats().callsReceived);
    expect(counts.reduce((a, b) => a + b)).toBe(300);
    for (const count of counts) expect(count).toBeGreaterThan(0);
    await shared.close();
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(extra.map((nc) => nc.close()));
  });
});
