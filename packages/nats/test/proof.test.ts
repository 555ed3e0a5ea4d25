/**
 * Issue 18's proof, across processes, against real nats-servers: queue-group load sharing between three
 * worker processes; killing the cluster node a client is connected to in the middle of traffic; worker
 * processes of a durable channel killed and started again. (A SIGKILLed NATS server with file storage:
 * durable.test.ts. Deadline, cancel, no responders and max_payload: rpc.test.ts.)
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { isRpcError } from "@ipc/rpc";
import { afterEach, describe, expect, it } from "vitest";
import { createNatsClient, durableChannel } from "../src/index.js";
import { Calculator } from "./fixtures/calculator.js";
import { natsServerMissing, startNatsCluster, startNatsServer, META_LEADER } from "@ipc/testing";
import { startWorker, workerMissing, type Worker } from "./support/worker.js";

const missing = natsServerMissing ?? workerMissing;
const why = missing === undefined ? "" : ` (skipped: ${missing})`;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe.skipIf(missing !== undefined)(`@ipc/nats across processes${why}`, () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });
  function worker(args: string[]): Worker {
    const w = startWorker(args);
    cleanup.push(() => w.kill());
    return w;
  }
  async function client(servers: string | string[]): Promise<NatsConnection> {
    const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 50, reconnectJitter: 0, noRandomize: true });
    cleanup.push(() => nc.close());
    return nc;
  }

  it("a queue group of 3 worker processes shares 3 000 calls, each taking at least 20 %", { timeout: 120_000 }, async () => {
    const server = await startNatsServer();
    cleanup.push(() => server.stop());
    const workers = [1, 2, 3].map((n) => worker(["rpc", server.url, `w${n}`]));
    await Promise.all(workers.map((w) => w.line(/^ready$/)));
    const nc = await client(server.url);
    const calls = createNatsClient(Calculator, nc);
    const pids = new Map<number, number>();
    // 3 000 calls, 100 in flight at a time.
    for (let batch = 0; batch < 30; batch++) {
      const replies = await Promise.all(Array.from({ length: 100 }, () => calls.who({}, { timeout: 60_000 })));
      for (const { pid } of replies) pids.set(pid, (pids.get(pid) ?? 0) + 1);
    }
    expect([...pids.keys()].sort()).toEqual(workers.map((w) => w.pid).sort());
    for (const count of pids.values()) expect(count).toBeGreaterThanOrEqual(600);
    expect([...pids.values()].reduce((a, b) => a + b)).toBe(3000);
    await calls.close();
  });

  it("killing the cluster node a client is connected to mid-traffic fails no call with a deadline left and loses no JetStream message", {
    timeout: 240_000,
  }, async () => {
    const cluster = await startNatsCluster({ jetstream: true });
    cleanup.push(() => cluster.stop());
    const [n1, n2, n3] = cluster.nodes;
    // The workers and the durable receiver are on the nodes that stay; the caller starts on node 1.
    const workers = [1, 2, 3].map((n) => worker(["rpc", [n2!.url, n3!.url].join(","), `w${n}`]));
    await Promise.all(workers.map((w) => w.line(/^ready$/)));
    const callerConnection = await client([n1!.url, n2!.url, n3!.url]);
    expect(callerConnection.getServer()).toBe(n1!.url.slice("nats://".length));
    const receiverConnection = await client([n3!.url, n2!.url]);
    const calls = createNatsClient(Calculator, callerConnection);
    const sender = await durableChannel(callerConnection, { channel: "failover", self: "a", peer: "b", replicas: 3, timeout: 120_000 });
    const receiver = await durableChannel(receiverConnection, { channel: "failover", self: "b", peer: "a", replicas: 3, timeout: 120_000 });
    // Interest in the workers' subjects has reached node 1 once a call goes through.
    expect(await calls.add({ a: 1, b: 1 }, { timeout: 60_000 })).toEqual({ value: 2 });

    const total = 400;
    const received: number[] = [];
    const reading = (async () => {
      while (received.length < total) received.push((await receiver.receive({ timeout: 120_000 }))!.sequence);
    })();
    let killed: Promise<void> | undefined;
    const failures: unknown[] = [];
    const answers: number[] = [];
    const stored: number[] = [];
    for (let i = 1; i <= total; i++) {
      // Ten calls with a generous deadline (the cluster elects new leaders within it) and one message.
      const batch = Array.from({ length: 10 }, (_, j) =>
        calls.add({ a: i, b: j }, { timeout: 60_000 }).then(
          (r) => answers.push(r.value),
          (e: unknown) => failures.push(e),
        ),
      );
      const sending = sender.send(text(`m${i}`), { timeout: 120_000 });
      // The node goes down with these calls and this message in flight.
      if (i === 100) killed = n1!.kill();
      stored.push(await sending);
      await Promise.all(batch);
    }
    await killed;
    await reading;
    expect(callerConnection.getServer()).not.toBe(n1!.url.slice("nats://".length));
    expect(failures.filter((e) => !isRpcError(e) || e.status !== "DEADLINE_EXCEEDED")).toEqual([]);
    expect(failures).toEqual([]);
    expect(answers.length).toBe(total * 10);
    expect(stored).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(received).toEqual(stored);
    // It was no quiet moment: calls were sent again after the reconnect, messages published again.
    expect(calls.stats().resent).toBeGreaterThan(0);
    expect(sender.stats.retries).toBeGreaterThan(0);
    // Node 1 comes back and rejoins: the stream is whole on it too.
    await n1!.restart();
    await n1!.waitForLog(META_LEADER);
    await calls.close();
    await Promise.all([sender.close(), receiver.close()]);
  });

  it("a durable channel survives SIGKILLed sender and receiver processes: nothing lost, nothing twice", { timeout: 180_000 }, async () => {
    const server = await startNatsServer({ jetstream: true });
    cleanup.push(() => server.stop());
    // The receiver takes what is there, then is killed while it waits for more (a pull request outstanding).
    const firstSender = worker(["durable-send", server.url, "procs", "40"]);
    await firstSender.count(/^sent /, 40);
    expect(await firstSender.exited).toBe(0);
    const firstReceiver = worker(["durable-receive", server.url, "procs"]);
    await firstReceiver.count(/^got /, 40);
    await firstReceiver.kill();
    // A sender killed in the middle of its messages; the next one goes on from what was stored.
    const secondSender = worker(["durable-send", server.url, "procs", "200"]);
    await secondSender.count(/^sent /, 60);
    await secondSender.kill();
    const thirdSender = worker(["durable-send", server.url, "procs", "200"]);
    const opened = Number((await thirdSender.line(/^opened /)).split(" ")[1]);
    expect(opened).toBeGreaterThanOrEqual(100);
    expect(await thirdSender.exited).toBe(0);
    const secondReceiver = worker(["durable-receive", server.url, "procs"]);
    await secondReceiver.count(/^got /, 160);
    const got = [...firstReceiver.lines, ...secondReceiver.lines].filter((l) => l.startsWith("got ")).map((l) => l.split(" "));
    expect(got.map(([, n]) => Number(n))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(got.every(([, n, payload]) => payload === `m${n}`)).toBe(true);
    // Nothing is left for the receiving end: JetStream has every message acknowledged.
    await secondReceiver.kill();
    const jsm = await jetstreamManager(await client(server.url));
    const info = await jsm.consumers.info("IPC_procs", "b");
    expect(info).toMatchObject({ num_pending: 0, num_ack_pending: 0, ack_floor: { stream_seq: 200 } });
  });
});
