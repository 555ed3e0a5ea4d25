import type { Connection, Listener } from "@ipc/core";
import { afterEach, describe, expect, it } from "vitest";
import { connect, listen } from "../src/index.js";

// A receive that finds nothing sleeps on the doorbell itself (the bell's socket read hands it its message,
// docs/wire.md §5.6). With both ends in this process the connection never spins, so every receive below that
// finds the ring empty sleeps that way; what it must keep: call order, and every way a connection ends.

let serial = 0;
const open: (Connection | Listener)[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) {
    if ("abort" in thing) thing.abort();
    else await thing.close();
  }
});

async function pair(): Promise<{ server: Connection; client: Connection }> {
  const address = `shm://wait-${process.pid}-${++serial}`;
  const listener = await listen(address);
  open.push(listener);
  const accepted = listener[Symbol.asyncIterator]().next();
  const client = await connect(address, { timeout: 30_000 });
  const server = (await accepted).value as Connection;
  open.push(client, server);
  return { server, client };
}

const bytes = (n: number): Uint8Array => new Uint8Array([n, n, n]);

describe("shm:// receives that wait for the doorbell", () => {
  it("receive(), receive() and receiveBatch() called before anything arrived are served in call order", async () => {
    const { server, client } = await pair();
    const first = client.receive();
    const second = client.receive();
    const rest = client.receiveBatch();
    await Promise.all([1, 2, 3, 4].map((n) => server.send(bytes(n))));
    expect(await first).toEqual(bytes(1));
    expect(await second).toEqual(bytes(2));
    expect(await rest).toEqual([bytes(3), bytes(4)]);
  });

  it("a waiting receive() takes a message longer than the ring (chunks) whole", async () => {
    const { server, client } = await pair();
    const waiting = client.receive();
    const large = new Uint8Array(3 << 20).map((_, i) => i % 251);
    await server.send(large);
    const received = (await waiting)!;
    expect(received.byteLength).toBe(large.byteLength);
    expect(Buffer.compare(received, large)).toBe(0); // (toEqual walks 3 MiB element by element: seconds)
  });

  it("a waiting receive() returns undefined when the peer closes", async () => {
    const { server, client } = await pair();
    const waiting = client.receive();
    await server.close();
    expect(await waiting).toBeUndefined();
  });

  it("a waiting receive() fails with ConnectionResetError when the peer aborts", async () => {
    const { server, client } = await pair();
    const waiting = client.receive();
    server.abort();
    await expect(waiting).rejects.toMatchObject({ name: "ConnectionResetError" });
  });

  it("a waiting receive() fails when this side aborts, and the connection's closed rejects with the same error", async () => {
    const { client } = await pair();
    const waiting = client.receive();
    const reason = new Error("enough");
    client.abort(reason);
    const error = await waiting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    await expect(client.closed).rejects.toBe(error);
  });
});
