import { afterEach, describe, expect, it } from "vitest";
import { memoryTransport, type Connection, type Listener } from "@ipc/core";
import { checkPatterned, faultyConnect, faultyConnection, patterned, type FaultyConnection } from "@ipc/testing";
import { reliable, reliableListener, type ReliableListener, type ReliableOptions } from "../src/index.js";
import { checksum, memoryAddress } from "./fixtures/messages.js";

const SLOW = { timeout: 120_000 };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function server(options?: Parameters<typeof reliableListener>[1]): Promise<{ raw: Listener; listener: ReliableListener }> {
  const raw = await memoryTransport.listen(memoryAddress("reliable"));
  const listener = reliableListener(raw, options);
  cleanups.push(() => listener.close());
  return { raw, listener };
}

function track<T extends Connection>(session: T): T {
  cleanups.push(() => session.abort());
  return session;
}

const FAST: ReliableOptions = { minReconnectDelay: 0, maxReconnectDelay: 5 };

describe("reliable sessions", () => {
  it("carries messages both ways and closes gracefully on both ends", async () => {
    const { raw, listener } = await server();
    const client = track(await reliable(() => memoryTransport.connect(raw.address), { timeout: 5000 }));
    const session = track((await listener.accept({ timeout: 5000 }))!);
    expect(session.id).toBe(client.id);
    expect(client.id).toMatch(/^[0-9a-f]{32}$/);
    await client.send(new TextEncoder().encode("ping"));
    expect(new TextDecoder().decode(await session.receive({ timeout: 5000 }))).toBe("ping");
    await session.send(new TextEncoder().encode("pong"));
    expect(new TextDecoder().decode(await client.receive({ timeout: 5000 }))).toBe("pong");
    await client.flush({ timeout: 5000 });
    expect(client.stats.acknowledged).toBe(1);
    await client.close({ timeout: 5000 });
    await expect(session.closed).resolves.toBeUndefined();
    expect(await session.receive({ timeout: 5000 })).toBeUndefined();
    expect(client.state).toBe("closed");
    expect(listener.sessions).toBe(0);
  });

  it("delivers 100 000 messages exactly once and in order, both ways, over connections dropped every 4–8 frames (a few hundred messages)", SLOW, async () => {
    const { raw, listener } = await server({ maxBufferedBytes: 64 * 1024 });
    const connections: FaultyConnection[] = [];
    // A session packs the messages of a burst into one frame (a Batch): the connections break after a
    // few frames each, which is every few hundred messages.
    const connect = faultyConnect(() => memoryTransport.connect(raw.address), { dropAfterMessages: [4, 8], seed: 7 });
    const client = track(
      await reliable(
        async () => {
          const c = await connect();
          connections.push(c);
          return c;
        },
        { ...FAST, maxBufferedBytes: 64 * 1024 },
      ),
    );
    const session = track((await listener.accept({ timeout: 5000 }))!);
    const count = 100_000;
    const sent = checksum();
    const echoed = checksum();
    let maxBuffered = 0;
    let maxUnread = 0;
    // The server echoes each message; both directions must come through whole.
    const echo = (async () => {
      let next = 0;
      for await (const message of session) {
        if (checkPatterned(message) !== next) throw new Error(`server: message ${next} arrived as ${checkPatterned(message)}`);
        next++;
        maxUnread = Math.max(maxUnread, session.stats.unreadBytes);
        await session.send(message);
      }
      return next;
    })();
    const reading = (async () => {
      let next = 0;
      for await (const message of client) {
        if (checkPatterned(message) !== next) throw new Error(`client: echo ${next} arrived as ${checkPatterned(message)}`);
        echoed.add(message);
        if (++next === count) return next;
      }
      return next;
    })();
    for (let seq = 0; seq < count; seq++) {
      const message = patterned(seq, 16 + (seq % 200));
      sent.add(message);
      await client.send(message);
      maxBuffered = Math.max(maxBuffered, client.stats.bufferedBytes);
    }
    expect(await reading).toBe(count);
    await client.close({ timeout: 20_000 });
    expect(await echo).toBe(count);
    // Both ends closed gracefully, though connections kept breaking during the close too.
    await expect(client.closed).resolves.toBeUndefined();
    await expect(session.closed).resolves.toBeUndefined();
    expect(echoed.hex()).toBe(sent.hex());
    const dropped = connections.filter((c) => c.faults.dropped !== undefined).length;
    expect(dropped).toBeGreaterThan(200);
    // A connection can also break during its handshake: it then never carried the session.
    expect(client.stats.connections).toBeGreaterThan(200);
    expect(client.stats.connections).toBeLessThanOrEqual(connections.length);
    expect(client.stats.sent).toBe(count);
    expect(client.stats.received).toBe(count);
    // Memory: the replay buffer and the unread messages stay within the window.
    expect(maxBuffered).toBeLessThanOrEqual(64 * 1024);
    expect(maxUnread).toBeLessThanOrEqual(64 * 1024);
  });

  it("send() waits when the replay buffer is full (the peer reads nothing), and the wait can time out", async () => {
    const { raw, listener } = await server({ maxBufferedBytes: 8 * 1024 });
    const client = track(await reliable(() => memoryTransport.connect(raw.address), { maxBufferedBytes: 1 << 20 }));
    const session = track((await listener.accept({ timeout: 5000 }))!);
    // The server announced an 8 KiB window: that is all the client keeps in flight (1 000 + 64 bytes each).
    // The sends within it must be accepted (a generous limit: the first waits for the handshake, which a busy
    // machine may delay); the next one must wait, until its short timeout fires.
    const accepted = Math.floor((8 * 1024) / 1064);
    for (let seq = 0; seq < accepted; seq++) await client.send(patterned(seq, 1000), { timeout: 30_000 });
    await expect(client.send(patterned(accepted, 1000), { timeout: 100 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    expect(client.stats.bufferedBytes).toBeLessThanOrEqual(8 * 1024);
    expect(session.stats.unreadBytes).toBeLessThanOrEqual(8 * 1024);
    const flushed = client.flush({ timeout: 5000 });
    for (let seq = 0; seq < accepted; seq++) expect(checkPatterned((await session.receive({ timeout: 5000 }))!)).toBe(seq);
    await flushed;
    expect(client.stats.bufferedBytes).toBe(0);
  });

  it("fails with SessionLostError, listing the unacknowledged messages, when the server lost the session", async () => {
    const address = memoryAddress("restart");
    let raw = await memoryTransport.listen(address);
    let listener = reliableListener(raw);
    const states: string[] = [];
    const connections: FaultyConnection[] = [];
    const client = track(
      await reliable(
        async () => {
          const c = faultyConnection(await memoryTransport.connect(address));
          connections.push(c);
          return c;
        },
        { ...FAST, onStateChange: (state) => states.push(state) },
      ),
    );
    const session = (await listener.accept({ timeout: 5000 }))!;
    await client.send(patterned(0, 10));
    expect(checkPatterned((await session.receive({ timeout: 5000 }))!)).toBe(0);
    await client.flush({ timeout: 5000 });
    // The server "dies": nothing listens, its connection breaks, its sessions are gone.
    await listener.close();
    connections[0]!.drop("the server died");
    session.abort();
    for (let seq = 1; seq <= 5; seq++) await client.send(patterned(seq, 10));
    expect(client.state).toBe("resuming");
    // It "restarts" at the same address, without the session.
    raw = await memoryTransport.listen(address);
    listener = reliableListener(raw);
    cleanups.push(() => listener.close());
    const error = await client.closed.then(
      () => undefined,
      (e: unknown) => e as { code?: string; unacknowledgedIds?: number[]; unacknowledged?: { message: Uint8Array }[] },
    );
    expect(error?.code).toBe("IPC_ERR_SESSION_LOST");
    expect(error?.unacknowledgedIds).toEqual([2, 3, 4, 5, 6]);
    expect(error?.unacknowledged?.map((m) => checkPatterned(m.message))).toEqual([1, 2, 3, 4, 5]);
    expect(states).toEqual(["connected", "resuming", "closed"]);
    await expect(client.send(patterned(9, 10))).rejects.toMatchObject({ code: "IPC_ERR_SESSION_LOST" });
  });

  it("takes a frozen peer for dead after deadPeerTimeout and resumes on a new connection", SLOW, async () => {
    const { raw, listener } = await server({ heartbeatInterval: 20, deadPeerTimeout: 60 });
    const connections: FaultyConnection[] = [];
    const client = track(
      await reliable(
        async () => {
          const c = faultyConnection(await memoryTransport.connect(raw.address));
          connections.push(c);
          return c;
        },
        { ...FAST, heartbeatInterval: 20, deadPeerTimeout: 60 },
      ),
    );
    const session = track((await listener.accept({ timeout: 5000 }))!);
    connections[0]!.freeze(); // the client hears nothing more on its first connection
    await session.send(patterned(1, 100));
    expect(checkPatterned((await client.receive({ timeout: 10_000 }))!)).toBe(1);
    expect(connections.length).toBeGreaterThanOrEqual(2);
    expect(client.stats.connections).toBeGreaterThanOrEqual(2);
    expect(client.stats.received).toBe(1);
  });

  it("keeps an idle session alive with heartbeats", SLOW, async () => {
    // Generous ratios (a heartbeat every 50 ms, dead after 500 ms of silence): a loaded machine may delay timers.
    const { raw, listener } = await server({ heartbeatInterval: 50, deadPeerTimeout: 500 });
    const client = track(await reliable(() => memoryTransport.connect(raw.address), { heartbeatInterval: 50, deadPeerTimeout: 500 }));
    const session = track((await listener.accept({ timeout: 5000 }))!);
    // Idle for three dead-peer timeouts: heartbeats must keep both ends on their first connection.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(client.stats.connections).toBe(1);
    expect(session.stats.connections).toBe(1);
    expect(client.state).toBe("connected");
  });
});

describe("reliable sessions: bad input", () => {
  it("refuses a connection that does not start with Hello, and serves the others", async () => {
    const { raw, listener } = await server();
    const bad = await memoryTransport.connect(raw.address);
    cleanups.push(() => bad.abort());
    await bad.send(new Uint8Array([0xff, 0xff, 0xff]));
    const client = track(await reliable(() => memoryTransport.connect(raw.address)));
    const session = track((await listener.accept({ timeout: 5000 }))!);
    // The bad client hears why (a Goodbye), then the connection ends.
    const goodbye = await bad.receive({ timeout: 5000 });
    expect(new TextDecoder().decode(goodbye)).toMatch(/not an ipc.IpcMessage envelope/);
    expect(await bad.receive({ timeout: 5000 })).toBeUndefined();
    await client.send(patterned(0, 10));
    expect(checkPatterned((await session.receive({ timeout: 5000 }))!)).toBe(0);
  });

  it("fails a session whose peer skips ids or floods past the window with ProtocolError; others go on", async () => {
    const { ipc } = await import("@ipc/core/proto");
    const { raw, listener } = await server({ maxBufferedBytes: 4096 });
    const good = track(await reliable(() => memoryTransport.connect(raw.address)));
    const goodSession = track((await listener.accept({ timeout: 5000 }))!);

    const hello = (c: Connection) => c.send(ipc.IpcMessage.encode({ hello: { version: 1, window: 1 << 20 } }).finish());
    const data = (id: number, size: number) => ipc.IpcMessage.encode({ data: { id, payload: new Uint8Array(size) } }).finish();

    const gap = await memoryTransport.connect(raw.address);
    cleanups.push(() => gap.abort());
    await hello(gap);
    const gapSession = track((await listener.accept({ timeout: 5000 }))!);
    await gap.send(data(1, 10));
    await gap.send(data(1, 10)); // a duplicate: dropped
    await gap.send(data(3, 10)); // a gap: id 2 is missing
    expect((await gapSession.receive({ timeout: 5000 }))?.byteLength).toBe(10);
    await expect(gapSession.receive({ timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL", message: /message 3 after 1/ });
    expect(gapSession.stats.duplicates).toBe(1);

    const flood = await memoryTransport.connect(raw.address);
    cleanups.push(() => flood.abort());
    await hello(flood);
    const floodSession = track((await listener.accept({ timeout: 5000 }))!);
    // Sends fail once the server gave up on this connection.
    for (let id = 1; id <= 10; id++) await flood.send(data(id, 1000)).catch(() => undefined);
    await expect(floodSession.closed).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL", message: /over the window of 4096 bytes/ });
    expect(floodSession.stats.unreadBytes).toBeLessThanOrEqual(4096 + 1064);

    await good.send(patterned(5, 10));
    expect(checkPatterned((await goodSession.receive({ timeout: 5000 }))!)).toBe(5);
  });

  it("rejects sends over maxMessageSize, and after close, with typed errors", async () => {
    const { raw, listener } = await server();
    const client = track(await reliable(() => memoryTransport.connect(raw.address, { maxMessageSize: 1000 })));
    track((await listener.accept({ timeout: 5000 }))!);
    expect(client.maxMessageSize).toBeLessThan(1000);
    await expect(client.send(new Uint8Array(1000))).rejects.toMatchObject({ code: "IPC_ERR_MESSAGE_TOO_LARGE" });
    void client.close();
    await expect(client.send(new Uint8Array(1))).rejects.toMatchObject({ code: "IPC_ERR_CLOSED" });
  });
});
