import { describe, expect } from "vitest";
import { RPC_STATUS_CODES, createClient, loadService, protobuf, serve, type Server } from "@ipc/rpc";
import type { RpcConformanceFixture } from "../fixture.js";
import { caseDefiner, connectionPair, failure, type RpcContext, served } from "../harness.js";
import { rawRequest, readRaw } from "../raw.js";
import { TEST_PROTO, createTestService, testService, type TestMethods } from "../service.js";

const SLOW = { timeout: 60_000 };
const text = new TextEncoder();

/** Unary calls: many in flight, metadata and context, statuses, bad requests. */
export function callCases(fixture: RpcConformanceFixture, ctx: () => RpcContext): void {
  const missing = fixture.listen === undefined || fixture.connect === undefined || fixture.address === undefined;
  const why = "no listener in this process (address, listen, connect)";
  const test = caseDefiner(fixture, missing, why, SLOW.timeout);

  describe("unary calls", () => {
    test("a call returns what the handler returned", async () => {
      const { client } = await served(ctx());
      const reply = await client.echo({ text: "hello", payload: new Uint8Array([1, 2, 3]) });
      expect(reply.text).toBe("hello");
      expect([...reply.payload]).toEqual([1, 2, 3]);
    });

    test("1 000 calls in flight on one connection each get their own response", async () => {
      const { client } = await served(ctx());
      const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.echo({ text: `call ${i}`, delayMs: i % 3 })));
      expect(replies.map((r) => r.text)).toEqual(Array.from({ length: 1000 }, (_, i) => `call ${i}`));
    });

    test("responses that come back in the reverse order are matched to their calls by id", async () => {
      const { client, service } = await served(ctx());
      const order: number[] = [];
      const calls = Array.from({ length: 10 }, (_, i) =>
        client.echo({ text: `call ${i}` }, { metadata: { gate: `g${i}` } }).then((reply) => {
          order.push(i);
          return reply.text;
        }),
      );
      for (let i = 9; i >= 0; i--) {
        service.release(`g${i}`);
        expect(await calls[i]).toBe(`call ${i}`);
      }
      expect(order).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    });

    test("metadata, the deadline and the peer reach the handler", async () => {
      const { client, serverConnection } = await served(ctx());
      const before = Date.now();
      const reply = await client.echo({ text: "m" }, { metadata: { authorization: "Bearer t", "x-trace": "abc" }, timeout: 60_000 });
      const after = Date.now();
      expect(reply.metadata).toEqual({ authorization: "Bearer t", "x-trace": "abc" });
      // The server's deadline is the client's: sent as the time left, rounded up, and started on receipt.
      expect(reply.deadline).toBeGreaterThanOrEqual(before + 60_000);
      expect(reply.deadline).toBeLessThanOrEqual(after + 60_001);
      expect(reply.peerPid).toBe(serverConnection.peer?.pid ?? -1);
      const plain = await client.echo({ text: "no deadline" });
      expect(plain.deadline).toBe(0);
      expect(plain.metadata).toEqual({});
      const date = new Date(Date.now() + 30_000);
      expect((await client.echo({}, { deadline: date })).deadline).toBeGreaterThanOrEqual(date.getTime());
    });

    test("a handler's RpcError reaches the caller with its status, message and details", async () => {
      const { client } = await served(ctx());
      for (const status of ["NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "FAILED_PRECONDITION", "UNAUTHENTICATED"] as const) {
        const error = await failure(client.fail({ status: RPC_STATUS_CODES[status], message: `no ${status}`, details: new Uint8Array([9, status.length]) }));
        expect(error.code).toBe("IPC_ERR_RPC");
        expect(error.name).toBe("RpcError");
        expect(error.status).toBe(status);
        expect(error.message).toBe(`no ${status}`);
        expect([...(error as unknown as { details: Uint8Array }).details]).toEqual([9, status.length]);
      }
    });

    test("any other error a handler throws reaches the caller as INTERNAL", async () => {
      const { client } = await served(ctx());
      const error = await failure(client.fail({ plain: true, message: "disk on fire" }));
      expect(error.status).toBe("INTERNAL");
      expect(error.message).toMatch(/disk on fire/);
      expect((await client.echo({ text: "still up" })).text).toBe("still up");
    });

    test("an unknown method is UNIMPLEMENTED, and the connection goes on", async () => {
      const { client: clientConnection, server: serverConnection } = await connectionPair(ctx());
      let server: Server | undefined;
      const service = createTestService(() => server);
      server = serve(serverConnection, testService, service.implementation);
      const wider = loadService<TestMethods & { readonly missing: TestMethods["echo"] }>(
        protobuf.parse(TEST_PROTO.replace("service Test {", "service Test {\n  rpc Missing (EchoRequest) returns (EchoReply);")).root,
        "ipc.conformance.Test",
      );
      const client = createClient(wider, clientConnection);
      ctx().resources.cleanup(() => (client.abort(), server!.abort()));
      const error = await failure(client.missing({ text: "?" }));
      expect(error.status).toBe("UNIMPLEMENTED");
      expect(error.message).toMatch(/\/ipc\.conformance\.Test\/Missing/);
      expect((await client.echo({ text: "after" })).text).toBe("after");
    });

    test("an rpc the implementation leaves out is UNIMPLEMENTED", async () => {
      const ends = await connectionPair(ctx());
      const { implementation } = createTestService(() => undefined);
      const { echo: _echo, ...rest } = implementation;
      const server = serve(ends.server, testService, rest as typeof implementation);
      const client = createClient(testService, ends.client);
      ctx().resources.cleanup(() => (client.abort(), server.abort()));
      expect((await failure(client.echo({ text: "x" }))).status).toBe("UNIMPLEMENTED");
      expect((await client.big({ size: 3 })).data.byteLength).toBe(3);
    });

    test("a request that does not decode is INVALID_ARGUMENT, and the connection goes on", async () => {
      const { client: raw, server: serverConnection } = await connectionPair(ctx());
      const server = serve(serverConnection, testService, createTestService(() => undefined).implementation);
      ctx().resources.cleanup(() => server.abort());
      // Field 1 (bytes payload) with wire type 7, which protobuf does not have.
      await raw.send(rawRequest(1, "/ipc.conformance.Test/Echo", new Uint8Array([0x0f, 0x01])));
      const bad = readRaw((await raw.receive({ timeout: 10_000 }))!);
      expect(bad).toMatchObject({ kind: 17, id: 1, status: RPC_STATUS_CODES.INVALID_ARGUMENT });
      expect(bad.message).toMatch(/does not decode as ipc\.conformance\.EchoRequest/);
      // EchoRequest { text: "ok" }
      await raw.send(rawRequest(2, "/ipc.conformance.Test/Echo", new Uint8Array([0x12, 0x02, 0x6f, 0x6b])));
      const good = readRaw((await raw.receive({ timeout: 10_000 }))!);
      expect(good).toMatchObject({ kind: 17, id: 2, status: 0 });
      expect(new TextDecoder().decode(good.payload)).toContain("ok");
    });

    test("bytes that are not an envelope are answered on id 0 with INVALID_ARGUMENT, and the connection goes on", async () => {
      const { client: raw, server: serverConnection } = await connectionPair(ctx());
      const server = serve(serverConnection, testService, createTestService(() => undefined).implementation);
      ctx().resources.cleanup(() => server.abort());
      let x = 0x1234567;
      for (let round = 0; round < 20; round++) {
        const garbage = new Uint8Array(50 + round * 13);
        for (let i = 0; i < garbage.length; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          garbage[i] = x & 0xff;
        }
        garbage[0] = 0xff; // an invalid key: never a valid envelope
        await raw.send(garbage);
        const answer = readRaw((await raw.receive({ timeout: 10_000 }))!);
        expect(answer).toMatchObject({ kind: 17, id: 0, status: RPC_STATUS_CODES.INVALID_ARGUMENT });
      }
      await raw.send(text.encode("definitely not protobuf \xff"));
      expect(readRaw((await raw.receive({ timeout: 10_000 }))!).id).toBe(0);
      await raw.send(rawRequest(7, "/ipc.conformance.Test/Echo", new Uint8Array([0x12, 0x01, 0x21])));
      expect(readRaw((await raw.receive({ timeout: 10_000 }))!)).toMatchObject({ kind: 17, id: 7, status: 0 });
    });
  });
}
