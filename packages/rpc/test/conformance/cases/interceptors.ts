import { describe, expect } from "vitest";
import { RpcError, type ClientInterceptor, type ServerInterceptor } from "@ipc/rpc";
import type { RpcConformanceFixture } from "../fixture.js";
import { caseDefiner, failure, type RpcContext, served } from "../harness.js";

const SLOW = { timeout: 60_000 };

/** Interceptors on both sides, in their documented order. */
export function interceptorCases(fixture: RpcConformanceFixture, ctx: () => RpcContext): void {
  const missing = fixture.listen === undefined || fixture.connect === undefined || fixture.address === undefined;
  const why = "no listener in this process (address, listen, connect)";
  const test = caseDefiner(fixture, missing, why, SLOW.timeout);

  describe("interceptors", () => {
    test("run in order on both sides, the first outermost; client metadata reaches the server", async () => {
      const events: string[] = [];
      const client =
        (name: string): ClientInterceptor =>
        async (context, next) => {
          events.push(`client ${name} before ${context.method.name}`);
          context.metadata[`x-${name}`] = "1";
          await next();
          events.push(`client ${name} after`);
        };
      const server =
        (name: string): ServerInterceptor =>
        async (context, next) => {
          events.push(`server ${name} before (${Object.keys(context.metadata).sort().join(",")})`);
          await next();
          events.push(`server ${name} after`);
        };
      const { client: calc } = await served(ctx(), {
        client: { interceptors: [client("a"), client("b")] },
        serve: { interceptors: [server("a"), server("b")] },
      });
      const reply = await calc.echo({ text: "traced" });
      expect(reply.metadata).toEqual({ "x-a": "1", "x-b": "1" });
      expect(events).toEqual([
        "client a before Echo",
        "client b before Echo",
        "server a before (x-a,x-b)",
        "server b before (x-a,x-b)",
        "server b after",
        "server a after",
        "client b after",
        "client a after",
      ]);
    });

    test("a server interceptor that throws before next() refuses the call; the handler never runs", async () => {
      let handled = 0;
      const auth: ServerInterceptor = async (context, next) => {
        if (context.metadata.authorization !== "Bearer good") throw new RpcError("PERMISSION_DENIED", "no valid token");
        handled++;
        await next();
      };
      const { client } = await served(ctx(), { serve: { interceptors: [auth] } });
      const error = await failure(client.echo({ text: "x" }));
      expect(error.status).toBe("PERMISSION_DENIED");
      expect(error.message).toBe("no valid token");
      expect(handled).toBe(0);
      expect((await client.echo({ text: "y" }, { metadata: { authorization: "Bearer good" } })).text).toBe("y");
      expect(handled).toBe(1);
    });

    test("interceptors see how a call ended: its status, on both sides, streams included", async () => {
      const outcomes: string[] = [];
      const record =
        (side: string) =>
        async (context: { readonly method: { readonly name: string } }, next: () => Promise<void>): Promise<void> => {
          try {
            await next();
            outcomes.push(`${side} ${context.method.name} OK`);
          } catch (error) {
            outcomes.push(`${side} ${context.method.name} ${(error as RpcError).status ?? "thrown"}`);
            throw error;
          }
        };
      const { client } = await served(ctx(), {
        client: { interceptors: [record("client")] },
        serve: { interceptors: [record("server")] },
      });
      await failure(client.fail({ status: 5, message: "gone" }));
      let n = 0;
      for await (const _chunk of client.count({ count: 3 })) n++;
      expect(n).toBe(3);
      expect(outcomes).toEqual(["server Fail NOT_FOUND", "client Fail NOT_FOUND", "server Count OK", "client Count OK"]);
    });

    test("a client interceptor's own error fails the call; one that is not an RpcError becomes INTERNAL", async () => {
      const { client } = await served(ctx(), {
        client: {
          interceptors: [
            async (context, next) => {
              if (context.metadata.refuse === "rpc") throw new RpcError("FAILED_PRECONDITION", "not now");
              if (context.metadata.refuse === "plain") throw new TypeError("bug in interceptor");
              await next();
            },
          ],
        },
      });
      expect((await failure(client.echo({}, { metadata: { refuse: "rpc" } }))).status).toBe("FAILED_PRECONDITION");
      const internal = await failure(client.echo({}, { metadata: { refuse: "plain" } }));
      expect(internal.status).toBe("INTERNAL");
      expect(internal.cause).toBeInstanceOf(TypeError);
      expect((await client.echo({ text: "fine" })).text).toBe("fine");
    });
  });
}
