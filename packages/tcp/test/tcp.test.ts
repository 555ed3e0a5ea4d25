import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Connection, Listener } from "@ipc/core";
import { freePort, makeCertificates } from "@ipc/testing";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { connect, listen, pool, type ConnectionState, type TcpConnection } from "../src/index.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (message: Uint8Array | undefined): string => new TextDecoder().decode(message);

const open: { close(): Promise<void> }[] = [];
const children: ChildProcess[] = [];
const keep = <T extends { close(): Promise<void> }>(thing: T): T => (open.push(thing), thing);
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const thing of open.splice(0).reverse()) {
    if ("abort" in thing) (thing as unknown as Connection).abort();
    else await thing.close();
  }
});

function echo(listener: Listener): void {
  void (async () => {
    for await (const connection of listener) {
      void (async () => {
        for await (const message of connection) await connection.send(message);
        await connection.close();
      })().catch(() => undefined);
    }
  })();
}

/** An echo server in a child process on `port`; resolves once it listens. */
async function serverProcess(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./fixtures/echo-server.mjs", import.meta.url)), String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  await once(child.stdout!, "data");
  return child;
}

describe("addresses and socket options", () => {
  it("picks a free port for port 0 and reports it; speaks IPv6", async () => {
    const v4 = keep(await listen("tcp://127.0.0.1:0"));
    expect(v4.address).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const v6 = keep(await listen({ host: "::1", port: 0 }));
    expect(v6.address).toMatch(/^tcp:\/\/\[::1\]:[1-9]\d*$/);
    echo(v6);
    const client = keep(await connect(v6.address, { timeout: 5000 }));
    await client.send(bytes("six"));
    expect(text(await client.receive({ timeout: 5000 }))).toBe("six");
    expect(client.remoteAddress).toBe(v6.address);
    expect(client.localAddress).toMatch(/^tcp:\/\/\[::1\]:\d+$/);
  });

  it("turns Nagle off and keep-alive on by default, on both ends", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    const client = keep(await connect(listener.address));
    const server = keep((await listener.accept({ timeout: 5000 })) as TcpConnection);
    for (const end of [client, server]) expect(end.socket).toMatchObject({ noDelay: true, keepAlive: true });
    const plain = keep(await connect(listener.address, { noDelay: false, keepAlive: false }));
    expect(plain.socket).toMatchObject({ noDelay: false, keepAlive: false });
  });

  it("sets the send and receive buffer sizes and reports what the kernel made of them", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0", { sendBufferSize: 32 * 1024, receiveBufferSize: 48 * 1024 }));
    const client = keep(await connect(listener.address, { sendBufferSize: 64 * 1024, receiveBufferSize: 100 * 1024 }));
    const server = keep((await listener.accept({ timeout: 5000 })) as TcpConnection);
    // Linux doubles the value asked for (for its bookkeeping).
    expect(client.socket).toMatchObject({ sendBufferSize: 128 * 1024, receiveBufferSize: 200 * 1024 });
    expect(server.socket).toMatchObject({ sendBufferSize: 64 * 1024, receiveBufferSize: 96 * 1024 });
  });

  it("rejects bad options with InvalidArgumentError", async () => {
    await expect(listen("tcp://127.0.0.1:0", { maxConnections: 0 })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    await expect(connect("tcp://127.0.0.1:1", { writeTimeout: -5 })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    await expect(connect("unix:///tmp/x.sock")).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ADDRESS" });
  });

  it("refuses to listen on an address that is not this machine's with InvalidAddressError naming it", async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a host, so bind() fails with EADDRNOTAVAIL.
    const error = await listen("tcp://192.0.2.1:0").then(
      (listener) => keep(listener),
      (reason: unknown) => reason,
    );
    expect(error).toMatchObject({ code: "IPC_ERR_INVALID_ADDRESS", message: expect.stringContaining("192.0.2.1") });
  });
});

describe("timeouts and limits", () => {
  it("idleTimeout aborts a connection on which nothing moves, with TimeoutError", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0", { idleTimeout: 100 }));
    const client = keep(await connect(listener.address));
    const server = keep((await listener.accept({ timeout: 5000 }))!);
    await expect(server.closed).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT", message: expect.stringMatching(/for 100 ms \(idleTimeout\)/) });
    // The client sees its connection end (cleanly or as a reset, as the server's abort reaches it).
    const outcome = await client.receive({ timeout: 5000 }).then(
      (message) => (message === undefined ? "end" : "message"),
      (error: { code: string }) => error.code,
    );
    expect(["end", "IPC_ERR_CONNECTION_RESET"]).toContain(outcome);
  });

  it("writeTimeout aborts a sender whose peer stopped reading", { timeout: 60_000 }, async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0", { receiveBufferSize: 16 * 1024 }));
    const client = keep(await connect(listener.address, { writeTimeout: 200, sendBufferSize: 16 * 1024 }));
    keep((await listener.accept({ timeout: 5000 }))!); // accepted, never read
    const chunk = new Uint8Array(64 * 1024);
    const error = await (async () => {
      for (;;) await client.send(chunk);
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "IPC_ERR_TIMEOUT", message: expect.stringMatching(/none of the pending data for 200 ms \(writeTimeout\)/) });
    await expect(client.closed).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
  });

  it("maxConnections turns extra clients away as busy, and lets them in once there is room", async () => {
    const refused: string[] = [];
    const listener = keep(await listen("tcp://127.0.0.1:0", { maxConnections: 2, onReject: (_remote, reason) => refused.push(reason) }));
    const first = await connect(listener.address);
    keep(await connect(listener.address));
    await expect(connect(listener.address, { timeout: 5000 })).rejects.toMatchObject({
      code: "IPC_ERR_CONNECTION_REFUSED",
      message: expect.stringMatching(/busy: the listener serves its maximum of 2 connections/),
    });
    expect(refused).toEqual(["the listener serves its maximum of 2 connections"]);
    const served = keep((await listener.accept({ timeout: 5000 }))!);
    first.abort();
    await served.closed.catch(() => undefined);
    keep(await connect(listener.address, { timeout: 5000 }));
  });
});

describe("TLS", () => {
  const certs = makeCertificates();
  afterAll(() => certs.remove());

  it("encrypts with a server certificate the client trusts", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0", { tls: certs.server }));
    echo(listener);
    const client = keep(await connect(listener.address, { tls: { ca: certs.ca, servername: "localhost" }, timeout: 5000 }));
    await client.send(bytes("secret"));
    expect(text(await client.receive({ timeout: 5000 }))).toBe("secret");
  });

  it("checks the server's certificate against the IP connected to, without a servername", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0", { tls: certs.server }));
    echo(listener);
    const client = keep(await connect(listener.address, { tls: { ca: certs.ca }, timeout: 5000 }));
    await client.send(bytes("by ip"));
    expect(text(await client.receive({ timeout: 5000 }))).toBe("by ip");
  });

  it("refuses a server whose certificate the client does not trust", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0", { tls: certs.server }));
    await expect(connect(listener.address, { tls: { servername: "localhost" }, timeout: 5000 })).rejects.toMatchObject({
      code: "IPC_ERR_PEER_REJECTED",
      message: expect.stringMatching(/this client does not trust the server's certificate/),
    });
  });

  it("mutual TLS refuses a client without a certificate, or with one from another CA", async () => {
    const refused: string[] = [];
    const listener = keep(
      await listen("tcp://127.0.0.1:0", { tls: { ...certs.server, ca: certs.ca, requestCert: true }, onReject: (_r, reason) => refused.push(reason) }),
    );
    echo(listener);
    const trust = { ca: certs.ca, servername: "localhost" };
    await expect(connect(listener.address, { tls: trust, timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_PEER_REJECTED" });
    await expect(connect(listener.address, { tls: { ...trust, ...certs.rogueClient }, timeout: 5000 })).rejects.toMatchObject({
      code: "IPC_ERR_PEER_REJECTED",
    });
    const client = keep(await connect(listener.address, { tls: { ...trust, ...certs.client }, timeout: 5000 }));
    await client.send(bytes("mutual"));
    expect(text(await client.receive({ timeout: 5000 }))).toBe("mutual");
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.every((r) => r.startsWith("TLS handshake failed"))).toBe(true);
  });
});

describe("reconnecting client", () => {
  it("survives the server process being killed and restarted; sends made meanwhile go out in order", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const first = await serverProcess(port);
    const states: ConnectionState[] = [];
    const client = keep(
      await connect(`tcp://127.0.0.1:${port}`, { timeout: 10_000, reconnect: { minDelay: 20, maxDelay: 100, onStateChange: (s) => states.push(s) } }),
    );
    expect(client.state).toBe("connected");
    await client.send(bytes("before"));
    expect(text(await client.receive({ timeout: 5000 }))).toBe("before");

    first.kill("SIGKILL");
    await once(first, "exit");
    while (client.state !== "reconnecting") await new Promise((resolve) => setTimeout(resolve, 5));
    // Sent while the server is down: they wait, then go out on the new connection, in order.
    const sends = ["one", "two", "three"].map((word) => client.send(bytes(word), { timeout: 30_000 }));
    await serverProcess(port);
    await Promise.all(sends);
    const echoed = [];
    for (let i = 0; i < 3; i++) echoed.push(text(await client.receive({ timeout: 10_000 })));
    expect(echoed).toEqual(["one", "two", "three"]);
    expect(states).toEqual(["connected", "reconnecting", "connected"]);
  });

  it("a send that times out while reconnecting is never sent", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const server = await serverProcess(port);
    const client = keep(await connect(`tcp://127.0.0.1:${port}`, { reconnect: { minDelay: 20, maxDelay: 50 } }));
    server.kill("SIGKILL");
    while (client.state !== "reconnecting") await new Promise((resolve) => setTimeout(resolve, 5));
    await expect(client.send(bytes("lost cause"), { timeout: 50 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    await serverProcess(port);
    await client.send(bytes("after"), { timeout: 20_000 });
    expect(text(await client.receive({ timeout: 10_000 }))).toBe("after");
  });

  it("gives up after its retries: everything pending fails with the last error", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const server = await serverProcess(port);
    const client = await connect(`tcp://127.0.0.1:${port}`, { reconnect: { retries: 2, minDelay: 10, maxDelay: 20 } });
    const receiving = client.receive();
    server.kill("SIGKILL");
    await expect(receiving).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_REFUSED" });
    await expect(client.closed).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_REFUSED" });
    await expect(client.send(bytes("x"))).rejects.toMatchObject({ code: expect.stringMatching(/IPC_ERR_(CLOSED|CONNECTION_REFUSED)/) });
    expect(client.state).toBe("closed");
  });

  it("waits for a server that is not up yet, within the connect timeout", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const connecting = connect(`tcp://127.0.0.1:${port}`, { timeout: 20_000, reconnect: { minDelay: 20, maxDelay: 50 } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await serverProcess(port);
    const client = keep(await connecting);
    await client.send(bytes("late"));
    expect(text(await client.receive({ timeout: 5000 }))).toBe("late");
    await expect(connect(`tcp://127.0.0.1:${await freePort()}`, { timeout: 200, reconnect: { minDelay: 20 } })).rejects.toMatchObject({
      code: "IPC_ERR_TIMEOUT",
    });
  });
});

describe("pool", () => {
  // Waits that must succeed (a connect, an echo) get generous limits: a busy machine can take seconds.
  it("lends, takes back, and reuses connections; FIFO when all are out", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    echo(listener);
    const connections = keep(pool(listener.address, { max: 2 }));
    const a = await connections.acquire({ timeout: 30_000 });
    const b = await connections.acquire({ timeout: 30_000 });
    expect(connections.size).toBe(2);
    const order: string[] = [];
    const third = connections.acquire({ timeout: 30_000 }).then((c) => (order.push("third"), c));
    const fourth = connections.acquire({ timeout: 30_000 }).then((c) => (order.push("fourth"), c));
    expect(connections.pending).toBe(2);
    a.release();
    b.release();
    const [c3, c4] = await Promise.all([third, fourth]);
    expect(order).toEqual(["third", "fourth"]);
    await expect(a.send(bytes("x"))).rejects.toMatchObject({ code: "IPC_ERR_CLOSED" });
    await c3.send(bytes("reused"));
    expect(text(await c3.receive({ timeout: 30_000 }))).toBe("reused");
    c3.release();
    c4.release();
    expect(connections.size).toBe(2);
  });

  it("acquire() times out when every connection is out", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    const connections = keep(pool(listener.address, { max: 1, acquireTimeout: 50 }));
    // The first acquire opens the connection: it must succeed, so it gets a generous limit of its own (50 ms
    // is too short for a connect on a busy machine). The second has none to get: the pool's 50 ms must fire.
    const held = await connections.acquire({ timeout: 30_000 });
    await expect(connections.acquire()).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    held.release();
  });

  it("notices a dead peer and never lends its connection (a remote close, not just a local one)", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    const served: Connection[] = [];
    void (async () => {
      for await (const connection of listener) served.push(connection);
    })();
    const connections = keep(pool(listener.address, { max: 2 }));
    const first = await connections.acquire({ timeout: 30_000 });
    first.release();
    expect(connections.idle).toBe(1);
    while (served.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    served[0]!.abort(); // the server side goes away
    while (connections.idle > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const next = await connections.acquire({ timeout: 30_000 });
    while (served.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    await next.send(bytes("fresh"));
    expect(text(await served[1]!.receive({ timeout: 30_000 }))).toBe("fresh");
    next.release();
  });

  it("validate() drops a connection that fails it, and lends a fresh one", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    echo(listener);
    let calls = 0;
    const connections = keep(pool(listener.address, { max: 2, validate: () => ++calls > 1 }));
    const first = await connections.acquire({ timeout: 30_000 }); // new: not validated
    first.release();
    // The idle one fails validation (call 1) and is closed; a new one is opened and lent unchecked.
    const second = await connections.acquire({ timeout: 30_000 });
    expect(calls).toBe(1);
    expect(connections.size).toBe(1);
    await second.send(bytes("valid"));
    expect(text(await second.receive({ timeout: 30_000 }))).toBe("valid");
    second.release();
  });

  it("drain() waits for borrowed connections to come back, then closes everything", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    const connections = pool(listener.address, { max: 2 });
    const lent = await connections.acquire({ timeout: 30_000 });
    let drained = false;
    const draining = connections.drain({ timeout: 30_000 }).then(() => (drained = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(drained).toBe(false);
    await expect(connections.acquire()).rejects.toMatchObject({ code: "IPC_ERR_CLOSED" });
    lent.release();
    await draining;
    expect(connections.size).toBe(0);
  });
});

describe("resources", () => {
  const fds = (): number => readdirSync("/proc/self/fd").length;

  it("leaks no file descriptor over 5 000 connect/close cycles", { timeout: 120_000 }, async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    // The server's ends, each settled once its socket has closed.
    const serverEnds: Promise<unknown>[] = [];
    void (async () => {
      for await (const connection of listener) {
        serverEnds.push(connection.closed.catch(() => undefined));
        void connection.close();
      }
    })();
    let cycles = 0;
    const cycle = async (): Promise<void> => {
      const client = await connect(listener.address, { timeout: 10_000 });
      await client.close({ timeout: 10_000 });
      cycles++;
    };
    /** Waits until the server has taken every connection made so far and each of its ends has closed. */
    const settled = async (): Promise<void> => {
      while (serverEnds.length < cycles) await new Promise((resolve) => setTimeout(resolve, 5));
      await Promise.all(serverEnds);
    };
    for (let i = 0; i < 50; i++) await cycle();
    await settled();
    const before = fds();
    for (let i = 0; i < 5000; i++) await cycle();
    await settled();
    // A descriptor is released as its socket's 'close' is emitted; polled (generously: a busy machine), because
    // Node may finish tearing a handle down a tick later. A leak never gets back to `before`, so it still fails.
    await expect.poll(fds, { timeout: 20_000 }).toBe(before);
  });

  it("serves 1 000 concurrent clients doing 100 round trips each, without an error", { timeout: 300_000 }, async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0", { backlog: 1024 }));
    echo(listener);
    const clients = await Promise.all(Array.from({ length: 1000 }, () => connect(listener.address, { timeout: 60_000 })));
    await Promise.all(
      clients.map(async (client, id) => {
        for (let i = 0; i < 100; i++) {
          await client.send(bytes(`${id}:${i}`));
          expect(text(await client.receive({ timeout: 60_000 }))).toBe(`${id}:${i}`);
        }
        await client.close({ timeout: 60_000 });
      }),
    );
  });
});
