import { afterEach, describe, expect, it } from "vitest";
import { memoryTransport, type Connection } from "@ipc/core";
import { checkPatterned, patterned } from "@ipc/testing";
import { publisher, subscribe, type Publisher, type PublisherOptions, type Subscription } from "../src/index.js";
import { memoryAddress } from "./fixtures/messages.js";

const SLOW = { timeout: 60_000 };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const HWM = 4096; // small connection buffers, so that queues fill quickly

async function start(options?: PublisherOptions): Promise<Publisher> {
  const listener = await memoryTransport.listen(memoryAddress("pubsub"), { highWaterMark: HWM });
  const pub = publisher(listener, options);
  cleanups.push(() => listener.close());
  return pub;
}

async function join(pub: Publisher, options: Parameters<typeof subscribe>[1]): Promise<Subscription> {
  const connection: Connection = await memoryTransport.connect(pub.address, { highWaterMark: HWM });
  cleanups.push(() => connection.abort());
  const before = pub.stats.perSubscriber.reduce((n, s) => n + s.topics.length + s.prefixes.length, 0);
  const subscription = await subscribe(connection, options);
  const added = (options.topics?.length ?? 0) + (options.prefixes?.length ?? 0);
  await until(() => pub.stats.perSubscriber.reduce((n, s) => n + s.topics.length + s.prefixes.length, 0) >= before + added);
  return subscription;
}

/** Waits (turn by turn of the event loop) until `condition` holds; the test's timeout guards against a hang. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("pub/sub", () => {
  it("delivers by exact topic and by prefix, in publish order", async () => {
    const pub = await start();
    const exact = await join(pub, { topics: ["orders.eu"] });
    const prefix = await join(pub, { prefixes: ["orders."] });
    const all = await join(pub, { prefixes: [""] });
    await pub.publish("orders.eu", text("1"));
    await pub.publish("orders.us", text("2"));
    await pub.publish("news", text("3"));
    await pub.close();
    const read = async (s: Subscription) => {
      const got: string[] = [];
      for await (const p of s) got.push(`${p.topic}:${str(p.message)}`);
      return got;
    };
    expect(await read(exact)).toEqual(["orders.eu:1"]);
    expect(await read(prefix)).toEqual(["orders.eu:1", "orders.us:2"]);
    expect(await read(all)).toEqual(["orders.eu:1", "orders.us:2", "news:3"]);
  });

  it("moves many messages in batches: a subscriber's iterator and receive() between its steps keep publish order", async () => {
    const pub = await start({ queueMessages: 10_000, queueBytes: 1 << 20 });
    const sub = await join(pub, { topics: ["t"] });
    // Published in one burst: the subscriber's queue is flushed with sendBatch() calls of up to 64 KiB.
    for (let seq = 0; seq < 2000; seq++) await pub.publish("t", patterned(seq, 48));
    // The close waits for the subscriber's queue to drain: read meanwhile.
    const closing = pub.close();
    const got: number[] = [];
    for await (const publication of sub) {
      got.push(checkPatterned(publication.message));
      // receive() takes what the iterator's last receiveBatch() holds first.
      if (got.length % 100 === 1) got.push(checkPatterned((await sub.receive())!.message));
    }
    await closing;
    expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(sub.dropped).toBe(0);
  });

  it("gives a late joiner the last N messages of each matching topic, within the history bounds", async () => {
    const pub = await start({ history: 5, historyBytes: 1000 });
    for (let i = 0; i < 10; i++) {
      await pub.publish("a", text(`a${i}`));
      await pub.publish("b", text(`b${i}`));
    }
    await pub.publish("c", new Uint8Array(2000)); // larger than historyBytes: never kept
    const late = await join(pub, { prefixes: [""], history: 3 });
    await pub.publish("a", text("live"));
    const got: string[] = [];
    for (let i = 0; i < 7; i++) got.push(str((await late.receive({ timeout: 5000 }))!.message));
    expect(got).toEqual(["a7", "b7", "a8", "b8", "a9", "b9", "live"]);
    expect(pub.stats.historyBytes).toBeLessThanOrEqual(1000);
  });

  it("policy block: a stalled subscriber holds the publisher at its bounded queue, and loses nothing", SLOW, async () => {
    const pub = await start({ policy: "block", queueMessages: 64, queueBytes: 16 * 1024 });
    const stalled = await join(pub, { topics: ["t"] });
    let published = 0;
    for (;;) {
      try {
        await pub.publish("t", patterned(published, 500), { timeout: 50 });
      } catch (error) {
        expect((error as { code?: string }).code).toBe("IPC_ERR_TIMEOUT");
        break;
      }
      published++;
    }
    const queued = pub.stats.perSubscriber[0]!;
    expect(queued.queuedBytes).toBeLessThanOrEqual(16 * 1024);
    expect(queued.queued).toBeLessThanOrEqual(64);
    // Connection buffers (both ends) plus the queue: that is all a stalled subscriber costs.
    expect(published * 500).toBeLessThanOrEqual(16 * 1024 + 2 * HWM + 2 * 500);
    const more = pub.publish("t", patterned(published, 500));
    for (let seq = 0; seq <= published; seq++) expect(checkPatterned((await stalled.receive({ timeout: 5000 }))!.message)).toBe(seq);
    await more;
    expect(pub.stats.dropped).toBe(0);
  });

  it("policy drop-oldest: a stalled subscriber's queue stays bounded, others get everything, and drops are counted", SLOW, async () => {
    const pub = await start({ policy: "drop-oldest", queueMessages: 32, queueBytes: 8 * 1024 });
    const stalled = await join(pub, { topics: ["t"] });
    const fast = await join(pub, { topics: ["t"] });
    const count = 2000;
    let maxQueued = 0;
    const fastReading = (async () => {
      for (let seq = 0; seq < count; seq++) expect(checkPatterned((await fast.receive({ timeout: 5000 }))!.message)).toBe(seq);
    })();
    for (let seq = 0; seq < count; seq++) {
      await pub.publish("t", patterned(seq, 200));
      maxQueued = Math.max(maxQueued, ...pub.stats.perSubscriber.map((s) => s.queuedBytes));
      if (seq % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await fastReading;
    expect(maxQueued).toBeLessThanOrEqual(8 * 1024);
    // The stalled subscriber now reads: what it gets is in order, and every gap is reported.
    let received = 0;
    let dropped = 0;
    let last = -1;
    while (last < count - 1) {
      const p = (await stalled.receive({ timeout: 5000 }))!;
      const seq = checkPatterned(p.message);
      expect(seq).toBe(last + 1 + p.dropped);
      dropped += p.dropped;
      received++;
      last = seq;
    }
    expect(received + dropped).toBe(count);
    expect(dropped).toBeGreaterThan(0);
    expect(stalled.dropped).toBe(dropped);
    expect(pub.stats.dropped).toBe(dropped);
  });

  it("policy disconnect: a stalled subscriber is cut off with SlowSubscriberError; the others go on", SLOW, async () => {
    const pub = await start({ policy: "disconnect", queueMessages: 16, queueBytes: 4 * 1024 });
    const stalled = await join(pub, { topics: ["t"] });
    const fast = await join(pub, { topics: ["t"] });
    const count = 500;
    const fastReading = (async () => {
      for (let seq = 0; seq < count; seq++) expect(checkPatterned((await fast.receive({ timeout: 5000 }))!.message)).toBe(seq);
    })();
    for (let seq = 0; seq < count; seq++) {
      await pub.publish("t", patterned(seq, 200));
      if (seq % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await fastReading;
    expect(pub.stats.disconnected).toBe(1);
    expect(pub.stats.subscribers).toBe(1);
    // It reads what reached it, in order, then learns why it was cut off.
    let seq = 0;
    const error = await (async () => {
      try {
        for await (const p of stalled) expect(checkPatterned(p.message)).toBe(seq++);
      } catch (caught) {
        return caught as { code?: string };
      }
      return undefined;
    })();
    expect(["IPC_ERR_SLOW_SUBSCRIBER", "IPC_ERR_CONNECTION_RESET"]).toContain(error?.code);
    expect(seq).toBeLessThan(count);
  });
});

describe("pub/sub: closing", () => {
  it("close({ timeout }) gives up on a subscriber that reads nothing: its connection is aborted, close rejects", SLOW, async () => {
    const pub = await start({ policy: "block", queueMessages: 4, queueBytes: 4096 });
    const stalled = await join(pub, { topics: ["t"] });
    let published = 0;
    while (
      await pub.publish("t", patterned(published, 500), { timeout: 50 }).then(
        () => true,
        () => false,
      )
    )
      published++;
    expect(pub.stats.perSubscriber[0]!.queued).toBeGreaterThan(0);
    await expect(pub.close({ timeout: 100 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    // What reached the subscriber is readable; then it sees the abort.
    const error = await (async () => {
      try {
        for await (const p of stalled) expect(checkPatterned(p.message)).toBeGreaterThanOrEqual(0);
      } catch (caught) {
        return caught as { code?: string };
      }
      return undefined;
    })();
    expect(error?.code).toBe("IPC_ERR_CONNECTION_RESET");
  });
});

describe("pub/sub: bad input", () => {
  it("ends a subscriber that sends garbage or too many subscriptions, and serves the others", async () => {
    const pub = await start({ maxSubscriptions: 4 });
    const good = await join(pub, { topics: ["t"] });
    const garbage = await memoryTransport.connect(pub.address);
    cleanups.push(() => garbage.abort());
    await garbage.send(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    expect(str((await garbage.receive({ timeout: 5000 }))!)).toMatch(/not an ipc.IpcMessage envelope/);
    expect(await garbage.receive({ timeout: 5000 })).toBeUndefined();
    const greedy = await memoryTransport.connect(pub.address);
    cleanups.push(() => greedy.abort());
    const subscription = await subscribe(greedy, { topics: ["a", "b", "c", "d", "e"] });
    await expect(subscription.receive({ timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET", message: /over maxSubscriptions/ });
    await pub.publish("t", text("fine"));
    expect(str((await good.receive({ timeout: 5000 }))!.message)).toBe("fine");
    expect(pub.stats.subscribers).toBe(1);
  });
});
