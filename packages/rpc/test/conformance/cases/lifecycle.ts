import { describe, expect } from "vitest";
import type { RpcConformanceFixture } from "../fixture.js";
import { serve, type Server } from "@ipc/rpc";
import { caseDefiner, connectionPair, failure, type RpcContext, served, servedListener, until } from "../harness.js";
import { rawRequest, readRaw, type RawEnvelope } from "../raw.js";
import { createTestService, testService } from "../service.js";

const SLOW = { timeout: 60_000 };

/** What happens to calls when connections go, and shutting down. */
export function lifecycleCases(fixture: RpcConformanceFixture, ctx: () => RpcContext): void {
  const missing = fixture.listen === undefined || fixture.connect === undefined || fixture.address === undefined;
  const why = "no listener in this process (address, listen, connect)";
  const test = caseDefiner(fixture, missing, why, SLOW.timeout);

  describe("connections that go", () => {
    test("when the server's end goes, every pending call fails at once with UNAVAILABLE", async () => {
      const { client, server, serverConnection } = await served(ctx());
      const calls = Array.from({ length: 100 }, (_, i) => failure(client.hang({ tag: `h${i}` })));
      const stream = failure(
        (async () => {
          for await (const _chunk of client.count({ count: 2_000_000_000, size: 10 }));
        })(),
      );
      await until("the handlers run", () => server.stats().callsRunning === 101);
      serverConnection.abort();
      for (const error of await Promise.all([...calls, stream])) {
        expect(error.code).toBe("IPC_ERR_RPC");
        expect(error.status).toBe("UNAVAILABLE");
      }
      expect((await failure(client.echo({ text: "after" }))).status).toBe("UNAVAILABLE");
    });

    test("when a client's connection goes, its handlers' signals abort with UNAVAILABLE", async () => {
      const { server, client: connect } = await servedListener(ctx());
      const doomed = await connect();
      const observer = await connect();
      const calls = Array.from({ length: 10 }, (_, i) => doomed.hang({ tag: `gone${i}` }).catch(() => undefined));
      await until("the handlers run", () => server.stats().callsRunning === 10);
      doomed.connection.abort();
      for (let i = 0; i < 10; i++) expect((await observer.aborted({ tag: `gone${i}` })).status).toBe("UNAVAILABLE");
      await Promise.all(calls);
      await until("the handlers returned", () => server.stats().callsRunning === 0);
    });

    test("a client that half-closes with calls in flight gets no response to them; their handlers abort with UNAVAILABLE (docs/wire.md §7.8)", async () => {
      const { client: raw, server: serverConnection } = await connectionPair(ctx());
      let server: Server | undefined;
      const service = createTestService(() => server);
      server = serve(serverConnection, testService, service.implementation);
      ctx().resources.cleanup(() => server!.abort());
      const field = (key: number, text: string): Uint8Array => {
        const bytes = new TextEncoder().encode(text);
        return new Uint8Array([key, bytes.byteLength, ...bytes]);
      };
      await raw.send(rawRequest(1, "/ipc.conformance.Test/Echo", field(0x12, "before"))); // EchoRequest.text
      expect(readRaw((await raw.receive({ timeout: 10_000 }))!)).toMatchObject({ kind: 17, id: 1, status: 0 });
      await raw.send(rawRequest(2, "/ipc.conformance.Test/Hang", field(0x0a, "half-closed"))); // TagRequest.tag
      await until("the handler runs", () => server!.stats().callsRunning === 1);
      // The client's end of stream: it will send nothing more (over a stream socket: shutdown(SHUT_WR)).
      const closing = raw.close({ timeout: 10_000 });
      expect(await service.aborted("half-closed")).toBe("UNAVAILABLE");
      await server.closed;
      const after: RawEnvelope[] = [];
      try {
        for await (const message of raw) after.push(readRaw(message));
      } catch {
        // Over TLS, a side that sent its close_notify reads nothing more: the end comes as an error.
      }
      expect(after.filter((envelope) => envelope.id === 2)).toEqual([]);
      await closing;
    });

    test("a client whose connection is closed under it fails its calls in flight with UNAVAILABLE", async () => {
      const { client, server, service } = await served(ctx());
      const calls = Array.from({ length: 10 }, (_, i) => failure(client.hang({ tag: `under${i}` })));
      await until("the handlers run", () => server.stats().callsRunning === 10);
      const closing = client.connection.close({ timeout: 10_000 });
      for (const error of await Promise.all(calls)) expect(error.status).toBe("UNAVAILABLE");
      for (let i = 0; i < 10; i++) expect(await service.aborted(`under${i}`)).toBe("UNAVAILABLE");
      await closing;
    });

    test("a server serving one connection stops when its client closes", async () => {
      const { client, server } = await served(ctx());
      await client.echo({ text: "one" });
      await client.close({ timeout: 10_000 });
      await server.closed;
      await expect(client.closed).resolves.toBeUndefined();
    });

    test("client.close() lets the calls in flight finish, refuses new ones, then closes the connection", async () => {
      const { client, service } = await served(ctx());
      const call = client.echo({ text: "in flight" }, { metadata: { gate: "close" } });
      const closing = client.close({ timeout: 20_000 });
      expect((await failure(client.echo({ text: "new" }))).status).toBe("UNAVAILABLE");
      service.release("close");
      expect((await call).text).toBe("in flight");
      await closing;
      await expect(client.closed).resolves.toBeUndefined();
    });

    test("client.close({ timeout }) cancels the calls still in flight when it passes", async () => {
      const { client, service } = await served(ctx());
      const call = failure(client.hang({ tag: "stuck" }));
      await client.close({ timeout: 50 });
      expect((await call).status).toBe("CANCELLED");
      expect(await service.aborted("stuck")).toMatch(/CANCELLED|UNAVAILABLE/);
    });
  });

  describe("graceful shutdown", () => {
    test("server.close() stops accepting, lets calls in flight finish, and refuses new calls with UNAVAILABLE", async () => {
      const { server, service, client: connect, listener } = await servedListener(ctx());
      const client = await connect();
      const call = client.echo({ text: "finishing" }, { metadata: { gate: "shutdown" } });
      await until("the call runs", () => server.stats().callsRunning === 1);
      const closing = server.close();
      expect((await failure(client.echo({ text: "too late" }))).status).toBe("UNAVAILABLE");
      await expect(fixture.connect!(listener.address, { timeout: 5000 }).then((c) => c.abort())).rejects.toBeDefined();
      service.release("shutdown");
      expect((await call).text).toBe("finishing");
      await closing;
      await server.closed;
      expect(server.stats().connections).toBe(0);
    });

    test("server.close({ timeout }) fails the calls still running with UNAVAILABLE and aborts their handlers", async () => {
      const { server, service, client: connect } = await servedListener(ctx());
      const client = await connect();
      const stuck = failure(client.hang({ tag: "shutdown-stuck" }));
      await until("the call runs", () => server.stats().callsRunning === 1);
      await server.close({ timeout: 50 });
      const error = await stuck;
      expect(error.status).toBe("UNAVAILABLE");
      expect(error.message).toMatch(/shut down/);
      expect(await service.aborted("shutdown-stuck")).toBe("UNAVAILABLE");
    });

    test("a server on a listener serves many clients at once", async () => {
      const { client: connect, server } = await servedListener(ctx());
      const clients = await Promise.all(Array.from({ length: 10 }, () => connect()));
      const replies = await Promise.all(clients.flatMap((client, c) => Array.from({ length: 20 }, (_, i) => client.echo({ text: `${c}:${i}` }))));
      expect(replies.map((r) => r.text)).toEqual(clients.flatMap((_, c) => Array.from({ length: 20 }, (_, i) => `${c}:${i}`)));
      expect(server.stats().connections).toBe(10);
    });
  });
}
