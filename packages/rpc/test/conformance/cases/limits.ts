import { describe, expect } from "vitest";
import { RPC_STATUS_CODES, serve } from "@ipc/rpc";
import type { RpcConformanceFixture } from "../fixture.js";
import { caseDefiner, connectionPair, failure, type RpcContext, served, until } from "../harness.js";
import { rawRequest, readRaw } from "../raw.js";
import { createTestService, testService } from "../service.js";

const SLOW = { timeout: 60_000 };

/** maxConcurrentCalls, its queue, maxMessageSize, and a client that floods. */
export function limitCases(fixture: RpcConformanceFixture, ctx: () => RpcContext): void {
  const missing = fixture.listen === undefined || fixture.connect === undefined || fixture.address === undefined;
  const why = "no listener in this process (address, listen, connect)";
  const test = caseDefiner(fixture, missing, why, SLOW.timeout);

  describe("limits", () => {
    test("with maxQueuedCalls 0, a call beyond maxConcurrentCalls fails with RESOURCE_EXHAUSTED; the others finish", async () => {
      const { client, server, service } = await served(ctx(), { serve: { maxConcurrentCalls: 3, maxQueuedCalls: 0 } });
      const running = Array.from({ length: 3 }, (_, i) => client.echo({ text: `r${i}` }, { metadata: { gate: "limit" } }));
      await until("three handlers run", () => server.stats().callsRunning === 3);
      const error = await failure(client.echo({ text: "one too many" }));
      expect(error.status).toBe("RESOURCE_EXHAUSTED");
      expect(error.message).toMatch(/maxConcurrentCalls 3/);
      service.release("limit");
      expect((await Promise.all(running)).map((r) => r.text)).toEqual(["r0", "r1", "r2"]);
      expect((await client.echo({ text: "room again" })).text).toBe("room again");
    });

    test("calls beyond maxConcurrentCalls wait in the queue and run as slots free up", async () => {
      const { client, server, service } = await served(ctx(), { serve: { maxConcurrentCalls: 2, maxQueuedCalls: 3 } });
      const calls = Array.from({ length: 5 }, (_, i) => client.echo({ text: `q${i}` }, { metadata: { gate: `q${i}` } }));
      await until("two run and three wait", () => server.stats().callsRunning === 2 && server.stats().callsQueued === 3);
      expect((await failure(client.echo({ text: "full" }))).status).toBe("RESOURCE_EXHAUSTED");
      for (let i = 4; i >= 0; i--) service.release(`q${i}`);
      expect((await Promise.all(calls)).map((r) => r.text)).toEqual(["q0", "q1", "q2", "q3", "q4"]);
      expect(server.stats()).toMatchObject({ callsRunning: 0, callsQueued: 0 });
    });

    test("a call whose request would take the queue over maxQueuedBytes fails with RESOURCE_EXHAUSTED; one always fits", async () => {
      const { client, server, service } = await served(ctx(), {
        serve: { maxConcurrentCalls: 1, maxQueuedCalls: 100, maxQueuedBytes: 10_000 },
      });
      const running = client.echo({ text: "running" }, { metadata: { gate: "bytes" } });
      await until("the call runs", () => server.stats().callsRunning === 1);
      const first = client.echo({ payload: new Uint8Array(12_000) });
      await until("it waits", () => server.stats().callsQueued === 1);
      const error = await failure(client.echo({ payload: new Uint8Array(10) }));
      expect(error.status).toBe("RESOURCE_EXHAUSTED");
      expect(error.message).toMatch(/maxQueuedBytes 10000/);
      service.release("bytes");
      expect((await running).text).toBe("running");
      expect((await first).payload.byteLength).toBe(12_000);
      const fits = Array.from({ length: 3 }, () => client.echo({ payload: new Uint8Array(3000) }));
      expect((await Promise.all(fits)).map((r) => r.payload.byteLength)).toEqual([3000, 3000, 3000]);
    });

    test("a queued call that is cancelled leaves the queue at once", async () => {
      const { client, server, service } = await served(ctx(), { serve: { maxConcurrentCalls: 1, maxQueuedCalls: 1 } });
      const running = client.echo({ text: "running" }, { metadata: { gate: "one" } });
      const controller = new AbortController();
      const queued = failure(client.echo({ text: "queued" }, { signal: controller.signal }));
      await until("one waits", () => server.stats().callsQueued === 1);
      controller.abort();
      expect((await queued).status).toBe("CANCELLED");
      await until("the queue is empty", () => server.stats().callsQueued === 0);
      service.release("one");
      expect((await running).text).toBe("running");
    });

    test("a request over the client's maxMessageSize fails with RESOURCE_EXHAUSTED before it is sent", async () => {
      const { client } = await served(ctx(), { client: { maxMessageSize: 1000 } });
      const error = await failure(client.echo({ payload: new Uint8Array(2000) }));
      expect(error.status).toBe("RESOURCE_EXHAUSTED");
      expect(error.message).toMatch(/maxMessageSize of 1000/);
      expect((await client.echo({ payload: new Uint8Array(500) })).payload.byteLength).toBe(500);
    });

    test("a request over the server's maxMessageSize fails with RESOURCE_EXHAUSTED; the connection goes on", async () => {
      const { client } = await served(ctx(), { serve: { maxMessageSize: 1000 } });
      expect((await failure(client.echo({ payload: new Uint8Array(5000) }))).status).toBe("RESOURCE_EXHAUSTED");
      expect((await client.echo({ text: "small" })).text).toBe("small");
    });

    test("a response over the server's or the client's maxMessageSize fails with RESOURCE_EXHAUSTED", async () => {
      const serverLimited = await served(ctx(), { serve: { maxMessageSize: 1000 } });
      expect((await failure(serverLimited.client.big({ size: 5000 }))).status).toBe("RESOURCE_EXHAUSTED");
      expect((await serverLimited.client.big({ size: 100 })).data.byteLength).toBe(100);
      const clientLimited = await served(ctx(), { client: { maxMessageSize: 1000 } });
      expect((await failure(clientLimited.client.big({ size: 5000 }))).status).toBe("RESOURCE_EXHAUSTED");
      expect((await clientLimited.client.big({ size: 100 })).data.byteLength).toBe(100);
    });

    test("metadata over 256 entries or 64 KiB fails with RESOURCE_EXHAUSTED, on either side; the connection goes on", async () => {
      const { client } = await served(ctx());
      const many = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, "v"]));
      expect((await failure(client.echo({}, { metadata: many }))).status).toBe("RESOURCE_EXHAUSTED");
      expect((await failure(client.echo({}, { metadata: { big: "x".repeat(70_000) } }))).status).toBe("RESOURCE_EXHAUSTED");
      const fits = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`k${i}`, "v"]));
      expect(Object.keys((await client.echo({}, { metadata: fits })).metadata)).toHaveLength(256);
      // A peer that does not check: the server answers that call, and the next one normally.
      const { client: raw, server: serverConnection } = await connectionPair(ctx());
      let server: ReturnType<typeof serve> | undefined;
      server = serve(serverConnection, testService, createTestService(() => server).implementation);
      ctx().resources.cleanup(() => server!.abort());
      const tiny = Array.from({ length: 10_000 }, (_, i): [string, string] => [`${i}`, ""]);
      await raw.send(rawRequest(1, "/ipc.conformance.Test/Echo", new Uint8Array(0), tiny));
      const refused = readRaw((await raw.receive({ timeout: 10_000 }))!);
      expect(refused).toMatchObject({ kind: 17, id: 1, status: RPC_STATUS_CODES.RESOURCE_EXHAUSTED });
      expect(refused.message).toMatch(/metadata is over 256 entries/);
      await raw.send(rawRequest(2, "/ipc.conformance.Test/Echo", new Uint8Array(0), [["k", "v"]]));
      expect(readRaw((await raw.receive({ timeout: 10_000 }))!)).toMatchObject({ kind: 17, id: 2, status: 0 });
    });

    test("a client that floods requests without reading the responses cannot grow the server's buffers", async () => {
      const { client: raw, server: serverConnection } = await connectionPair(ctx());
      let server: ReturnType<typeof serve> | undefined;
      server = serve(serverConnection, testService, createTestService(() => server).implementation, {
        maxConcurrentCalls: 50,
        maxQueuedCalls: 50,
      });
      ctx().resources.cleanup(() => server!.abort());
      // 50 000 requests of 4 KiB: 200 MiB, more than any transport buffers (loopback TCP's kernel buffers
      // autotune to several MiB each way), so the flood must stall unless the server reads without limit.
      const total = 50_000;
      const size = 4096;
      const payload = new Uint8Array([0x0a, 0x80, 0x20, ...new Uint8Array(size)]); // EchoRequest { payload: 4 KiB }
      let accepted = 0;
      let stop = false;
      // One send at a time: each waits while the connection pushes back.
      const flooding = (async () => {
        for (let i = 0; i < total && !stop; i++) {
          await raw.send(rawRequest(i + 1, "/ipc.conformance.Test/Echo", payload));
          accepted++;
        }
      })();
      let peak = { pending: 0, calls: 0 };
      let still = 0;
      let last = -1;
      // Watch until the flood stalls (the server stopped reading) or all of it was taken.
      while (accepted < total && still < 100) {
        const stats = server.stats();
        peak = {
          pending: Math.max(peak.pending, stats.pendingResponseBytes),
          calls: Math.max(peak.calls, stats.callsRunning + stats.callsQueued),
        };
        still = accepted === last ? still + 1 : 0;
        last = accepted;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(accepted).toBeLessThan(total);
      // The server's own buffers: its pause threshold, plus at most one response per call in flight.
      expect(peak.pending).toBeLessThanOrEqual(1024 * 1024);
      expect(peak.calls).toBeLessThanOrEqual(100);
      // Reading the responses lets the server go on: every request sent is answered, in the end.
      stop = true;
      let sent: number | undefined;
      void flooding.then(() => (sent = accepted));
      const ids = new Set<number>();
      while (sent === undefined || ids.size < sent) {
        const envelope = readRaw((await raw.receive({ timeout: 20_000 }))!);
        expect(envelope.kind).toBe(17);
        ids.add(envelope.id);
      }
      await flooding;
      expect(ids.size).toBe(accepted);
    });
  });
}
