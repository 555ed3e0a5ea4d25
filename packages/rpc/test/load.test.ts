import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryPair } from "@ipc/core";
import { afterAll, describe, expect, expectTypeOf, it } from "vitest";
import { createClient, loadService, protobuf, serve, type CallContext, type ResponseStream } from "../src/index.js";
import * as generated from "./gen/calculator.js";
import { calc } from "./gen/calculator.js";

const proto = fileURLToPath(new URL("./fixtures/calculator.proto", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ipc-rpc-load-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shapes = {
  add: ["Add", "unary", "calc.AddRequest", "calc.Result"],
  multiply: ["Multiply", "unary", "calc.MultiplyRequest", "calc.Result"],
  echo: ["Echo", "unary", "calc.EchoRequest", "calc.EchoReply"],
  count: ["Count", "server-stream", "calc.CountRequest", "calc.Number"],
  sum: ["Sum", "client-stream", "calc.Number", "calc.Result"],
  chat: ["Chat", "bidi", "calc.EchoRequest", "calc.EchoReply"],
  sleep: ["Sleep", "unary", "calc.SleepRequest", "calc.Empty"],
};

describe("loadService", () => {
  for (const [source, load] of [
    ["a .proto file", () => loadService(proto, "calc.Calculator")],
    ["a protobufjs Root", () => loadService(protobuf.loadSync(proto), "calc.Calculator")],
    ["generated code", () => loadService(generated, "calc.Calculator")],
  ] as const) {
    it(`reads every rpc from ${source}: name, path, call shape and message types`, () => {
      const service = load();
      expect(service.name).toBe("calc.Calculator");
      expect(Object.keys(service.methods).sort()).toEqual(Object.keys(shapes).sort());
      for (const [key, [name, kind, request, response]] of Object.entries(shapes)) {
        const method = (service.methods as Record<string, { name: string; path: string; kind: string; requestTypeName: string; responseTypeName: string }>)[
          key
        ]!;
        expect(method).toMatchObject({ name, kind, path: `/calc.Calculator/${name}`, requestTypeName: request, responseTypeName: response });
      }
    });
  }

  it("uses the generated classes as codecs, resolving names like protobuf does (relative and absolute)", () => {
    const service = loadService(generated, "calc.Calculator");
    expect(service.methods.add.requestType).toBe(calc.AddRequest);
    expect(service.methods.count.responseType).toBe(calc.Number);
    expect(service.methods.sum.requestType).toBe(calc.Number);
  });

  it("a client of the loaded .proto and a server of the generated code speak the same wire", async () => {
    const [a, b] = memoryPair();
    const server = serve(b, loadService(generated, "calc.Calculator"), {
      add: (request: calc.AddRequest) => ({ value: request.a + request.b }),
      count: async function* (request: calc.CountRequest) {
        for (let value = 1; value <= request.to; value++) yield { value };
      },
    } as never);
    // Loaded at run time without declared types: every method is a DynamicCall, which may be missing.
    const client = createClient(loadService(proto, "calc.Calculator"), a);
    expect(await client.add!({ a: 19, b: 23 })).toEqual(expect.objectContaining({ value: 42 }));
    const values: unknown[] = [];
    for await (const n of client.count!({ to: 3 }) as ResponseStream<{ value: number }>) values.push(n.value);
    expect(values).toEqual([1, 2, 3]);
    await client.close();
    await server.closed;
  });

  it("names what is wrong: a missing file, a file that does not parse, a service that is not there", () => {
    expect(() => loadService(join(dir, "nope.proto"), "calc.Calculator")).toThrow(
      expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT", message: expect.stringMatching(/cannot load .*nope\.proto/) }),
    );
    const broken = join(dir, "broken.proto");
    writeFileSync(broken, 'syntax = "proto3"; message {');
    expect(() => loadService(broken, "x.Y")).toThrow(/cannot load/);
    expect(() => loadService(proto, "Calculator")).toThrow(/no service Calculator .*did you mean "calc\.Calculator"/);
    expect(() => loadService(proto, "calc.Nope")).toThrow(/no service calc\.Nope .*e\.g\. "calc\.Calculator"/);
    expect(() => loadService(generated, "calc.Calculator2")).toThrow(/no service calc\.Calculator2 in the generated module/);
    expect(() => loadService(generated, "calc.AddRequest")).toThrow(/no rpc methods/);
    expect(() => loadService(proto, "")).toThrow(/full name/);
  });

  it("refuses an rpc that would hide one of the client's own members", () => {
    const root = protobuf.parse(`syntax = "proto3"; package p; message M {} service S { rpc Close (M) returns (M); }`).root;
    expect(() => loadService(root, "p.S")).toThrow(/rpc 'close' would hide the client's own 'close'/);
  });
});

describe("types from generated code (checked by tsc)", () => {
  const Calculator = loadService(generated, "calc.Calculator");

  it("types every client method from the .proto file", async () => {
    const [a, b] = memoryPair();
    const client = createClient(Calculator, a);
    expectTypeOf(client.add).parameter(0).toEqualTypeOf<calc.AddRequest.$Properties>();
    expectTypeOf(client.add).returns.toEqualTypeOf<Promise<calc.Result & calc.Result.$Shape>>();
    expectTypeOf(client.count).returns.toEqualTypeOf<ResponseStream<calc.Number & calc.Number.$Shape>>();
    expectTypeOf(client.sum).parameter(0).toEqualTypeOf<AsyncIterable<calc.Number.$Properties> | Iterable<calc.Number.$Properties>>();
    expectTypeOf(client.chat).returns.toEqualTypeOf<ResponseStream<calc.EchoReply & calc.EchoReply.$Shape>>();
    // @ts-expect-error a is a number
    void client.add({ a: "1", b: 2 }).catch(() => undefined);
    // @ts-expect-error there is no such rpc
    expect(client.divide).toBeUndefined();
    // @ts-expect-error a stream of requests, not one
    void client.sum({ value: 1 }).catch(() => undefined);
    client.abort();
    b.abort();
  });

  it("types every handler: the decoded request in, what encodes out", () => {
    const [a, b] = memoryPair();
    const server = serve(b, Calculator, {
      add: (request, context) => {
        expectTypeOf(request.a).toEqualTypeOf<number>();
        expectTypeOf(context).toEqualTypeOf<CallContext>();
        return { value: request.a + request.b };
      },
      multiply: async (request) => ({ value: request.a * request.b }),
      echo: (request) => ({ message: request.message }),
      count: async function* (request) {
        for (let value = 1; value <= request.to; value++) yield { value };
      },
      sum: async (numbers) => {
        let value = 0;
        for await (const n of numbers) value += n.value;
        return { value };
      },
      chat: async function* (requests) {
        for await (const request of requests) yield { message: request.message };
      },
      sleep: () => ({}),
    });
    serve(memoryPair()[1], Calculator, {
      // @ts-expect-error the reply's value is a number
      add: () => ({ value: "42" }),
      multiply: () => ({}),
      echo: () => ({}),
      // @ts-expect-error a server stream returns an iterable of replies
      count: () => ({ value: 1 }),
      sum: () => ({}),
      chat: async function* () {},
      sleep: () => ({}),
    }).abort();
    server.abort();
    a.abort();
  });
});
