import { describe, expect } from "vitest";
import type { RpcConformanceFixture } from "../fixture.js";
import { caseDefiner, failure, type RpcContext, until, worker } from "../harness.js";
import type { Chunk, EchoRequest } from "../service.js";

const SLOW = { timeout: 120_000 };

/** The worker-process pattern: the server is a child process; its death and its stops are real. */
export function workerCases(fixture: RpcConformanceFixture, ctx: () => RpcContext): void {
  const missing = fixture.worker === undefined;
  const why = "no worker process (worker)";
  const test = caseDefiner(fixture, missing, why, SLOW.timeout);

  describe("a server in a child process", () => {
    test("serves every call shape across the process boundary", async () => {
      const { client, child } = await worker(ctx());
      const reply = await client.echo({ text: "hello, worker", payload: new Uint8Array([4, 2]) }, { metadata: { k: "v" } });
      expect(reply).toMatchObject({ text: "hello, worker", metadata: { k: "v" } });
      expect([...reply.payload]).toEqual([4, 2]);
      if (reply.peerPid !== -1) expect(reply.peerPid).toBe(process.pid);
      expect(child.pid).toBeGreaterThan(0);
      const seqs: number[] = [];
      for await (const chunk of client.count({ count: 300, size: 1000 })) seqs.push(chunk.seq);
      expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i));
      const chunks = Array.from({ length: 300 }, (_, seq): Partial<Chunk> => ({ seq, data: new Uint8Array(1000) }));
      expect(await client.sum(chunks)).toMatchObject({ count: 300, bytes: 300_000 });
      const talk = (async function* (): AsyncGenerator<Partial<EchoRequest>> {
        for (let i = 0; i < 20; i++) yield { text: `t${i}` };
      })();
      const echoed: string[] = [];
      for await (const r of client.chat(talk)) echoed.push(r.text);
      expect(echoed).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`));
    });

    test("cancellation and deadlines reach the child's handlers", async () => {
      const { client } = await worker(ctx());
      const controller = new AbortController();
      const call = failure(client.hang({ tag: "w-cancel" }, { signal: controller.signal }));
      await until("the handler runs", async () => (await client.stats({})).callsRunning === 1);
      controller.abort();
      expect((await call).status).toBe("CANCELLED");
      expect((await client.aborted({ tag: "w-cancel" })).status).toBe("CANCELLED");
      expect((await failure(client.hang({ tag: "w-late" }, { timeout: 100 }))).status).toBe("DEADLINE_EXCEEDED");
      expect((await client.aborted({ tag: "w-late" })).status).toBe("DEADLINE_EXCEEDED");
    });

    test("a stopped child (SIGSTOP): calls still fail on their deadline and their signal, on this side", async () => {
      const { client, child } = await worker(ctx());
      await client.echo({ text: "warm" });
      child.kill("SIGSTOP");
      try {
        expect((await failure(client.echo({ text: "?" }, { timeout: 100 }))).status).toBe("DEADLINE_EXCEEDED");
        const controller = new AbortController();
        const call = failure(client.echo({ text: "?" }, { signal: controller.signal }));
        controller.abort();
        expect((await call).status).toBe("CANCELLED");
      } finally {
        child.kill("SIGCONT");
      }
      expect((await client.echo({ text: "awake" })).text).toBe("awake");
    });

    test("the child SIGKILLed with 1 000 calls in flight: every call fails with UNAVAILABLE", async () => {
      const { client, child, exit } = await worker(ctx(), { serve: { maxConcurrentCalls: 2000 } });
      const calls = Array.from({ length: 1000 }, (_, i) => failure(client.hang({ tag: `k${i}` })));
      const reading = failure(
        (async () => {
          for await (const _chunk of client.count({ count: 2_000_000_000, size: 100 }));
        })(),
      );
      const streaming = failure(
        client.sum(
          (async function* () {
            for (let seq = 0; ; seq++) yield { seq, data: new Uint8Array(100) };
          })(),
        ),
      );
      await until("the child runs every call", async () => (await client.stats({})).callsRunning >= 1002, 5000);
      child.kill("SIGKILL");
      expect((await exit).signal).toBe("SIGKILL");
      const errors = await Promise.all([...calls, reading, streaming]);
      expect(errors).toHaveLength(1002);
      for (const error of errors) {
        expect(error.code).toBe("IPC_ERR_RPC");
        expect(error.status).toBe("UNAVAILABLE");
      }
      expect((await failure(client.echo({ text: "anyone?" }))).status).toBe("UNAVAILABLE");
    });

    test("the child exits cleanly when its client closes", async () => {
      const { client, exit } = await worker(ctx());
      await client.echo({ text: "bye" });
      await client.close({ timeout: 20_000 });
      expect(await exit).toEqual({ code: 0, signal: null });
    });
  });
}
