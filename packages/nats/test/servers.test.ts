import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { natsServerMissing, startNatsCluster, startNatsServer } from "@ipc/testing";

const skip = natsServerMissing !== undefined;
const why = skip ? ` (skipped: ${natsServerMissing})` : "";

describe.skipIf(skip)(`the test servers${why}`, () => {
  it("a server starts on a free loopback port, restarts with its store, and stops", async () => {
    await using server = await startNatsServer({ jetstream: true });
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    const nc = await connect({ servers: server.url });
    expect(nc.info?.jetstream).toBe(true);
    await nc.close();
    await server.kill();
    await server.restart();
    const again = await connect({ servers: server.url });
    expect(again.info?.port).toBe(server.port);
    await again.close();
  });

  it("three nodes form a cluster: a message crosses from one node to another", { timeout: 60_000 }, async () => {
    await using cluster = await startNatsCluster();
    const [a, b] = await Promise.all([connect({ servers: cluster.urls[0] }), connect({ servers: cluster.urls[2] })]);
    const sub = a.subscribe("hello");
    await a.flush();
    // Interest crosses the route asynchronously: ask until the other node routes it (a reply is the event).
    const got = (async () => {
      for await (const m of sub) return m.string();
      return "";
    })();
    let delivered = false;
    void got.then(() => (delivered = true));
    while (!delivered) {
      b.publish("hello", "world");
      await b.flush();
      await new Promise((r) => setImmediate(r));
    }
    expect(await got).toBe("world");
    await Promise.all([a.close(), b.close()]);
  });
});
