// The fault injectors do what they say, on real resources: message faults over in-memory connections,
// byte faults through the proxy in front of a real TCP server, process faults on a real child process.
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryPair, memoryTransport, type Connection } from "@ipc/core";
import { afterEach, describe, expect, it } from "vitest";
import { faultProxy, faultyConnect, faultyConnection, faultyListener, patterned, randomSource, serverProcess } from "../src/index.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function pair(): [Connection, Connection] {
  const [a, b] = memoryPair();
  cleanups.push(() => (a.abort(), b.abort()));
  return [a, b];
}

const code = (error: unknown): string | undefined => (error as { code?: string } | undefined)?.code;

describe("faultyConnection", () => {
  it("breaks the connection once dropAfterMessages messages went through; both ends see it", async () => {
    const [a, b] = pair();
    const faulty = faultyConnection(a, { dropAfterMessages: 3 });
    for (let i = 0; i < 3; i++) await faulty.send(patterned(i, 10));
    await expect(faulty.send(patterned(3, 10))).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET", message: /after 3 messages/ });
    expect(faulty.faults.dropped).toBe("after 3 messages");
    // The peer gets what went through before the break, then the break.
    for (let i = 0; i < 3; i++) expect((await b.receive({ timeout: 5000 }))?.byteLength).toBe(10);
    await expect(b.receive({ timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET" });
    await expect(faulty.closed).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET" });
  });

  it("counts received messages and bytes too: dropAfterBytes breaks it mid-stream", async () => {
    const [a, b] = pair();
    const faulty = faultyConnection(a, { dropAfterBytes: 250 });
    for (let i = 0; i < 2; i++) {
      await b.send(patterned(i, 100));
      expect((await faulty.receive({ timeout: 5000 }))?.byteLength).toBe(100);
    }
    await b.send(patterned(2, 100));
    await expect(faulty.receive({ timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET", message: /after 250 bytes/ });
    expect(faulty.faults.bytes).toBe(300);
  });

  it("dropProbability 1 breaks it on the first message", async () => {
    const [a] = pair();
    const faulty = faultyConnection(a, { dropProbability: 1 });
    await expect(faulty.send(new Uint8Array(1))).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET", message: /at random/ });
  });

  it("flipProbability 1 inverts exactly one byte of every received message", async () => {
    const [a, b] = pair();
    const faulty = faultyConnection(a, { flipProbability: 1, seed: 9 });
    for (let i = 0; i < 20; i++) await b.send(patterned(i, 64));
    for (let i = 0; i < 20; i++) {
      const got = (await faulty.receive({ timeout: 5000 }))!;
      const want = patterned(i, 64);
      const diff = got.reduce((n, byte, at) => n + (byte !== want[at] ? 1 : 0), 0);
      expect(diff).toBe(1);
      expect(got.find((byte, at) => byte !== want[at] && byte !== (want[at]! ^ 0xff))).toBeUndefined();
    }
    expect(faulty.faults.flipped).toBe(20);
  });

  it("delay and stall hold received messages back (a wait that times out shows they are not delivered yet)", async () => {
    const [a, b] = pair();
    const delayed = faultyConnection(a, { delay: 30_000 });
    await b.send(new Uint8Array([1]));
    await expect(delayed.receive({ timeout: 100 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    const [c, d] = pair();
    const stalled = faultyConnection(c, { stall: { every: 2, ms: 30_000 } });
    for (let i = 0; i < 3; i++) await d.send(patterned(i, 8));
    expect((await stalled.receive({ timeout: 5000 }))?.byteLength).toBe(8);
    // The second message is the second of its group of two: the stall comes before it.
    await expect(stalled.receive({ timeout: 100 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    delayed.abort();
    stalled.abort();
  });

  it("freeze() stops delivery, thaw() resumes it in order; drop() breaks it on request", async () => {
    const [a, b] = pair();
    const faulty = faultyConnection(a);
    faulty.freeze();
    await b.send(patterned(0, 8));
    await b.send(patterned(1, 8));
    await expect(faulty.receive({ timeout: 100 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    faulty.thaw();
    expect(new DataView((await faulty.receive({ timeout: 5000 }))!.buffer).getUint32(0)).toBe(0);
    expect(new DataView((await faulty.receive({ timeout: 5000 }))!.buffer).getUint32(0)).toBe(1);
    faulty.drop("by the test");
    expect(faulty.faults.dropped).toBe("by the test");
    await expect(b.receive({ timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET" });
  });

  it("faultyConnect and faultyListener wrap every connection, each with its own draw from the plan", async () => {
    const listener = faultyListener(await memoryTransport.listen(`memory://faults-${process.pid}`), { dropAfterMessages: [1, 1000] });
    cleanups.push(() => listener.close());
    const connect = faultyConnect((address: string) => memoryTransport.connect(address), { dropAfterMessages: 2 });
    const client = await connect(listener.address);
    cleanups.push(() => client.abort());
    const server = (await listener.accept({ timeout: 5000 }))!;
    cleanups.push(() => server.abort());
    expect("faults" in server).toBe(true);
    await client.send(new Uint8Array(1));
    await client.send(new Uint8Array(1));
    await expect(client.send(new Uint8Array(1))).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET" });
  });

  it("randomSource is deterministic per seed", () => {
    const one = randomSource(42);
    const two = randomSource(42);
    const draws = Array.from({ length: 5 }, () => one());
    expect(Array.from({ length: 5 }, () => two())).toEqual(draws);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(randomSource(43)()).not.toBe(draws[0]);
  });
});

/** A real TCP server (or Unix socket server at `path`) that records every chunk it reads, per connection. */
async function recordingServer(path?: string): Promise<{ address: string; chunks: Buffer[][]; sockets: net.Socket[] }> {
  const chunks: Buffer[][] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    const mine: Buffer[] = [];
    chunks.push(mine);
    sockets.push(socket);
    socket.on("data", (chunk: Buffer) => mine.push(chunk));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => (path === undefined ? server.listen(0, "127.0.0.1", resolve) : server.listen(path, resolve)));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const address = path === undefined ? `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}` : `unix://${path}`;
  return { address, chunks, sockets };
}

async function dial(address: string): Promise<net.Socket> {
  const url = new URL(address);
  const socket = url.protocol === "unix:" ? net.connect(url.pathname) : net.connect({ host: "127.0.0.1", port: Number(url.port) });
  socket.on("error", () => undefined);
  cleanups.push(() => socket.destroy());
  await once(socket, "connect");
  return socket;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

const total = (chunks: Buffer[] | undefined): number => (chunks ?? []).reduce((n, c) => n + c.byteLength, 0);

describe("faultProxy", () => {
  it("passes bytes through unchanged both ways when no fault is set", async () => {
    const target = await recordingServer();
    const proxy = await faultProxy(target.address);
    cleanups.push(() => proxy.close());
    const client = await dial(proxy.address);
    client.write(Buffer.from("hello"));
    await until(() => total(target.chunks[0]) === 5);
    expect(Buffer.concat(target.chunks[0]!).toString()).toBe("hello");
    const back: Buffer[] = [];
    client.on("data", (chunk: Buffer) => back.push(chunk));
    target.sockets[0]!.write("world");
    await until(() => total(back) === 5);
    expect(Buffer.concat(back).toString()).toBe("world");
    expect(proxy.stats).toMatchObject({ connections: 1, dropped: 0, bytes: 10 });
  });

  it("split: forwards a chunk in writes of at most N bytes, and the bytes arrive whole", async () => {
    const target = await recordingServer();
    const proxy = await faultProxy(target.address, { split: [1, 7] });
    cleanups.push(() => proxy.close());
    const client = await dial(proxy.address);
    const data = Buffer.from(patterned(1, 400));
    client.write(data);
    await until(() => total(target.chunks[0]) === 400);
    expect(Buffer.concat(target.chunks[0]!).equals(data)).toBe(true);
    // The server's reads can merge the proxy's writes, but never beyond what was written: many reads.
    expect(target.chunks[0]!.length).toBeGreaterThan(400 / 7 / 4);
  });

  it("coalesce: gathers many small writes into few chunks", async () => {
    const target = await recordingServer();
    const proxy = await faultProxy(target.address, { coalesce: 200 });
    cleanups.push(() => proxy.close());
    const client = await dial(proxy.address);
    for (let i = 0; i < 50; i++) {
      client.write(Buffer.from([i]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => total(target.chunks[0]) === 50);
    expect(Buffer.concat(target.chunks[0]!)).toEqual(Buffer.from(Array.from({ length: 50 }, (_, i) => i)));
    expect(target.chunks[0]!.length).toBeLessThan(10);
  });

  it("delay, stall and pause hold bytes back (a bounded wait shows they have not arrived), resume releases them", async () => {
    const target = await recordingServer();
    const delayed = await faultProxy(target.address, { delay: 30_000 });
    cleanups.push(() => delayed.close());
    (await dial(delayed.address)).write("x");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(total(target.chunks[0])).toBe(0);

    const stalled = await faultProxy(target.address, { stall: { every: 1, ms: 30_000 } });
    cleanups.push(() => stalled.close());
    (await dial(stalled.address)).write("y");
    const paused = await faultProxy(target.address);
    cleanups.push(() => paused.close());
    const client = await dial(paused.address);
    await until(() => target.chunks.length === 3);
    paused.pause();
    client.write("z");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(total(target.chunks[1])).toBe(0);
    expect(total(target.chunks[2])).toBe(0);
    paused.resume();
    await until(() => total(target.chunks[2]) === 1);
    expect(total(target.chunks[1])).toBe(0);
  });

  it("dropAfterBytes: forwards exactly that many bytes, then resets both sides", async () => {
    const target = await recordingServer();
    const proxy = await faultProxy(target.address, { dropAfterBytes: 500 });
    cleanups.push(() => proxy.close());
    const client = await dial(proxy.address);
    const closed = new Promise((resolve) => client.once("close", resolve));
    client.write(Buffer.alloc(2000, 1));
    await closed;
    await until(() => target.sockets[0]?.destroyed === true);
    expect(total(target.chunks[0])).toBe(500);
    expect(proxy.stats.dropped).toBe(1);
  });

  it("proxies Unix sockets too: dropAfterBytes and close() end both sides (a Unix socket has no reset to send)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ipc-fault-proxy-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const target = await recordingServer(join(dir, "target.sock"));
    const proxy = await faultProxy(target.address, { dropAfterBytes: 500, split: [1, 64] }, `unix://${join(dir, "proxy.sock")}`);
    cleanups.push(() => proxy.close());
    expect(proxy.address).toBe(`unix://${join(dir, "proxy.sock")}`);
    const dropped = await dial(proxy.address);
    const closed = once(dropped, "close");
    dropped.write(Buffer.alloc(2000, 1));
    await closed;
    await until(() => target.sockets[0]?.destroyed === true);
    expect(total(target.chunks[0])).toBe(500);
    expect(proxy.stats.dropped).toBe(1);
    // close() ends the connections still open (Node's resetAndDestroy() throws for a Unix socket).
    const open = await dial(proxy.address);
    const ended = once(open, "close");
    await until(() => target.sockets.length === 2);
    await proxy.close();
    await ended;
  });

  it("dropAll() resets every connection; new ones are still accepted", async () => {
    const target = await recordingServer();
    const proxy = await faultProxy(target.address);
    cleanups.push(() => proxy.close());
    const one = await dial(proxy.address);
    const error = new Promise<string | undefined>((resolve) => one.once("error", (e) => resolve(code(e))).once("close", () => resolve(undefined)));
    await until(() => target.sockets.length === 1);
    proxy.dropAll();
    expect(await error).toBe("ECONNRESET");
    const two = await dial(proxy.address);
    two.write("again");
    await until(() => total(target.chunks[1]) === 5);
    expect(proxy.stats.connections).toBe(2);
  });

  it("flipProbability 1 inverts one byte per chunk forwarded", async () => {
    const target = await recordingServer();
    const proxy = await faultProxy(target.address, { flipProbability: 1 });
    cleanups.push(() => proxy.close());
    const client = await dial(proxy.address);
    const data = Buffer.from(patterned(5, 300));
    client.write(data);
    await until(() => total(target.chunks[0]) === 300);
    const got = Buffer.concat(target.chunks[0]!);
    let diff = 0;
    for (let i = 0; i < 300; i++) if (got[i] !== data[i]) diff++;
    expect(diff).toBeGreaterThanOrEqual(1);
    expect(diff).toBe(proxy.stats.flipped);
  });

  it("refuses an address it cannot proxy with InvalidAddressError", async () => {
    await expect(faultProxy("shm://x")).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ADDRESS" });
  });
});

describe("serverProcess", () => {
  const script = `console.log("ready"); setInterval(() => {}, 1000);`;

  it("starts a child, SIGKILLs it, restarts it with a new pid, and keeps its lines", async () => {
    const server = serverProcess({ command: [process.execPath, "-e", script] });
    cleanups.push(() => server[Symbol.asyncDispose]());
    await server.start();
    const first = server.pid!;
    expect(first).toBeGreaterThan(0);
    await server.restart();
    expect(server.pid).not.toBe(first);
    expect(() => process.kill(first, 0)).toThrow();
    expect(server.lines).toEqual(["ready", "ready"]);
    expect(await server.kill()).toEqual({ code: null, signal: "SIGKILL" });
    expect(server.pid).toBeUndefined();
  });

  it("freeze() stops the child (SIGSTOP), thaw() continues it (SIGCONT)", async () => {
    const server = serverProcess({ command: [process.execPath, "-e", script] });
    cleanups.push(() => server[Symbol.asyncDispose]());
    await server.start();
    const state = (): string => readFileSync(`/proc/${server.pid}/stat`, "utf8").split(") ")[1]![0]!;
    server.freeze();
    await until(() => state() === "T");
    server.thaw();
    await until(() => state() !== "T");
    expect(["S", "R"]).toContain(state());
  });

  it("start() fails if the child exits before its ready line", async () => {
    const server = serverProcess({ command: [process.execPath, "-e", "process.exit(3)"] });
    await expect(server.start()).rejects.toThrow(/exited \(code 3/);
  });
});
