/**
 * The diagnostics channels (packages/core/README.md, "Observability") over real Unix sockets: each event is
 * triggered for real and its message checked. Waits are for the events themselves, never for time.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { IPC_CHANNELS, subscribeDiagnostics, type Connection, type IpcChannelMessages, type IpcChannelName, type Listener } from "@ipc/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, listen } from "../src/index.js";

let dir: string;
const open: (Listener | Connection)[] = [];
const unsubscribes: (() => void)[] = [];
const keep = <T extends Listener | Connection>(thing: T): T => (open.push(thing), thing);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ipc-diagnostics-"));
});
afterEach(async () => {
  for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
  for (const thing of open.splice(0)) {
    if ("abort" in thing) thing.abort();
    else await thing.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Every message on `name` from now on, and a wait for the first one that matches. */
function record<N extends IpcChannelName>(name: N) {
  const messages: IpcChannelMessages[N][] = [];
  const waiters: { test: (m: IpcChannelMessages[N]) => boolean; resolve: (m: IpcChannelMessages[N]) => void }[] = [];
  unsubscribes.push(
    subscribeDiagnostics(name, (message) => {
      messages.push(message);
      for (const waiter of waiters.splice(0)) {
        if (waiter.test(message)) waiter.resolve(message);
        else waiters.push(waiter);
      }
    }),
  );
  return {
    messages,
    next(test: (m: IpcChannelMessages[N]) => boolean = () => true): Promise<IpcChannelMessages[N]> {
      const seen = messages.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
  };
}

const bytes = (size: number): Uint8Array => new Uint8Array(size).fill(7);

describe("ipc:connection:connect and ipc:connection:accept", () => {
  it("name the client's connection and the listener's, with the address and the peer", async () => {
    const connects = record("ipc:connection:connect");
    const accepts = record("ipc:connection:accept");
    const listener = keep(await listen(join(dir, "a.sock")));
    const client = keep(await connect(listener.address, { timeout: 10_000 }));
    const server = keep((await listener.accept({ timeout: 10_000 }))!);

    const connected = await connects.next((m) => m.connection === client);
    expect(connected.address).toBe(listener.address);
    expect(connected.connection.peer?.pid).toBe(process.pid);
    const accepted = await accepts.next((m) => m.connection === server);
    expect(accepted.listener).toBe(listener);
    expect(accepted.address).toBe(listener.address);
    expect(accepted.connection.peer?.pid).toBe(process.pid);
  });

  it("name a connection made without the handshake (handshake: false) as soon as it is connected", async () => {
    const connects = record("ipc:connection:connect");
    const accepts = record("ipc:connection:accept");
    const listener = keep(await listen(join(dir, "plain.sock"), { handshake: false }));
    const client = keep(await connect(listener.address, { timeout: 10_000, handshake: false }));
    const server = keep((await listener.accept({ timeout: 10_000 }))!);
    expect(await connects.next((m) => m.connection === client)).toEqual({ connection: client, address: listener.address });
    expect((await accepts.next((m) => m.connection === server)).listener).toBe(listener);
  });
});

describe("ipc:connection:refuse", () => {
  it("is published by the listener that refuses (with the client's credentials) and by the refused client", async () => {
    const refusals = record("ipc:connection:refuse");
    const closes = record("ipc:connection:close");
    const listener = keep(await listen(join(dir, "strict.sock"), { authorize: () => false }));
    await expect(connect(listener.address, { timeout: 10_000 })).rejects.toMatchObject({ code: "IPC_ERR_PEER_REJECTED" });

    const byListener = await refusals.next((m) => m.side === "listener");
    expect(byListener).toMatchObject({ address: listener.address, reason: "authorize() refused it", error: undefined });
    expect(byListener.peer).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
    const byClient = await refusals.next((m) => m.side === "client");
    expect(byClient.address).toBe(listener.address);
    expect(byClient.reason).toBe("not authorized");
    expect(byClient.error).toMatchObject({ code: "IPC_ERR_PEER_REJECTED" });
    // The refused client's connection closes with the reason "refused".
    const closed = await closes.next((m) => m.error === byClient.error);
    expect(closed.reason).toBe("refused");
  });
});

describe("ipc:connection:close", () => {
  it("says end when both sides close gracefully", async () => {
    const closes = record("ipc:connection:close");
    const listener = keep(await listen(join(dir, "end.sock")));
    const client = keep(await connect(listener.address, { timeout: 10_000 }));
    const server = keep((await listener.accept({ timeout: 10_000 }))!);
    await client.close({ timeout: 10_000 });
    await server.closed;
    expect(await closes.next((m) => m.connection === client)).toMatchObject({ reason: "end", error: undefined });
    expect(await closes.next((m) => m.connection === server)).toMatchObject({ reason: "end", error: undefined });
  });

  it("says abort on the side that aborted and reset on its peer", async () => {
    const closes = record("ipc:connection:close");
    const backpressure = record("ipc:backpressure");
    const listener = keep(await listen(join(dir, "reset.sock")));
    const client = keep(await connect(listener.address, { timeout: 10_000, highWaterMark: 1024 }));
    const server = keep((await listener.accept({ timeout: 10_000 }))!);
    // A Unix socket closed with bytes it never read resets its peer (an abort with nothing unread is a plain
    // end-of-file there): fill the client until it stops reading, then abort it.
    for (let i = 0; i < 16; i++) void server.send(bytes(65536)).catch(() => undefined);
    await backpressure.next((m) => m.connection === client && m.state === "on");
    client.abort();
    await server.closed.catch(() => undefined);
    const aborted = await closes.next((m) => m.connection === client);
    expect(aborted).toMatchObject({ reason: "abort", error: { code: "IPC_ERR_ABORTED" } });
    const reset = await closes.next((m) => m.connection === server);
    expect(reset).toMatchObject({ reason: "reset", error: { code: "IPC_ERR_CONNECTION_RESET" } });
  });

  it("says too-large, after ipc:protocol:error, when the peer sends a frame over maxMessageSize", async () => {
    const closes = record("ipc:connection:close");
    const protocolErrors = record("ipc:protocol:error");
    const order: string[] = [];
    unsubscribes.push(subscribeDiagnostics(IPC_CHANNELS.protocolError, () => order.push("protocol")));
    unsubscribes.push(subscribeDiagnostics(IPC_CHANNELS.close, () => order.push("close")));
    const listener = keep(await listen(join(dir, "small.sock"), { maxMessageSize: 1024 }));
    const client = keep(await connect(listener.address, { timeout: 10_000 }));
    const server = keep((await listener.accept({ timeout: 10_000 }))!);
    await client.send(bytes(4096));
    await expect(server.closed).rejects.toMatchObject({ code: "IPC_ERR_FRAME_TOO_LARGE" });

    const protocol = await protocolErrors.next((m) => m.connection === server);
    expect(protocol.error).toMatchObject({ code: "IPC_ERR_FRAME_TOO_LARGE" });
    const closed = await closes.next((m) => m.connection === server);
    expect(closed).toMatchObject({ reason: "too-large", error: protocol.error });
    expect(order.slice(0, 2)).toEqual(["protocol", "close"]);
  });
});

describe("ipc:protocol:error", () => {
  it("is published when a server's first frame is not a status frame, and the connection closes with protocol", async () => {
    const protocolErrors = record("ipc:protocol:error");
    const closes = record("ipc:connection:close");
    // Not an @ipc server: it answers every client with a 1-byte frame that is not a status (docs/wire.md §2.1).
    const path = join(dir, "impostor.sock");
    const impostor = net.createServer((socket) => socket.end(Uint8Array.of(0, 0, 0, 1, 0x41)));
    await new Promise<void>((resolve) => impostor.listen(path, resolve));
    try {
      const refused = connect(path, { timeout: 10_000 });
      await expect(refused).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
      const published = await protocolErrors.next((m) => m.error.message.includes("not a status frame"));
      expect(published.error).toMatchObject({ code: "IPC_ERR_PROTOCOL" });
      expect(await closes.next((m) => m.connection === published.connection)).toMatchObject({ reason: "protocol" });
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });
});

describe("ipc:backpressure", () => {
  it("turns on when a connection's unread bytes reach highWaterMark and off when reading drains them to half", async () => {
    const events = record("ipc:backpressure");
    const listener = keep(await listen(join(dir, "slow.sock"), { highWaterMark: 4096 }));
    const client = keep(await connect(listener.address, { timeout: 10_000 }));
    const server = keep((await listener.accept({ timeout: 10_000 }))!);
    // The server reads nothing until its queue is full.
    for (let i = 0; i < 8; i++) void client.send(bytes(1024)).catch(() => undefined);
    const on = await events.next((m) => m.connection === server && m.state === "on");
    expect(on.highWaterMark).toBe(4096);
    expect(on.bufferedBytes).toBeGreaterThanOrEqual(4096);
    for (let i = 0; i < 8; i++) await server.receive({ timeout: 10_000 });
    const off = await events.next((m) => m.connection === server && m.state === "off");
    expect(off.bufferedBytes).toBeLessThanOrEqual(2048);
    expect(events.messages.filter((m) => m.connection === server).map((m) => m.state)).toEqual(["on", "off"]);
  });
});

describe("NODE_DEBUG=ipc", () => {
  it("prints the events of a program that imports only @ipc/unix (from dist/)", { timeout: 60_000 }, async () => {
    const unix = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    if (!existsSync(unix)) throw new Error(`${unix} is missing: build the workspace first (pnpm build)`);
    const path = join(dir, "debug.sock");
    const script = `const { connect, listen } = await import(${JSON.stringify(unix)});
      const listener = await listen(${JSON.stringify(path)});
      const client = await connect(listener.address, { timeout: 10000 });
      const server = await listener.accept();
      await client.send(new Uint8Array(3));
      await server.receive();
      await client.close();
      await server.closed;
      await listener.close();
      const strict = await listen(${JSON.stringify(`${path}.strict`)}, { authorize: () => false });
      await connect(strict.address, { timeout: 10000 }).catch(() => undefined);
      await strict.close();`;
    // Generous: a child process on a loaded machine; the script itself waits only for events.
    const { stderr } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, NODE_DEBUG: "ipc" },
      timeout: 50_000,
    });
    const address = `unix://${path}`;
    expect(stderr).toMatch(new RegExp(`IPC \\d+: connect #\\d+ ${address} \\(peer pid \\d+ uid \\d+ gid \\d+\\)`));
    expect(stderr).toMatch(new RegExp(`IPC \\d+: accept #\\d+ ${address} on ${address}`));
    expect(stderr).toMatch(new RegExp(`IPC \\d+: close #\\d+ ${address}: end\\n`));
    expect(stderr).toMatch(new RegExp(`IPC \\d+: refuse a client on ${address}.strict \\(peer pid \\d+ uid \\d+ gid \\d+\\): authorize\\(\\) refused it`));
    expect(stderr).toMatch(new RegExp(`IPC \\d+: refused by ${address}.strict: IPC_ERR_PEER_REJECTED: `));
    expect(stderr).toMatch(/IPC \d+: close #\d+ \S+: refused \(IPC_ERR_PEER_REJECTED: /);
  });
});
