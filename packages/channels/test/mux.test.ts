import { afterEach, describe, expect, it } from "vitest";
import { memoryPair } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { checkPatterned, patterned } from "@ipc/testing";
import { mux, type Mux } from "../src/index.js";
import { checksum } from "./fixtures/messages.js";

const SLOW = { timeout: 120_000 };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function pair(options?: Parameters<typeof mux>[1], connection?: Parameters<typeof memoryPair>[0]): [Mux, Mux] {
  const [a, b] = memoryPair(connection);
  const left = mux(a, options);
  const right = mux(b, options);
  cleanups.push(() => (left.abort(), right.abort()));
  return [left, right];
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

describe("mux", () => {
  it("opens streams by name from either side, each a full connection, and closes them", async () => {
    const [left, right] = pair();
    const opening = left.open("events", { timeout: 5000 });
    const accepted = (await right.accept({ timeout: 5000 }))!;
    const events = await opening;
    expect([events.name, events.id, events.opened]).toEqual(["events", 1, true]);
    expect([accepted.name, accepted.id, accepted.opened]).toEqual(["events", 1, false]);
    // The other direction: ids are per side, so both sides have a stream #1.
    const back = right.open("rpc");
    const rpc = (await left.accept({ timeout: 5000 }))!;
    const rpcBack = await back;
    expect([rpc.name, rpc.id, rpcBack.id]).toEqual(["rpc", 1, 1]);

    await events.send(text("e1"));
    await rpcBack.send(text("r1"));
    await accepted.send(text("e-reply"));
    expect(str(await accepted.receive({ timeout: 5000 }))).toBe("e1");
    expect(str(await rpc.receive({ timeout: 5000 }))).toBe("r1");
    expect(str(await events.receive({ timeout: 5000 }))).toBe("e-reply");

    await events.close({ timeout: 5000 });
    expect(await accepted.receive({ timeout: 5000 })).toBeUndefined();
    await expect(accepted.closed).resolves.toBeUndefined();
    expect(left.stats.streams).toBe(1);
    await left.close({ timeout: 5000 });
    await expect(right.closed).resolves.toBeUndefined();
    expect(await rpcBack.receive({ timeout: 5000 })).toBeUndefined();
  });

  it("streams 100 MB on one stream while another is stalled: no head-of-line blocking, bounded buffers", SLOW, async () => {
    const window = 64 * 1024;
    const [left, right] = pair({ window });
    const bulkOpen = left.open("bulk");
    const bulkIn = (await right.accept({ timeout: 5000 }))!;
    const bulk = await bulkOpen;
    const stalledOpen = left.open("stalled");
    const stalledIn = (await right.accept({ timeout: 5000 }))!;
    const stalled = await stalledOpen;

    // Fill the stalled stream until its sender must wait: it stops at the window. The sends within the window
    // must be accepted (a generous limit, however busy the machine); the next one must wait until its short
    // timeout fires.
    // Each message costs its bytes plus 64 (docs/wire.md §8.3).
    const stalledSent = Math.ceil(window / (1000 + 64));
    for (let seq = 0; seq < stalledSent; seq++) await stalled.send(patterned(seq, 1000), { timeout: 30_000 });
    await expect(stalled.send(patterned(stalledSent, 1000), { timeout: 50 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    expect(stalledIn.bufferedBytes).toBeLessThanOrEqual(window + 1000 + 64);

    const total = 100 * 1024 * 1024;
    const size = 64 * 1024;
    const sent = checksum();
    const received = checksum();
    let maxBuffered = 0;
    const reading = (async () => {
      let bytes = 0;
      let seq = 0;
      for await (const message of bulkIn) {
        if (checkPatterned(message) !== seq++) throw new Error(`bulk message ${seq - 1} is wrong`);
        received.add(message);
        maxBuffered = Math.max(maxBuffered, right.stats.bufferedBytes);
        bytes += message.byteLength;
        if (bytes === total) return bytes;
      }
      return bytes;
    })();
    for (let seq = 0; seq * size < total; seq++) {
      const message = patterned(seq, size);
      sent.add(message);
      await bulk.send(message);
    }
    expect(await reading).toBe(total);
    expect(received.hex()).toBe(sent.hex());
    // Throughout, the receiving side held at most one window (+ one message) per stream.
    expect(maxBuffered).toBeLessThanOrEqual(2 * window + 1000 + size);
    expect(stalledIn.bufferedBytes).toBeLessThanOrEqual(window + 1000 + 64);

    // The stalled stream lost nothing: read it now, and its sender goes on.
    for (let seq = 0; seq < stalledSent; seq++) expect(checkPatterned((await stalledIn.receive({ timeout: 5000 }))!)).toBe(seq);
    await stalled.send(patterned(stalledSent, 10), { timeout: 5000 });
    expect(checkPatterned((await stalledIn.receive({ timeout: 5000 }))!)).toBe(stalledSent);
  });

  it("refuses streams over maxStreams and over the accept backlog with StreamRefusedError", async () => {
    const [left, right] = pair({ maxStreams: 3, backlog: 2 });
    await left.open("a");
    await left.open("b");
    // The peer accepted neither yet: its backlog of 2 is full.
    await expect(left.open("c")).rejects.toMatchObject({ code: "IPC_ERR_STREAM_REFUSED", message: /backlog \(2\) full/ });
    await right.accept({ timeout: 5000 });
    await left.open("d");
    // Three streams are open now: this side will not open a fourth.
    await expect(left.open("e")).rejects.toMatchObject({ code: "IPC_ERR_STREAM_REFUSED", message: /maxStreams/ });
    expect(right.stats.refused).toBe(1);
  });

  it("a stream aborted by one side fails on the other with ConnectionResetError; the others go on", async () => {
    const [left, right] = pair();
    const one = await Promise.all([left.open("one"), right.accept()]);
    const two = await Promise.all([left.open("two"), right.accept()]);
    one[0].abort(new Error("no longer needed"));
    await expect(one[1]!.receive({ timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET", message: /no longer needed/ });
    await two[0].send(text("still here"));
    expect(str(await two[1]!.receive({ timeout: 5000 }))).toBe("still here");
  });

  it("fails every stream when the connection breaks", async () => {
    const [a, b] = memoryPair();
    const left = mux(a);
    const right = mux(b);
    const [stream, other] = await Promise.all([left.open("x"), right.accept()]);
    a.abort();
    await expect(stream.receive({ timeout: 5000 })).rejects.toMatchObject({ name: "AbortError" });
    await expect(other!.receive({ timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET" });
    await expect(right.closed).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET" });
  });
});

describe("mux: bad input", () => {
  it("fails the mux with ProtocolError on bytes that are not mux frames, and bounds what it keeps", async () => {
    const [raw, b] = memoryPair();
    cleanups.push(() => raw.abort());
    const right = mux(b);
    await raw.send(new Uint8Array([0x0a, 0x02, 0x68, 0x69])); // a text envelope: not a mux frame
    await expect(right.closed).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL", message: /only mux frames/ });
    expect(await raw.receive({ timeout: 5000 }).catch((e: { code?: string }) => e.code)).toBe("IPC_ERR_CONNECTION_RESET");
  });

  it("fails the mux with ProtocolError when the peer sends beyond a stream's window", async () => {
    const [raw, b] = memoryPair();
    cleanups.push(() => raw.abort());
    const right = mux(b, { window: 1000 });
    await raw.send(ipc.IpcMessage.encode({ mux: { open: { stream: 1, name: "flood", window: 1000 } } }).finish());
    const stream = (await right.accept({ timeout: 5000 }))!;
    const data = ipc.IpcMessage.encode({ mux: { data: { stream: 1, payload: new Uint8Array(600) } } }).finish();
    // (600 + 64) + (600 + 64) overshoots the window by one message, which a sender may; the third has no credit.
    for (let i = 0; i < 3; i++) await raw.send(data).catch(() => undefined);
    await expect(right.closed).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL", message: /without credit, over its window of 1000 bytes/ });
    expect(stream.bufferedBytes).toBe(2 * (600 + 64));
    // The messages that arrived within the window are still delivered before the error.
    expect((await stream.receive({ timeout: 5000 }))?.byteLength).toBe(600);
    expect((await stream.receive({ timeout: 5000 }))?.byteLength).toBe(600);
    await expect(stream.receive({ timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
  });
});
