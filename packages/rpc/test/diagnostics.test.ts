/**
 * `ipc:rpc:call:start` / `ipc:rpc:call:end` and @ipc/rpc's `ipc:protocol:error` (packages/core/README.md,
 * "Observability"), over a real Unix socket. Waits are for the events themselves, never for time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { subscribeDiagnostics, type IpcChannelMessages, type IpcChannelName, type RpcCallEndMessage } from "@ipc/core";
import { connect, listen } from "@ipc/unix";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RpcError, createClient, loadService, serve, type Implementation } from "../src/index.js";
import { EnvelopeWriter } from "../src/encode.js";
import * as generated from "./gen/calculator.js";

const Calculator = loadService(generated, "calc.Calculator");
type Calc = typeof Calculator.methods;

let dir: string;
const cleanups: (() => unknown)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ipc-rpc-diagnostics-"));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Every message on `name` from now on, and a wait for the first one that matches. */
function record<N extends IpcChannelName>(name: N) {
  const messages: IpcChannelMessages[N][] = [];
  const waiters: { test: (m: IpcChannelMessages[N]) => boolean; resolve: (m: IpcChannelMessages[N]) => void }[] = [];
  cleanups.push(
    subscribeDiagnostics(name, (message) => {
      messages.push(message);
      for (const waiter of waiters.splice(0)) {
        if (waiter.test(message)) waiter.resolve(message);
        else waiters.push(waiter);
      }
    }),
  );
  return {
    messages,
    next(test: (m: IpcChannelMessages[N]) => boolean = () => true): Promise<IpcChannelMessages[N]> {
      const seen = messages.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
  };
}

const implementation: Partial<Implementation<Calc>> = {
  add: ({ a, b }) => ({ value: a + b }),
  multiply: () => {
    throw new RpcError("OUT_OF_RANGE", "too big");
  },
  count: async function* ({ to }) {
    for (let value = 1; value <= to; value++) yield { value };
  },
  // Answers only when the call is cancelled or its connection goes.
  sleep: (_request, context) => new Promise((resolve) => context.signal.addEventListener("abort", () => resolve({}))),
};

/** A calculator server on a Unix socket and a client connected to it. */
async function calculator() {
  const listener = await listen(join(dir, "calc.sock"));
  const server = serve(listener, Calculator, implementation as Implementation<Calc>);
  cleanups.push(() => server.close());
  const connection = await connect(listener.address, { timeout: 10_000 });
  cleanups.push(() => connection.close({ timeout: 10_000 }).catch(() => connection.abort()));
  return { connection, client: createClient(Calculator, connection) };
}

describe("ipc:rpc:call:start and ipc:rpc:call:end", () => {
  it("are published on both sides of a unary call, with the same call object at start and end", async () => {
    const starts = record("ipc:rpc:call:start");
    const ends = record("ipc:rpc:call:end");
    const { connection, client } = await calculator();
    expect((await client.add({ a: 2, b: 3 })).value).toBe(5);

    const clientStart = await starts.next((m) => m.call.side === "client");
    expect(clientStart.call).toEqual({ side: "client", method: "/calc.Calculator/Add", kind: "unary", connection });
    const serverStart = await starts.next((m) => m.call.side === "server");
    expect(serverStart.call).toMatchObject({ side: "server", method: "/calc.Calculator/Add", kind: "unary" });
    expect(serverStart.call.connection).not.toBe(connection); // the server's end of the socket

    const clientEnd = await ends.next((m) => m.call === clientStart.call);
    expect(clientEnd).toMatchObject({ status: "OK", error: undefined });
    const serverEnd = await ends.next((m) => m.call === serverStart.call);
    expect(serverEnd).toMatchObject({ status: "OK", error: undefined });
  });

  it("give the failed call's status and error, once per call, streams included", async () => {
    const starts = record("ipc:rpc:call:start");
    const ends = record("ipc:rpc:call:end");
    const { client } = await calculator();
    await expect(client.multiply({ a: 1, b: 1 })).rejects.toMatchObject({ status: "OUT_OF_RANGE" });
    const values: number[] = [];
    for await (const { value } of client.count({ to: 3 })) values.push(value);
    expect(values).toEqual([1, 2, 3]);

    const failed = (side: string): Promise<RpcCallEndMessage> => ends.next((m) => m.call.side === side && m.call.method === "/calc.Calculator/Multiply");
    for (const side of ["client", "server"]) {
      const end = await failed(side);
      expect(end.status).toBe("OUT_OF_RANGE");
      expect(end.error).toBeInstanceOf(RpcError);
      expect(end.error?.message).toMatch(/too big/);
      const stream = await ends.next((m) => m.call.side === side && m.call.method === "/calc.Calculator/Count");
      expect(stream).toMatchObject({ status: "OK", call: { kind: "server-stream" } });
    }
    // Exactly one end for every start.
    expect(ends.messages).toHaveLength(starts.messages.length);
    for (const { call } of starts.messages) expect(ends.messages.filter((m) => m.call === call)).toHaveLength(1);
  });

  it("end a client's call with UNAVAILABLE when its connection fails", async () => {
    const ends = record("ipc:rpc:call:end");
    const { connection, client } = await calculator();
    const pending = client.sleep({ ms: 60_000 });
    connection.abort();
    await expect(pending).rejects.toMatchObject({ status: "UNAVAILABLE" });
    const end = await ends.next((m) => m.call.side === "client" && m.call.method === "/calc.Calculator/Sleep");
    expect(end).toMatchObject({ status: "UNAVAILABLE", call: { connection } });
  });
});

describe("ipc:protocol:error from @ipc/rpc", () => {
  it("is published when a client sends the server a message that belongs to no call", async () => {
    const errors = record("ipc:protocol:error");
    const listener = await listen(join(dir, "raw.sock"));
    const server = serve(listener, Calculator, implementation as Implementation<Calc>);
    cleanups.push(() => server.close());
    const raw = await connect(listener.address, { timeout: 10_000 });
    cleanups.push(() => raw.abort());
    await raw.send(new EnvelopeWriter().response(5, 0, "", undefined, undefined, undefined));
    const published = await errors.next((m) => m.error instanceof RpcError);
    expect(published.error).toMatchObject({ status: "INVALID_ARGUMENT", message: expect.stringMatching(/only a server does/) });
    expect(published.connection.remoteAddress).toBe(listener.address);
  });
});
