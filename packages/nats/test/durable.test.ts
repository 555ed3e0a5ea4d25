import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { durableChannel, type DurableChannel } from "../src/index.js";
import { natsServerMissing, startNatsServer, type NatsServer } from "@ipc/testing";

const skip = natsServerMissing !== undefined;
const why = skip ? ` (skipped: ${natsServerMissing})` : "";
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A client that reconnects to the same server for as long as the test runs. */
function connectTo(server: NatsServer): Promise<NatsConnection> {
  return connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 50, reconnectJitter: 0 });
}

describe.skipIf(skip)(`durable channels on JetStream${why}`, () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  async function open(nc: NatsConnection, self: string, peer: string, channel = "orders"): Promise<DurableChannel> {
    const end = await durableChannel(nc, { channel, self, peer, timeout: 60_000 });
    cleanup.push(() => end.close());
    return end;
  }

  it("messages arrive once, in order, with the sender's numbers", async () => {
    const server = await startNatsServer({ jetstream: true });
    cleanup.push(() => server.stop());
    const [na, nb] = await Promise.all([connectTo(server), connectTo(server)]);
    cleanup.push(
      () => na.close(),
      () => nb.close(),
    );
    const a = await open(na, "a", "b");
    const b = await open(nb, "b", "a");
    const numbers = await Promise.all(Array.from({ length: 100 }, (_, i) => a.send(text(`m${i}`))));
    expect(numbers).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const got: string[] = [];
    for await (const m of b) {
      got.push(`${m.sequence}:${str(m.message)}`);
      if (got.length === 100) break;
    }
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => `${i + 1}:m${i}`));
    // Nothing more: a receive with a timeout says so.
    await expect(b.receive({ timeout: 100 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    // And back the other way on the same channel.
    await b.send(text("reply"));
    expect(str((await a.receive())!.message)).toBe("reply");
  });

  it("either end restarting: the sender continues its numbering, the receiver takes up where it was", async () => {
    const server = await startNatsServer({ jetstream: true });
    cleanup.push(() => server.stop());
    const na = await connectTo(server);
    cleanup.push(() => na.close());
    const a = await open(na, "a", "b", "restarts");
    for (let i = 1; i <= 10; i++) await a.send(text(`m${i}`));
    const nb = await connectTo(server);
    const b = await durableChannel(nb, { channel: "restarts", self: "b", peer: "a", timeout: 60_000 });
    for (let i = 1; i <= 4; i++) expect(str((await b.receive())!.message)).toBe(`m${i}`);
    // The receiver goes away (its connection with it) and comes back.
    await nb.close();
    const nb2 = await connectTo(server);
    cleanup.push(() => nb2.close());
    const b2 = await open(nb2, "b", "a", "restarts");
    expect((await b2.receive())!.sequence).toBe(5);
    // The sender goes away and comes back: it knows it stored 10.
    await a.close();
    const na2 = await connectTo(server);
    cleanup.push(() => na2.close());
    const a2 = await open(na2, "a", "b", "restarts");
    expect(a2.stats.sent).toBe(10);
    expect(await a2.send(text("m11"))).toBe(11);
    const rest: number[] = [];
    for (let i = 6; i <= 11; i++) rest.push((await b2.receive())!.sequence);
    expect(rest).toEqual([6, 7, 8, 9, 10, 11]);
  });

  it("a NATS server restart (file storage, SIGKILL) loses nothing and duplicates nothing", { timeout: 120_000 }, async () => {
    const server = await startNatsServer({ jetstream: true });
    cleanup.push(() => server.stop());
    const [na, nb] = await Promise.all([connectTo(server), connectTo(server)]);
    cleanup.push(
      () => na.close(),
      () => nb.close(),
    );
    const a = await open(na, "a", "b", "crash");
    const b = await open(nb, "b", "a", "crash");
    const total = 300;
    const received: number[] = [];
    const reader = (async () => {
      while (received.length < total) received.push((await b.receive({ timeout: 90_000 }))!.sequence);
    })();
    const sent: number[] = [];
    for (let i = 1; i <= total; i++) {
      sent.push(await a.send(text(`m${i}`), { timeout: 90_000 }));
      if (i === 100) {
        await server.kill();
        // Sends go on while it is down: they are retried until it is back.
        void server.restart();
      }
    }
    await reader;
    expect(sent).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(received).toEqual(sent);
    expect(a.stats.retries).toBeGreaterThan(0);
  });
});
