import { describe, expect, it } from "vitest";
import { memoryPair, memoryTransport } from "../src/index.js";

describe("memory transport specifics", () => {
  it("delivers a copy: changing the array after send() does not change what arrives", async () => {
    const [a, b] = memoryPair();
    const message = new Uint8Array([1, 2, 3]);
    await a.send(message);
    message[0] = 99;
    expect(await b.receive()).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("reports this process as the peer", () => {
    const [a] = memoryPair();
    expect(a.peer).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  });

  it("accepts sends while the receiver is under its high-water mark, then waits in order", async () => {
    // Each message is charged its bytes plus MESSAGE_OVERHEAD (128): the second brings the inbox to 268.
    const [a, b] = memoryPair({ highWaterMark: 260 });
    await a.send(new Uint8Array(6));
    await a.send(new Uint8Array(6)); // 134 < 260: accepted; now 268 buffered
    const order: number[] = [];
    const third = a.send(new Uint8Array([3])).then(() => order.push(3));
    const fourth = a.send(new Uint8Array([4])).then(() => order.push(4));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    await b.receive();
    await b.receive(); // drained: both waiting sends go in, in order
    await Promise.all([third, fourth]);
    expect(order).toEqual([3, 4]);
    expect((await b.receive())?.[0]).toBe(3);
    expect((await b.receive())?.[0]).toBe(4);
  });

  it("close() waits for sends still waiting for room, then delivers them before the end", async () => {
    const [a, b] = memoryPair({ highWaterMark: 4 });
    await a.send(new Uint8Array(4));
    const waiting = a.send(new Uint8Array([7]));
    const closing = a.close();
    await expect(a.send(new Uint8Array(1))).rejects.toMatchObject({ code: "IPC_ERR_CLOSED" });
    const received: number[] = [];
    for await (const m of b) received.push(m.byteLength);
    await waiting;
    await closing;
    expect(received).toEqual([4, 1]);
  });

  it("close({ timeout }) aborts a connection whose peer never reads, and closed says why", async () => {
    const [a] = memoryPair({ highWaterMark: 4 });
    await a.send(new Uint8Array(4));
    const stuck = a.send(new Uint8Array(4));
    await a.close({ timeout: 10 });
    await expect(a.closed).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    await expect(stuck).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
  });

  it("a listener's address is in use until it closes", async () => {
    const listener = await memoryTransport.listen("memory://specifics");
    await expect(memoryTransport.listen("memory://specifics")).rejects.toMatchObject({ code: "IPC_ERR_ADDRESS_IN_USE" });
    await listener.close();
    const again = await memoryTransport.listen("memory://specifics");
    await again.close();
  });

  it("closing a listener aborts the connections it never handed out", async () => {
    const listener = await memoryTransport.listen("memory://unaccepted");
    const client = await memoryTransport.connect("memory://unaccepted");
    await listener.close();
    await expect(client.receive()).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET" });
  });

  it("rejects bad options with InvalidArgumentError", () => {
    expect(() => memoryPair({ maxMessageSize: -1 })).toThrow(/maxMessageSize must be an integer from 0 to 4294967294/);
    expect(() => memoryPair({ highWaterMark: 0 })).toThrow(/highWaterMark/);
    expect(() => memoryPair({ maxMessageSize: 2 ** 32 })).toThrow(/maxMessageSize/);
    // 0xFFFFFFFF announces an end reason on a stream (docs/wire.md §2.4), so it is no message size.
    expect(() => memoryPair({ maxMessageSize: 2 ** 32 - 1 })).toThrow(/maxMessageSize/);
    expect(() => memoryPair({ maxMessageSize: 2 ** 32 - 2 })).not.toThrow();
  });

  it("send() rejects a non-Uint8Array", async () => {
    const [a] = memoryPair();
    await expect(a.send("text" as unknown as Uint8Array)).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
  });
});

describe("memory transport: the batch path", () => {
  it("delivers a batch whole and in order after earlier sends, as copies", async () => {
    const [a, b] = memoryPair();
    const batch = [new Uint8Array([2]), new Uint8Array(0), new Uint8Array([3, 3])];
    await a.send(new Uint8Array([1]));
    await a.sendBatch(batch);
    batch[0]![0] = 99;
    expect(await b.receiveBatch()).toEqual([new Uint8Array([1]), new Uint8Array([2]), new Uint8Array(0), new Uint8Array([3, 3])]);
  });

  it("withdraws a waiting batch whole when its wait times out, and accepts later ones in order", async () => {
    const [a, b] = memoryPair({ highWaterMark: 200 });
    await a.send(new Uint8Array([1])); // 129 charged: under 200, so one more goes in
    await a.send(new Uint8Array([2])); // now full
    await expect(a.sendBatch([new Uint8Array([8]), new Uint8Array([9])], { timeout: 1 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    const later = a.sendBatch([new Uint8Array([3]), new Uint8Array([4])]);
    const got: number[] = [];
    while (got.length < 4) for (const m of (await b.receiveBatch())!) got.push(m[0]!);
    await later;
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it("refuses a batch whose cost is over maxMessageSize + 128, and a bad element, before sending any of it", async () => {
    const [a, b] = memoryPair({ maxMessageSize: 1000 });
    await expect(a.sendBatch([new Uint8Array(1000)])).resolves.toBeUndefined();
    const tooMuch = [new Uint8Array(500), new Uint8Array(500)]; // 500+128 + 500+128 > 1128
    await expect(a.sendBatch(tooMuch)).rejects.toMatchObject({ code: "IPC_ERR_MESSAGE_TOO_LARGE" });
    await expect(a.sendBatch([new Uint8Array(1), "x" as unknown as Uint8Array])).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    await expect(a.sendBatch([])).resolves.toBeUndefined();
    await a.close();
    expect((await b.receiveBatch())?.map((m) => m.byteLength)).toEqual([1000]);
    expect(await b.receiveBatch()).toBeUndefined();
  });
});
