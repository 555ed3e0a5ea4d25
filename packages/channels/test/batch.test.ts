import { describe, expect, it } from "vitest";
import { memoryPair } from "@ipc/core";
import { Batcher, forEachInBatch, sendAll } from "../src/batch.js";
import { ipc } from "@ipc/core/proto";

const envelope = (text: string) => ipc.IpcMessage.encode({ text }).finish();

/** A Batcher whose output is recorded: every message in `sent`, and the number of calls in `calls`. */
function collect(maxMessageSize = 1 << 20): { batcher: Batcher; sent: Uint8Array[]; calls: number[] } {
  const sent: Uint8Array[] = [];
  const calls: number[] = [];
  const batcher = new Batcher((messages) => {
    calls.push(messages.length);
    for (const bytes of messages) sent.push(bytes.slice());
  }, maxMessageSize);
  return { batcher, sent, calls };
}

function unpack(frame: Uint8Array): string[] {
  const texts: string[] = [];
  const text = (bytes: Uint8Array) => ipc.IpcMessage.decode(bytes).text ?? "";
  if (!forEachInBatch(frame, (bytes, start, end) => texts.push(text(bytes.subarray(start, end))))) texts.push(text(frame));
  return texts;
}

describe("batches", () => {
  it("packs the envelopes of one burst into one Batch frame that the generated code decodes too", async () => {
    const { batcher, sent } = collect();
    for (let i = 0; i < 100; i++) batcher.add(envelope(`m${i}`));
    expect(sent).toHaveLength(0);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(sent).toHaveLength(1);
    expect(unpack(sent[0]!)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    const decoded = ipc.IpcMessage.decode(sent[0]!);
    expect(decoded.kind).toBe("batch");
    expect(decoded.batch!.messages).toHaveLength(100);
  });

  it("sends a lone envelope as itself, and a large one alone, in order with the rest", async () => {
    const { batcher, sent } = collect();
    batcher.add(envelope("alone"));
    await new Promise((resolve) => process.nextTick(resolve));
    expect(ipc.IpcMessage.decode(sent[0]!).text).toBe("alone");
    batcher.add(envelope("a"));
    batcher.add(envelope("b"));
    batcher.add(envelope("x".repeat(20_000)));
    batcher.add(envelope("c"));
    await new Promise((resolve) => process.nextTick(resolve));
    expect(
      sent
        .slice(1)
        .flatMap(unpack)
        .map((t) => t.slice(0, 3)),
    ).toEqual(["a", "b", "xxx", "c"]);
  });

  it("keeps every batch within the connection's maxMessageSize, and hands the burst's batches out in one call", async () => {
    const { batcher, sent, calls } = collect(1000);
    for (let i = 0; i < 200; i++) batcher.add(envelope(`message ${i}`));
    await new Promise((resolve) => process.nextTick(resolve));
    expect(sent.length).toBeGreaterThan(1);
    expect(calls).toEqual([sent.length]);
    for (const frame of sent) expect(frame.byteLength).toBeLessThanOrEqual(1000);
    expect(sent.flatMap(unpack)).toEqual(Array.from({ length: 200 }, (_, i) => `message ${i}`));
  });

  it("rejects a Batch inside a Batch and a Batch whose elements do not add up with ProtocolError", () => {
    const inner = ipc.IpcMessage.encode({ batch: { messages: [envelope("a")] } }).finish();
    const nested = ipc.IpcMessage.encode({ batch: { messages: [inner] } }).finish();
    expect(() => forEachInBatch(nested, () => undefined)).toThrow(expect.objectContaining({ code: "IPC_ERR_PROTOCOL" }));
    const cut = ipc.IpcMessage.encode({ batch: { messages: [envelope("abc")] } })
      .finish()
      .subarray(0, 5);
    expect(() => forEachInBatch(cut, () => undefined)).toThrow(expect.objectContaining({ code: "IPC_ERR_PROTOCOL" }));
  });

  it("sendAll sends one message with send() and more with sendBatch(), split only where the batch bound requires, in order", async () => {
    const [a, b] = memoryPair({ maxMessageSize: 1000 });
    try {
      const messages = Array.from({ length: 40 }, (_, i) => new Uint8Array(100).fill(i));
      const sent: Promise<void>[] = [];
      sendAll(a, messages, (promise) => sent.push(promise));
      // Each message costs 100 + 128 bytes against the bound of 1000 + 128: four per batch.
      expect(sent).toHaveLength(10);
      sendAll(a, [new Uint8Array([99])], (promise) => sent.push(promise));
      await Promise.all(sent);
      const received: Uint8Array[] = [];
      while (received.length < 41) received.push(...((await b.receiveBatch()) ?? []));
      expect(received.map((m) => m[0])).toEqual([...Array.from({ length: 40 }, (_, i) => i), 99]);
    } finally {
      a.abort();
      b.abort();
    }
  });
});
