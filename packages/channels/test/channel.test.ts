import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { memoryPair } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { decodeChannelMessage, encodeChannelMessage, messageChannel, type ChannelMessage } from "../src/index.js";

const message: fc.Arbitrary<ChannelMessage> = fc.oneof(
  fc.string().map((text) => ({ kind: "text" as const, text })),
  fc.uint8Array({ maxLength: 300 }).map((binary) => ({ kind: "binary" as const, binary })),
  fc.record({ kind: fc.constant("command" as const), cmd: fc.string(), args: fc.array(fc.string(), { maxLength: 5 }) }),
  fc.record({
    kind: fc.constant("data" as const),
    id: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    payload: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({ kind: fc.constant("ack" as const), id: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
);

/** Plain data for deep equality: byte arrays of any class as number arrays. */
const normalise = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
};

describe("channel envelope", () => {
  it("round-trips every kind of message", () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(normalise(decodeChannelMessage(encodeChannelMessage(m)))).toEqual(normalise(m));
      }),
    );
  });

  it("encodes exactly what protobuf says (text = field 1, length-delimited)", () => {
    expect([...encodeChannelMessage({ kind: "text", text: "hi" })]).toEqual([0x0a, 0x02, 0x68, 0x69]);
    expect([...encodeChannelMessage({ kind: "ack", id: 300n })]).toEqual([0x2a, 0x03, 0x08, 0xac, 0x02]);
  });

  it("rejects malformed messages with InvalidArgumentError", () => {
    expect(() => encodeChannelMessage({ kind: "ack", id: -1n })).toThrow(/bigint from 0 to 2\^64/);
    expect(() => encodeChannelMessage({ kind: "data", id: 2n ** 64n, payload: new Uint8Array() })).toThrow(/2\^64/);
    expect(() => encodeChannelMessage({ kind: "text", text: 5 } as unknown as ChannelMessage)).toThrow(/string `text`/);
    expect(() => encodeChannelMessage({ kind: "nope" } as unknown as ChannelMessage)).toThrow(/unknown message kind 'nope'/);
  });

  it("reports bytes that are not an envelope as ProtocolError", () => {
    expect(() => decodeChannelMessage(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(/not an ipc.IpcMessage/);
    expect(() => decodeChannelMessage(new Uint8Array(0))).toThrow(/no kind this channel knows/);
    // Field 32 (beyond every field of this version), varint 1: decodes, but no kind this version knows.
    expect(() => decodeChannelMessage(new Uint8Array([0x80, 0x02, 0x01]))).toThrow(/newer protocol version/);
    // Field 16, an @ipc/rpc request { id: 1 }: a valid envelope, but not a channel message.
    expect(() => decodeChannelMessage(new Uint8Array([0x82, 0x01, 0x02, 0x08, 0x01]))).toThrow(/@ipc\/rpc envelope \(rpcRequest\)/);
    expect(() => decodeChannelMessage(ipc.IpcMessage.encode({ rpcWindow: { id: 3, credit: 10 } }).finish())).toThrow(
      expect.objectContaining({ code: "IPC_ERR_PROTOCOL" }),
    );
  });

  it("refuses the envelopes of the reliable, mux and pub/sub layers with ProtocolError naming the layer", () => {
    const layered: [ipc.IIpcMessage, RegExp][] = [
      [{ hello: { version: 1 } }, /reliable\(\) envelope \(hello\)/],
      [{ welcome: { version: 1 } }, /reliable\(\) envelope \(welcome\)/],
      [{ sessionEnd: { last: 3 } }, /reliable\(\) envelope \(sessionEnd\)/],
      [{ goodbye: { reason: 1 } }, /envelope \(goodbye\)/],
      [{ mux: { data: { stream: 1 } } }, /mux\(\) envelope \(mux\)/],
      [{ subscribe: { topics: ["a"] } }, /publisher\(\) envelope \(subscribe\)/],
      [{ publish: { topic: "a" } }, /subscribe\(\) envelope \(publish\)/],
    ];
    for (const [message, pattern] of layered) {
      const bytes = ipc.IpcMessage.encode(message).finish();
      expect(() => decodeChannelMessage(bytes)).toThrow(pattern);
      expect(() => decodeChannelMessage(bytes)).toThrow(expect.objectContaining({ code: "IPC_ERR_PROTOCOL" }));
    }
  });

  it("never throws anything but ProtocolError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeChannelMessage(bytes);
        } catch (error) {
          expect((error as { code?: string }).code).toBe("IPC_ERR_PROTOCOL");
        }
      }),
    );
  });
});

describe("messageChannel", () => {
  it("sends and receives typed envelopes, one per connection message", async () => {
    const [a, b] = memoryPair();
    const left = messageChannel(a);
    const right = messageChannel(b);
    await left.send({ kind: "text", text: "hello" });
    await left.send({ kind: "command", cmd: "ls", args: ["-la"] });
    await left.send({ kind: "data", id: 1n, payload: new Uint8Array([1, 2]) });
    await left.close();
    const got: ChannelMessage[] = [];
    for await (const m of right) got.push(m);
    expect(got.map((m) => m.kind)).toEqual(["text", "command", "data"]);
    expect(got[1]).toEqual({ kind: "command", cmd: "ls", args: ["-la"] });
    expect(got[2]).toMatchObject({ kind: "data", id: 1n });
  });

  it("a peer that sends garbage gets its connection aborted; the receiver sees ProtocolError", async () => {
    const [a, b] = memoryPair();
    const right = messageChannel(b);
    await a.send(ipc.IpcMessage.encode({ text: "ok" }).finish());
    await a.send(new Uint8Array([0xff, 0xff]));
    expect(await right.receive()).toEqual({ kind: "text", text: "ok" });
    await expect(right.receive()).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
    await expect(b.closed).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
    await expect(a.closed).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET" });
  });

  it("sendBatch() sends many envelopes with one call; receiveBatch() and the iterator take them in order, receive() in between", async () => {
    const [a, b] = memoryPair();
    const left = messageChannel(a);
    const right = messageChannel(b);
    const texts = Array.from({ length: 50 }, (_, i) => ({ kind: "text" as const, text: `m${i}` }));
    await left.sendBatch(texts.slice(0, 20));
    await left.sendBatch(texts.slice(20));
    await expect(
      left.sendBatch([
        { kind: "text", text: "never" },
        { kind: "ack", id: -1n },
      ]),
    ).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    await left.close();
    const got: string[] = [];
    const first = await right.receiveBatch({ maxMessages: 5 });
    got.push(...first!.map((m) => (m.kind === "text" ? m.text : "?")));
    for await (const m of right) {
      got.push(m.kind === "text" ? m.text : "?");
      // receive() takes from what the iterator's batch holds, in order.
      if (got.length === 10) got.push(...[await right.receive()].map((r) => (r?.kind === "text" ? r.text : "?")));
    }
    expect(got).toEqual(texts.map((t) => t.text));
    expect(await right.receiveBatch()).toBeUndefined();
  });

  it("receiveBatch() returns the envelopes before one that does not decode, then rejects with ProtocolError", async () => {
    const [a, b] = memoryPair();
    const right = messageChannel(b);
    await a.sendBatch([ipc.IpcMessage.encode({ text: "ok" }).finish(), new Uint8Array([0xff, 0xff]), ipc.IpcMessage.encode({ text: "lost" }).finish()]);
    expect(await right.receiveBatch()).toEqual([{ kind: "text", text: "ok" }]);
    await expect(right.receiveBatch()).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
    await expect(b.closed).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
  });

  it("send() rejects an invalid message without touching the connection", async () => {
    const [a, b] = memoryPair();
    const left = messageChannel(a);
    await expect(left.send({ kind: "ack", id: -5n })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    await left.send({ kind: "ack", id: 5n });
    expect(await messageChannel(b).receive()).toEqual({ kind: "ack", id: 5n });
  });
});

describe("docs/wire.md examples", () => {
  const hex = (bytes: Uint8Array): string =>
    Buffer.from(bytes)
      .toString("hex")
      .replace(/(..)(?!$)/g, "$1 ");
  it.each<[ChannelMessage, string]>([
    [{ kind: "text", text: "hi" }, "0a 02 68 69"],
    [{ kind: "text", text: "" }, "0a 00"],
    [{ kind: "command", cmd: "ls", args: ["-la"] }, "1a 09 0a 02 6c 73 12 03 2d 6c 61"],
    [{ kind: "ack", id: 300n }, "2a 03 08 ac 02"],
  ])("%o encodes as documented", (message, bytes) => {
    expect(hex(encodeChannelMessage(message))).toBe(bytes);
  });
});
