import { describe, expect } from "vitest";
import { RPC_STATUS_CODES, createClient } from "@ipc/rpc";
import type { RpcConformanceFixture } from "../fixture.js";
import { caseDefiner, connectionPair, failure, type RpcContext, served, until } from "../harness.js";
import { readRaw } from "../raw.js";
import { testService } from "../service.js";

const SLOW = { timeout: 60_000 };

/** Deadlines and cancellation, on both sides and across the wire. */
export function deadlineCases(fixture: RpcConformanceFixture, ctx: () => RpcContext): void {
  const missing = fixture.listen === undefined || fixture.connect === undefined || fixture.address === undefined;
  const why = "no listener in this process (address, listen, connect)";
  const test = caseDefiner(fixture, missing, why, SLOW.timeout);

  describe("deadlines and cancellation", () => {
    test("a call fails with DEADLINE_EXCEEDED at its deadline without a word from the server, and the server is told", async () => {
      // Nobody serves the other end: only the client can end the call.
      const { client: connection, server: silent } = await connectionPair(ctx());
      const client = createClient(testService, connection);
      ctx().resources.cleanup(() => client.abort());
      const error = await failure(client.echo({ text: "anyone?" }, { timeout: 50 }));
      expect(error.status).toBe("DEADLINE_EXCEEDED");
      const request = readRaw((await silent.receive({ timeout: 10_000 }))!);
      expect(request.kind).toBe(16);
      const cancel = readRaw((await silent.receive({ timeout: 10_000 }))!);
      expect(cancel).toMatchObject({ kind: 18, id: request.id, status: RPC_STATUS_CODES.DEADLINE_EXCEEDED });
    });

    test("an AbortSignal fails the call with CANCELLED at once, and the cancel crosses the wire", async () => {
      const { client: connection, server: silent } = await connectionPair(ctx());
      const client = createClient(testService, connection);
      ctx().resources.cleanup(() => client.abort());
      const controller = new AbortController();
      const call = client.echo({ text: "x" }, { signal: controller.signal });
      const request = readRaw((await silent.receive({ timeout: 10_000 }))!);
      const reason = new Error("user clicked cancel");
      controller.abort(reason);
      const error = await failure(call);
      expect(error.status).toBe("CANCELLED");
      expect(error.cause).toBe(reason);
      expect(readRaw((await silent.receive({ timeout: 10_000 }))!)).toMatchObject({
        kind: 18,
        id: request.id,
        status: RPC_STATUS_CODES.CANCELLED,
      });
    });

    test("a signal aborted before the call and a deadline already past fail at once without sending anything", async () => {
      const { client: connection, server: silent } = await connectionPair(ctx());
      const client = createClient(testService, connection);
      ctx().resources.cleanup(() => client.abort());
      expect((await failure(client.echo({}, { signal: AbortSignal.abort() }))).status).toBe("CANCELLED");
      expect((await failure(client.echo({}, { deadline: new Date(Date.now() - 1000) }))).status).toBe("DEADLINE_EXCEEDED");
      expect((await failure(client.echo({}, { timeout: 0 }))).status).toBe("DEADLINE_EXCEEDED");
      const later = client.echo({ text: "this one" }, { timeout: 20_000 }).catch(() => undefined);
      const first = readRaw((await silent.receive({ timeout: 10_000 }))!);
      expect(first.kind).toBe(16);
      expect(new TextDecoder().decode(first.payload)).toContain("this one");
      client.abort();
      await later;
    });

    test("the deadline travels with the request: the handler's signal aborts with DEADLINE_EXCEEDED", async () => {
      const { client, service } = await served(ctx());
      const error = await failure(client.hang({ tag: "late" }, { timeout: 100 }));
      expect(error.status).toBe("DEADLINE_EXCEEDED");
      expect(await service.aborted("late")).toBe("DEADLINE_EXCEEDED");
    });

    test("a cancelled call aborts its handler's signal with CANCELLED", async () => {
      const { client, server, service } = await served(ctx());
      const controller = new AbortController();
      const call = client.hang({ tag: "cancelled" }, { signal: controller.signal });
      await until("the handler runs", () => server.stats().callsRunning === 1);
      controller.abort();
      expect((await failure(call)).status).toBe("CANCELLED");
      expect(await service.aborted("cancelled")).toBe("CANCELLED");
      await until("the handler returned", () => server.stats().callsRunning === 0);
    });

    test("cancelling a stream aborts its handler; other calls go on", async () => {
      const { client, service } = await served(ctx());
      const controller = new AbortController();
      const stream = client.count({ count: 1_000_000, size: 10, tag: "stream" }, { signal: controller.signal });
      const seen: number[] = [];
      const error = await failure(
        (async () => {
          for await (const chunk of stream) {
            seen.push(chunk.seq);
            if (seen.length === 5) controller.abort();
          }
        })(),
      );
      expect(error.status).toBe("CANCELLED");
      expect(seen).toEqual([0, 1, 2, 3, 4]);
      expect(await service.aborted("stream")).toBe("CANCELLED");
      expect((await client.echo({ text: "fine" })).text).toBe("fine");
    });
  });
}
