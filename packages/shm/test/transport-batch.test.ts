import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Connection, Listener } from "@ipc/core";
import { afterEach, describe, expect, it } from "vitest";
import { type ShmConnection, connect, listen, type ShmMessageView } from "../src/index.js";

// The batch path (Connection.sendBatch / receiveBatch) and the zero-copy receive of shm:// connections
// (packages/shm/README.md, "Batches and zero-copy receive"; the ring's rules: docs/wire.md §5.5).

const peerScript = fileURLToPath(new URL("./fixtures/batch-peer.mjs", import.meta.url));
let serial = 0;
const open: (Connection | Listener)[] = [];
const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
  for (const thing of open.splice(0)) {
    if ("abort" in thing) thing.abort();
    else await thing.close();
  }
  // Every connection's segment is unlinked as soon as both sides mapped it: nothing of ours is left.
  expect(readdirSync("/dev/shm").filter((name) => name.includes(`batch-${process.pid}-`))).toEqual([]);
});

const nextAddress = (): string => `shm://batch-${process.pid}-${++serial}`;

async function pair(options?: { ringCapacity?: number; maxMessageSize?: number }): Promise<{ server: ShmConnection; client: ShmConnection }> {
  const address = nextAddress();
  const listener = await listen(address, options);
  open.push(listener);
  const accepted = listener[Symbol.asyncIterator]().next();
  const client = await connect(address, { timeout: 30_000, maxMessageSize: options?.maxMessageSize });
  const server = (await accepted).value as ShmConnection;
  open.push(client, server);
  return { server, client };
}

/** Starts batch-peer.mjs connecting to a fresh listener; resolves with the accepted connection. */
async function childPeer(role: string, options?: { ringCapacity?: number }): Promise<{ server: ShmConnection; child: ChildProcess }> {
  const address = nextAddress();
  const listener = await listen(address, { ...options, maxMessageSize: 8 << 20 });
  open.push(listener);
  const accepted = listener[Symbol.asyncIterator]().next();
  const child = spawn(process.execPath, [peerScript, address, role], { stdio: ["pipe", "pipe", "inherit"] });
  children.add(child);
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  expect(line).toBe("connected");
  const server = (await accepted).value as ShmConnection;
  open.push(server);
  return { server, child };
}

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const patterned = (size: number, seed: number): Uint8Array => {
  const message = new Uint8Array(size);
  for (let i = 0; i < size; i++) message[i] = (seed * 31 + i * 7) & 0xff;
  return message;
};

/** Receives with receiveBatch() until `count` messages came. */
async function receiveAll(connection: Connection, count: number): Promise<Uint8Array[]> {
  const all: Uint8Array[] = [];
  while (all.length < count) {
    const batch = await connection.receiveBatch({ timeout: 30_000 });
    if (batch === undefined) throw new Error(`the end after ${all.length} of ${count} messages`);
    all.push(...batch);
  }
  return all;
}

describe("shm:// sendBatch / receiveBatch", () => {
  it("keeps the order of sends and batches mixed, and receiveBatch returns every message that arrived", async () => {
    const { server, client } = await pair();
    await client.send(bytes(1));
    await client.sendBatch([bytes(2), bytes(3), new Uint8Array(0), bytes(4)]);
    await client.send(bytes(5));
    await client.sendBatch([bytes(6)]);
    const batch = await server.receiveBatch({ timeout: 30_000 });
    expect(batch).toEqual([bytes(1), bytes(2), bytes(3), new Uint8Array(0), bytes(4), bytes(5), bytes(6)]);
  });

  it("receiveBatch honours maxMessages and maxBytes, and returns a first message larger than maxBytes alone", async () => {
    const { server, client } = await pair();
    await client.sendBatch([new Uint8Array(10), new Uint8Array(10), new Uint8Array(10), new Uint8Array(100), new Uint8Array(5)]);
    expect((await server.receiveBatch({ maxMessages: 2 }))!.map((m) => m.byteLength)).toEqual([10, 10]);
    expect((await server.receiveBatch({ maxBytes: 50 }))!.map((m) => m.byteLength)).toEqual([10]);
    expect((await server.receiveBatch({ maxBytes: 50 }))!.map((m) => m.byteLength)).toEqual([100]);
    expect((await server.receiveBatch({ maxBytes: 50 }))!.map((m) => m.byteLength)).toEqual([5]);
    await expect(server.receiveBatch({ maxMessages: 0 })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
  });

  it("messages of a received batch are the sender's bytes, and stay intact after the ring's space is reused", async () => {
    const { server, client } = await pair({ ringCapacity: 4096 });
    const first = [patterned(300, 1), patterned(17, 2), patterned(900, 3)];
    await client.sendBatch(first);
    const received = await receiveAll(server, 3);
    // Overwrite every byte of the ring the first batch used.
    for (let round = 0; round < 8; round++) {
      await client.sendBatch([patterned(1000, 10 + round), patterned(900, 20 + round)]);
      await receiveAll(server, 2);
    }
    expect(received).toEqual(first);
  });

  it("a batch withdrawn by its signal while the ring is full writes none of its messages", async () => {
    const { server, client } = await pair({ ringCapacity: 4096 });
    // Fill the ring to its last byte: 8-byte messages (16-byte records) until one has to wait (the reader
    // takes nothing yet), so no record of the batch below fits.
    const filler = new Uint8Array(8).fill(9);
    let sent = 0;
    for (;;) {
      const controller = new AbortController();
      const sending = client.send(filler, { signal: controller.signal });
      const settled = await Promise.race([sending.then(() => true), new Promise<false>((resolve) => setImmediate(() => resolve(false)))]);
      if (!settled) {
        controller.abort();
        await expect(sending).rejects.toMatchObject({ code: "IPC_ERR_ABORTED" });
        break;
      }
      sent++;
    }
    const controller = new AbortController();
    const batch = client.sendBatch([bytes(1), bytes(2), bytes(3)], { signal: controller.signal });
    controller.abort();
    await expect(batch).rejects.toMatchObject({ code: "IPC_ERR_ABORTED" });
    const later = client.sendBatch([bytes(4)]).then(() => client.close()); // waits until the reader below makes room
    const received: Uint8Array[] = [];
    for (;;) {
      const got = await server.receiveBatch({ timeout: 30_000 });
      if (got === undefined) break;
      received.push(...got);
    }
    await later;
    expect(received.length).toBe(sent + 1);
    expect(sent).toBe(4096 / 16);
    expect(received.slice(0, sent).every((m) => m.byteLength === 8)).toBe(true);
    expect(received.at(-1)).toEqual(bytes(4));
  });

  it("a batch accepted by a full ring's first record is never split: the rest follows whatever its timeout", async () => {
    const { server, client } = await pair({ ringCapacity: 4096 });
    // 12 messages of 1000 bytes: the ring (4 KiB) takes 3, so the batch is accepted with 9 still to come.
    const batch = Array.from({ length: 12 }, (_, i) => patterned(1000, i));
    await client.sendBatch(batch, { timeout: 1 }); // accepted at once: the timeout no longer applies
    const after = client.send(bytes(99), { timeout: 30_000 }); // queued behind the rest of the batch
    const received = await receiveAll(server, 13);
    await after;
    expect(received).toEqual([...batch, bytes(99)]);
  });

  it("receiveBatch returns what is left after the peer's close, then undefined", async () => {
    const { server, client } = await pair();
    await client.sendBatch([bytes(1), bytes(2)]);
    await client.close();
    expect(await server.receiveBatch({ timeout: 30_000 })).toEqual([bytes(1), bytes(2)]);
    expect(await server.receiveBatch({ timeout: 30_000 })).toBeUndefined();
  });

  it("large messages, chunked ones and one longer than the ring cross processes intact, in a batch and one by one", async () => {
    const { server, child } = await childPeer("large");
    const sizes = [64 * 1024, 700 * 1024, 1, 0, 3 * 1024 * 1024, 64 * 1024];
    const received = await receiveAll(server, 2 * sizes.length);
    expect(received.map((m) => m.byteLength)).toEqual([...sizes, ...sizes]);
    // Compared as Buffers: the matcher's element-by-element comparison of megabytes takes seconds.
    for (const [i, message] of received.entries()) {
      expect(Buffer.from(message).equals(patterned(sizes[i % sizes.length]!, i % sizes.length)), `message ${i}`).toBe(true);
    }
    expect(await server.receive({ timeout: 30_000 })).toBeUndefined();
    expect((await once(child, "exit"))[0]).toBe(0);
  });

  it("wakes a reader that spun, then went to sleep, when the other process sends", async () => {
    const { server, child } = await childPeer("wake");
    for (let round = 0; round < 5; round++) {
      const receiving = server.receiveBatch({ timeout: 60_000 });
      // Once this turn of the event loop is over, the reader has spun and announced its sleep in the ring.
      await new Promise((resolve) => setImmediate(resolve));
      child.stdin!.write("go\n");
      const got = await receiving;
      const rest = got!.length === 1 ? await receiveAll(server, 1) : [];
      expect([...got!, ...rest]).toEqual([patterned(64, 2 * round), patterned(100, 2 * round + 1)]);
    }
    child.stdin!.end("end\n");
    expect(await server.receive({ timeout: 30_000 })).toBeUndefined();
  });
});

describe("shm:// zero-copy receive (receiveView)", () => {
  it("lends the message as a view of the ring, until release()", async () => {
    const { server, client } = await pair();
    await client.send(patterned(5000, 7));
    const view = (await server.receiveView({ timeout: 30_000 }))!;
    expect(view.bytes).toEqual(patterned(5000, 7));
    // A view of the mapping (two rings), not a copy of its own.
    expect(view.bytes.buffer.byteLength).toBeGreaterThan(2 * 1024 * 1024);
    expect(view.released).toBe(false);
    view.release();
    expect(view.released).toBe(true);
    await client.send(bytes(8));
    expect(await server.receive({ timeout: 30_000 })).toEqual(bytes(8));
  });

  it("misuse is a typed error: bytes after release, a second release, receiving while a view is held", async () => {
    const { server, client } = await pair();
    await client.sendBatch([bytes(1), bytes(2)]);
    const view = (await server.receiveView())!;
    const held = { name: "ViewHeldError", code: "IPC_ERR_VIEW_HELD" };
    await expect(server.receive()).rejects.toMatchObject(held);
    await expect(server.receiveBatch()).rejects.toMatchObject(held);
    await expect(server.receiveView()).rejects.toMatchObject(held);
    view.release();
    const released = { name: "ViewReleasedError", code: "IPC_ERR_VIEW_RELEASED" };
    expect(() => view.bytes).toThrow(expect.objectContaining(released));
    expect(() => view.release()).toThrow(expect.objectContaining(released));
    expect(await server.receive()).toEqual(bytes(2)); // nothing was lost to the misuse
  });

  it("a held view keeps its bytes (and the mapping) after the peer aborts, until released", async () => {
    const { server, client } = await pair();
    await client.send(patterned(100, 3));
    const view = (await server.receiveView())!;
    client.abort();
    await server.closed.catch(() => undefined);
    expect(view.bytes).toEqual(patterned(100, 3));
    view.release();
  });

  it("a message longer than the ring comes as a view of an assembled copy, with the same rules", async () => {
    const { server, client } = await pair({ ringCapacity: 4096 });
    const sending = client.send(patterned(20_000, 5));
    let view: ShmMessageView | undefined;
    view = await server.receiveView({ timeout: 30_000 });
    await sending;
    expect(view!.bytes).toEqual(patterned(20_000, 5));
    view!.release();
    expect(() => view!.release()).toThrow(expect.objectContaining({ name: "ViewReleasedError" }));
    await client.close();
    view = await server.receiveView({ timeout: 30_000 });
    expect(view).toBeUndefined();
  });
});
