import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Connection, Listener } from "@ipc/core";
import { afterEach, describe, expect, it } from "vitest";
import { type ShmBatchView, type ShmConnection, connect, listen } from "../src/index.js";

// The zero-copy receive of a batch, ShmConnection.receiveViews() (packages/shm/README.md, "Batches and
// zero-copy receive"): all that has arrived lent as one view of the ring, with each message's offset and length.

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
  expect(readdirSync("/dev/shm").filter((name) => name.includes(`views-${process.pid}-`))).toEqual([]);
});

const nextAddress = (): string => `shm://views-${process.pid}-${++serial}`;

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

const patterned = (size: number, seed: number): Uint8Array => {
  const message = new Uint8Array(size);
  for (let i = 0; i < size; i++) message[i] = (seed * 31 + i * 7) & 0xff;
  return message;
};

/** Every message of a lent batch, copied (through `bytes`/`offsets`/`lengths`, checked against `at()`). */
function copies(batch: ShmBatchView): Uint8Array[] {
  const { bytes, offsets, lengths } = batch;
  const out: Uint8Array[] = [];
  for (let i = 0; i < batch.count; i++) {
    const message = bytes.slice(offsets[i]!, offsets[i]! + lengths[i]!);
    expect(same(batch.at(i), message)).toBe(true);
    out.push(message);
  }
  return out;
}

/** Byte equality fast enough for messages of megabytes (toEqual walks them element by element). */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

/** A few turns of the event loop: what would happen without a new event has happened by then. */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("shm:// zero-copy batch receive (receiveViews)", () => {
  it("lends all that has arrived as one view of the ring, with each message's offset and length", async () => {
    const { server, client } = await pair();
    const sent = [patterned(64, 1), patterned(0, 2), patterned(1, 3), patterned(5000, 4)];
    await client.sendBatch(sent);
    const batch = (await server.receiveViews({ timeout: 30_000 }))!;
    expect(batch.count).toBe(4);
    expect(copies(batch)).toEqual(sent);
    // A view of the mapping (two rings), not a copy of its own.
    expect(batch.bytes.buffer.byteLength).toBeGreaterThan(2 * 1024 * 1024);
    expect([...batch.offsets].every((offset) => offset % 8 === 0)).toBe(true);
    expect(batch.released).toBe(false);
    batch.release();
    expect(batch.released).toBe(true);
    await client.send(patterned(3, 5));
    expect(await server.receive({ timeout: 30_000 })).toEqual(patterned(3, 5));
  });

  it("misuse is a typed error: reading after release, a second release, receiving while a batch is held, an index outside", async () => {
    const { server, client } = await pair();
    await client.sendBatch([patterned(1, 1), patterned(2, 2)]);
    const batch = (await server.receiveViews({ maxMessages: 1 }))!;
    expect(batch.count).toBe(1);
    expect(() => batch.at(1)).toThrow(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    expect(() => batch.at(-1)).toThrow(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    const held = { name: "ViewHeldError", code: "IPC_ERR_VIEW_HELD" };
    await expect(server.receive()).rejects.toMatchObject(held);
    await expect(server.receiveBatch()).rejects.toMatchObject(held);
    await expect(server.receiveView()).rejects.toMatchObject(held);
    await expect(server.receiveViews()).rejects.toMatchObject(held);
    batch.release();
    const released = { name: "ViewReleasedError", code: "IPC_ERR_VIEW_RELEASED" };
    expect(() => batch.bytes).toThrow(expect.objectContaining(released));
    expect(() => batch.offsets).toThrow(expect.objectContaining(released));
    expect(() => batch.lengths).toThrow(expect.objectContaining(released));
    expect(() => batch.at(0)).toThrow(expect.objectContaining(released));
    expect(() => batch.release()).toThrow(expect.objectContaining(released));
    expect(batch.count).toBe(1);
    expect(await server.receive()).toEqual(patterned(2, 2)); // nothing was lost to the misuse
  });

  it("a receiveView() or receiveViews() while one waits rejects with ViewHeldError; the waiting one gets the messages", async () => {
    const { server, client } = await pair();
    const waiting = server.receiveViews({ timeout: 30_000 });
    const held = { name: "ViewHeldError", code: "IPC_ERR_VIEW_HELD" };
    await expect(server.receiveViews()).rejects.toMatchObject(held);
    await expect(server.receiveView()).rejects.toMatchObject(held);
    await client.send(patterned(9, 9));
    const batch = (await waiting)!;
    expect(copies(batch)).toEqual([patterned(9, 9)]);
    batch.release();
  });

  it("keeps to maxMessages and maxBytes (the first message whatever its size)", async () => {
    const { server, client } = await pair();
    const sent = Array.from({ length: 10 }, (_, i) => patterned(100, i));
    await client.sendBatch(sent);
    const got: Uint8Array[] = [];
    let batch = (await server.receiveViews({ maxMessages: 3 }))!;
    expect(batch.count).toBe(3);
    got.push(...copies(batch));
    batch.release();
    batch = (await server.receiveViews({ maxBytes: 250 }))!;
    expect(batch.count).toBe(2);
    got.push(...copies(batch));
    batch.release();
    batch = (await server.receiveViews({ maxBytes: 1 }))!;
    expect(batch.count).toBe(1);
    got.push(...copies(batch));
    batch.release();
    batch = (await server.receiveViews())!;
    got.push(...copies(batch));
    batch.release();
    expect(got).toEqual(sent);
  });

  it("gives the ring's space back only on release(): a sender waiting for room goes on after it", async () => {
    const { server, client } = await pair({ ringCapacity: 4096 });
    // 20 records of 200 B fill the 4096-byte ring: the next send waits for room.
    const first = Array.from({ length: 20 }, (_, i) => patterned(192, i));
    await client.sendBatch(first);
    const batch = (await server.receiveViews({ timeout: 30_000 }))!;
    const order: string[] = [];
    const sending = client.send(patterned(1000, 99)).then(() => order.push("sent"));
    await turns();
    expect(order).toEqual([]);
    const got = copies(batch);
    order.push("released");
    batch.release();
    await sending;
    expect(order).toEqual(["released", "sent"]);
    for (;;) {
      const next = (await server.receiveViews({ timeout: 30_000 }))!;
      got.push(...copies(next));
      next.release();
      if (got.length === 21) break;
    }
    expect(got).toEqual([...first, patterned(1000, 99)]);
  });

  it("a batch ends where the ring's data wraps; the rest comes in the next one", async () => {
    const { server, client } = await pair({ ringCapacity: 4096 });
    const all: Uint8Array[] = [];
    let got: Uint8Array[] = [];
    // 3 rounds of 15 records of 208 B (3120 bytes): the second round's records run past the end of the data.
    for (let round = 0; round < 3; round++) {
      const sent = Array.from({ length: 15 }, (_, i) => patterned(200, round * 15 + i));
      all.push(...sent);
      await client.sendBatch(sent);
      const counts: number[] = [];
      while (got.length < all.length) {
        const batch = (await server.receiveViews({ timeout: 30_000 }))!;
        counts.push(batch.count);
        expect(batch.bytes.byteOffset + batch.bytes.byteLength).toBeLessThanOrEqual(batch.bytes.buffer.byteLength);
        got = [...got, ...copies(batch)];
        batch.release();
      }
      if (round === 1) expect(counts.length).toBeGreaterThan(1); // split at the wrap
    }
    expect(got).toEqual(all);
  });

  it("a message longer than the ring, from another process, comes alone as a view of an assembled copy; then the end", async () => {
    const address = nextAddress();
    const listener = await listen(address, { maxMessageSize: 8 << 20 });
    open.push(listener);
    const accepted = listener[Symbol.asyncIterator]().next();
    const child = spawn(process.execPath, [peerScript, address, "large"], { stdio: ["pipe", "pipe", "inherit"] });
    children.add(child);
    const exited = once(child, "exit") as Promise<[number | null]>;
    const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
    expect(line).toBe("connected");
    const server = (await accepted).value as ShmConnection;
    open.push(server);
    // batch-peer.mjs "large": these sizes as one batch, then again one send() each, then close().
    const sizes = [64 * 1024, 700 * 1024, 1, 0, 3 * 1024 * 1024, 64 * 1024];
    const expected = [...sizes, ...sizes].map((size, i) => patterned(size, i % sizes.length));
    const got: Uint8Array[] = [];
    for (;;) {
      const batch = await server.receiveViews({ timeout: 30_000 });
      if (batch === undefined) break;
      for (let i = 0; i < batch.count; i++) {
        if (batch.lengths[i]! > 1024 * 1024) expect(batch.count).toBe(1); // longer than the ring: alone
      }
      got.push(...copies(batch));
      batch.release();
    }
    expect(got.map((message) => message.length)).toEqual(expected.map((message) => message.length));
    expect(got.every((message, i) => same(message, expected[i]!))).toBe(true);
    const [code] = await exited;
    expect(code).toBe(0);
    await expect(server.receiveViews()).resolves.toBeUndefined();
  });

  it("a batch held when the peer aborts keeps its bytes (and the mapping) until released; then the failure", async () => {
    const { server, client } = await pair();
    await client.sendBatch([patterned(10, 1), patterned(20, 2)]);
    const batch = (await server.receiveViews({ timeout: 30_000 }))!;
    client.abort();
    await server.closed.catch(() => undefined);
    expect(copies(batch)).toEqual([patterned(10, 1), patterned(20, 2)]);
    batch.release();
    await expect(server.receiveViews()).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET" });
  });
});
