import type { Connection, Listener } from "@ipc/core";
import { afterEach, describe, expect, it } from "vitest";
import { connect, listen } from "../src/index.js";

// How an shm:// connection ended looks as on the stream transports (docs/wire.md §2.4, §5.6): a clean
// close ends receive() after every message; an abort() is a ConnectionResetError saying the peer aborted,
// after the messages already sent; a message over the receiver's maxMessageSize fails the receiver with
// FrameTooLargeError and tells the sender the size and the limit.

let serial = 0;
const open: (Connection | Listener)[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) {
    if ("abort" in thing) thing.abort();
    else await thing.close();
  }
});

async function pair(options?: { maxMessageSize?: number; ringCapacity?: number }): Promise<{ server: Connection; client: Connection }> {
  const address = `shm://ends-${process.pid}-${++serial}`;
  const listener = await listen(address, options);
  open.push(listener);
  const accepted = listener[Symbol.asyncIterator]().next();
  const client = await connect(address, { timeout: 30_000 });
  const server = (await accepted).value as Connection;
  open.push(client, server);
  return { server, client };
}

const settled = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => "resolved",
    (error: unknown) => error,
  );

describe("how an shm:// connection ended", () => {
  it("the peer's clean close: receive() returns every message, then undefined; closed resolves", async () => {
    const { server, client } = await pair();
    for (let i = 0; i < 3; i++) await server.send(new Uint8Array([i]));
    await server.close();
    for (let i = 0; i < 3; i++) expect(await client.receive({ timeout: 30_000 })).toEqual(new Uint8Array([i]));
    expect(await client.receive({ timeout: 30_000 })).toBeUndefined();
    await client.close();
    expect(await settled(client.closed)).toBe("resolved");
  });

  it("the peer's abort(): the messages it sent first, then ConnectionResetError saying the peer aborted, from receive() and closed", async () => {
    const { server, client } = await pair();
    for (let i = 0; i < 3; i++) await server.send(new Uint8Array([i]));
    server.abort();
    const closed = await settled(client.closed); // the abort has arrived: the three messages are still readable
    expect(closed).toMatchObject({
      name: "ConnectionResetError",
      code: "IPC_ERR_CONNECTION_RESET",
      message: expect.stringMatching(/the peer aborted the connection/),
    });
    for (let i = 0; i < 3; i++) expect(await client.receive({ timeout: 30_000 })).toEqual(new Uint8Array([i]));
    await expect(client.receive({ timeout: 30_000 })).rejects.toBe(closed);
    await expect(client.send(new Uint8Array(1))).rejects.toBe(closed);
  });

  it("a message over the receiver's maxMessageSize: FrameTooLargeError there, and the sender is told the size and the limit", async () => {
    const { server, client } = await pair({ maxMessageSize: 1000 });
    await client.send(new Uint8Array([1]));
    await client.send(new Uint8Array(1500));
    expect(await server.receive({ timeout: 30_000 })).toEqual(new Uint8Array([1]));
    await expect(server.receive({ timeout: 30_000 })).rejects.toMatchObject({ name: "FrameTooLargeError", size: 1500, limit: 1000 });
    const told = await settled(client.closed);
    expect(told).toMatchObject({
      code: "IPC_ERR_CONNECTION_RESET",
      message: expect.stringMatching(/refused a message of 1500 bytes, over its maxMessageSize of 1000 bytes/),
      cause: { code: "IPC_ERR_FRAME_TOO_LARGE", size: 1500, limit: 1000 },
    });
    await expect(client.receive({ timeout: 30_000 })).rejects.toBe(told);
  });

  it("a chunked message (longer than a ring record) over the receiver's maxMessageSize is refused the same way", async () => {
    const { server, client } = await pair({ maxMessageSize: 10_000, ringCapacity: 4096 });
    const sending = settled(client.send(new Uint8Array(50_000)));
    await expect(server.receive({ timeout: 30_000 })).rejects.toMatchObject({ name: "FrameTooLargeError", limit: 10_000 });
    const told = await settled(client.closed);
    expect(told).toMatchObject({ code: "IPC_ERR_CONNECTION_RESET", message: expect.stringMatching(/over its maxMessageSize of 10000 bytes/) });
    expect(await sending).toBe(told); // the send waiting for room learns why
  });
});
