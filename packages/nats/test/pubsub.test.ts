import { connect, type NatsConnection } from "@nats-io/transport-node";
import { publisher, subscribe } from "@ipc/channels";
import { memoryTransport } from "@ipc/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bridgeTopics, natsPublisher, natsSubscribe } from "../src/index.js";
import { natsServerMissing, startNatsServer, type NatsServer } from "@ipc/testing";

const skip = natsServerMissing !== undefined;
const why = skip ? ` (skipped: ${natsServerMissing})` : "";
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

describe.skipIf(skip)(`pub/sub on NATS subjects${why}`, () => {
  let server: NatsServer;
  let pub: NatsConnection;
  let sub: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    [pub, sub] = await Promise.all([connect({ servers: server.url }), connect({ servers: server.url })]);
  });

  afterAll(async () => {
    await Promise.all([pub?.close(), sub?.close()]);
    await server?.stop();
  });

  /** Everything published so far has reached the subscriber's connection (both flushes are round trips). */
  async function delivered(): Promise<void> {
    await pub.flush();
    await sub.flush();
  }

  it("topics are subjects: '*' matches one token, '>' the rest, under a common prefix", async () => {
    const star = natsSubscribe(sub, { topics: ["orders.*.created"], prefix: "shop" });
    const rest = natsSubscribe(sub, { topics: ["orders.>"], prefix: "shop" });
    await sub.flush();
    const publisher_ = natsPublisher(pub, { prefix: "shop" });
    for (const topic of ["orders.eu.created", "orders.eu.paid", "orders.us.created", "users.new"]) await publisher_.publish(topic, text(topic));
    await delivered();
    await star.close();
    await rest.close();
    const starTopics: string[] = [];
    for await (const p of star) starTopics.push(p.topic);
    const restTopics: string[] = [];
    for await (const p of rest) restTopics.push(`${p.topic}=${str(p.message)}`);
    expect(starTopics).toEqual(["orders.eu.created", "orders.us.created"]);
    expect(restTopics).toEqual(["orders.eu.created=orders.eu.created", "orders.eu.paid=orders.eu.paid", "orders.us.created=orders.us.created"]);
    expect(publisher_.stats.published).toBe(4);
  });

  it("drop-oldest: a slow subscriber keeps the newest, and is told how many it missed", async () => {
    const slow = natsSubscribe(sub, { topics: ["ticks"], queueMessages: 10 });
    await sub.flush();
    const p = natsPublisher(pub);
    for (let i = 0; i < 100; i++) await p.publish("ticks", text(String(i)));
    await delivered();
    expect(slow.stats).toMatchObject({ received: 100, dropped: 90, queued: 10 });
    const first = await slow.receive();
    expect(first).toMatchObject({ topic: "ticks", dropped: 90 });
    expect(str(first!.message)).toBe("90");
    const rest: string[] = [];
    for (let i = 0; i < 9; i++) rest.push(str((await slow.receive())!.message));
    expect(rest).toEqual(["91", "92", "93", "94", "95", "96", "97", "98", "99"]);
    await slow.close();
  });

  it("disconnect: a slow subscriber fails with SlowSubscriberError", async () => {
    const slow = natsSubscribe(sub, { topics: ["flood"], policy: "disconnect", queueMessages: 5 });
    await sub.flush();
    const p = natsPublisher(pub);
    for (let i = 0; i < 20; i++) await p.publish("flood", text(String(i)));
    await delivered();
    await expect(slow.receive()).rejects.toMatchObject({ code: "IPC_ERR_SLOW_SUBSCRIBER" });
    await expect(slow.closed).rejects.toMatchObject({ name: "SlowSubscriberError" });
  });

  it("'block' is refused: core NATS cannot make a publisher wait", () => {
    expect(() => natsSubscribe(sub, { topics: ["x"], policy: "block" as never })).toThrow(/durable channel/);
  });

  it("a queue group of subscribers shares the messages", async () => {
    const a = natsSubscribe(sub, { topics: ["jobs"], queue: "workers" });
    const b = natsSubscribe(sub, { topics: ["jobs"], queue: "workers" });
    await sub.flush();
    const p = natsPublisher(pub);
    for (let i = 0; i < 200; i++) await p.publish("jobs", text(String(i)));
    await delivered();
    expect(a.stats.received + b.stats.received).toBe(200);
    await a.close();
    await b.close();
  });

  it("an @ipc publisher's topics bridged onto NATS subjects", async () => {
    const listener = await memoryTransport.listen("memory://nats-bridge");
    const local = publisher(listener);
    const subscription = await subscribe(await memoryTransport.connect("memory://nats-bridge"), { prefixes: ["sensors."] });
    const remote = natsSubscribe(sub, { topics: ["sensors.>"] });
    await sub.flush();
    const bridged = bridgeTopics(subscription, natsPublisher(pub));
    // The publisher registers the subscription when it reads its request: wait for that.
    while (local.stats.perSubscriber[0]?.prefixes.length !== 1) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 3; i++) await local.publish(`sensors.t${i}`, text(`${i}`));
    const got: string[] = [];
    for await (const p of remote) {
      got.push(`${p.topic}=${str(p.message)}`);
      if (got.length === 3) break;
    }
    expect(got).toEqual(["sensors.t0=0", "sensors.t1=1", "sensors.t2=2"]);
    await local.close();
    expect(await bridged).toBe(3);
    await remote.close();
  });
});
