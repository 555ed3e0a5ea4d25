import { describe, expect } from "vitest";
import type { RpcConformanceFixture } from "../fixture.js";
import { caseDefiner, failure, type RpcContext, served, until } from "../harness.js";
import type { Chunk, EchoRequest } from "../service.js";

const SLOW = { timeout: 60_000 };
const KIB = 1024;

/** Requests that count how many the client pulled. */
function* chunks(count: number, size: number, pulled: { n: number }): Generator<Partial<Chunk>> {
  const data = new Uint8Array(size).fill(3);
  for (let seq = 0; seq < count; seq++) {
    pulled.n++;
    yield { seq, data };
  }
}

/** Server streaming, client streaming, bidirectional; flow control in both directions. */
export function streamCases(fixture: RpcConformanceFixture, ctx: () => RpcContext): void {
  const missing = fixture.listen === undefined || fixture.connect === undefined || fixture.address === undefined;
  const why = "no listener in this process (address, listen, connect)";
  const test = caseDefiner(fixture, missing, why, SLOW.timeout);

  describe("streams", () => {
    test("a server stream delivers every response in order, then ends", async () => {
      const { client } = await served(ctx());
      const seqs: number[] = [];
      for await (const chunk of client.count({ count: 500, size: 10 })) {
        expect(chunk.data.byteLength).toBe(10);
        seqs.push(chunk.seq);
      }
      expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i));
    });

    test("a handler's error ends a stream after the responses before it", async () => {
      const { client } = await served(ctx());
      const seqs: number[] = [];
      const error = await failure(
        (async () => {
          for await (const chunk of client.count({ count: 10, failAfter: 4 })) seqs.push(chunk.seq);
        })(),
      );
      expect(seqs).toEqual([0, 1, 2, 3]);
      expect(error.status).toBe("ABORTED");
    });

    test("a reader that reads nothing holds the server's handler at the call's window", async () => {
      const window = 16 * KIB;
      const { client } = await served(ctx(), { client: { streamWindow: window } });
      const stream = client.count({ count: 10_000, size: KIB, tag: "held" })[Symbol.asyncIterator]();
      await until("the handler has produced something", async () => (await client.progress({ tag: "held" })).produced > 0);
      // Other calls on the connection go on meanwhile; after each, the handler is still within the window.
      for (let i = 0; i < 20; i++) {
        expect((await client.progress({ tag: "held" })).produced).toBeLessThanOrEqual(window / KIB + 3);
      }
      let read = 0;
      for (;;) {
        const next = await stream.next();
        if (next.done) break;
        expect(next.value.seq).toBe(read++);
      }
      expect(read).toBe(10_000);
    });

    test("leaving a stream's loop early cancels the call: the handler's signal aborts with CANCELLED", async () => {
      const { client, service } = await served(ctx());
      let read = 0;
      for await (const _chunk of client.count({ count: 1_000_000, size: 100, tag: "left" })) {
        if (++read === 3) break;
      }
      expect(await service.aborted("left")).toBe("CANCELLED");
      expect((await client.echo({ text: "after" })).text).toBe("after");
    });

    test("a client stream sends every request, then the server's response arrives", async () => {
      const { client } = await served(ctx());
      const pulled = { n: 0 };
      expect(await client.sum(chunks(1000, 100, pulled))).toEqual(expect.objectContaining({ count: 1000, bytes: 100_000 }));
      expect(await client.sum([])).toEqual(expect.objectContaining({ count: 0 }));
      const fromAsync = (async function* () {
        yield { seq: 1, data: new Uint8Array(5) };
        yield { seq: 2, data: new Uint8Array(6) };
      })();
      expect(await client.sum(fromAsync)).toEqual(expect.objectContaining({ count: 2, bytes: 11 }));
    });

    test("a server that reads nothing holds the client's request stream at the call's window", async () => {
      const window = 16 * KIB;
      const { client, service } = await served(ctx(), { serve: { streamWindow: window } });
      const pulled = { n: 0 };
      const sum = client.sum(chunks(5000, KIB, pulled), { metadata: { hold: "sum" } });
      await until("the client pulled a request", () => pulled.n > 0);
      for (let i = 0; i < 20; i++) {
        await client.echo({ text: "meanwhile" });
        expect(pulled.n).toBeLessThanOrEqual(window / KIB + 3);
      }
      service.release("sum");
      expect(await sum).toEqual(expect.objectContaining({ count: 5000, bytes: 5000 * KIB }));
    });

    test("a request stream that throws cancels the call with its error as the cause", async () => {
      const { client } = await served(ctx());
      const boom = new Error("source failed");
      const source = (async function* () {
        yield { seq: 1, data: new Uint8Array(1) };
        throw boom;
      })();
      const error = await failure(client.sum(source));
      expect(error.status).toBe("CANCELLED");
      expect(error.cause).toBe(boom);
    });

    test("a bidirectional stream answers each request before the next is sent", async () => {
      const { client } = await served(ctx());
      const replies: string[] = [];
      let answered: (() => void) | undefined;
      async function* conversation(): AsyncGenerator<Partial<EchoRequest>> {
        for (let i = 0; i < 50; i++) {
          const reply = new Promise<void>((resolve) => (answered = resolve));
          yield { text: `ping ${i}` };
          await reply; // the next request depends on the previous response
        }
      }
      for await (const reply of client.chat(conversation())) {
        replies.push(reply.text);
        answered?.();
      }
      expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `ping ${i}`));
    });

    test("many streams share one connection without holding each other up", async () => {
      const { client } = await served(ctx(), { client: { streamWindow: 4 * KIB } });
      // A stream nobody reads, next to streams that are read to the end.
      const idle = client.count({ count: 100_000, size: KIB, tag: "idle" })[Symbol.asyncIterator]();
      await idle.next();
      const totals = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          let n = 0;
          for await (const _chunk of client.count({ count: 200 + i, size: 200 })) n++;
          return n;
        }),
      );
      expect(totals).toEqual(Array.from({ length: 8 }, (_, i) => 200 + i));
      await idle.return?.();
    });
  });
}
