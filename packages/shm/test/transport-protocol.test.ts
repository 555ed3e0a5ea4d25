import * as unix from "@ipc/unix";
import { afterEach, describe, expect, it } from "vitest";
import { MessageRing, SegmentKind, SharedMemory, connect, listen, ringSize } from "../src/index.js";
import { cleanUp, uniqueName } from "./helpers.js";

// shm:// against a server that breaks the ring protocol (docs/wire.md §5.5, §5.6): the test plays the
// server by hand on the rendezvous socket, offers a real segment, then writes corrupt words into the
// client's receiving ring. The client's connection fails with ProtocolError and tells the server why;
// another connection of the same process is untouched.

afterEach(cleanUp);
const CAPACITY = 4096;
const idle = { ring() {}, async wait() {}, waitSync() {} };
let serial = 0;

/** A hand-made shm server for one connection: `tamper` runs on its segment once the client mapped it. */
async function hostileServer(tamper: (data: Int32Array) => void, beforeOffer?: (data: Int32Array) => void) {
  const name = `hostile-${process.pid}-${++serial}`;
  const rendezvous = await unix.listen(`unix-abstract:ipc-shm/${name}`);
  const segment = uniqueName(`hostile-channel-${serial}`);
  const served = (async () => {
    for await (const control of rendezvous) {
      const memory = SharedMemory.create({ name: segment, size: 2 * ringSize(CAPACITY) }, SegmentKind.Channel);
      for (const offset of [0, ringSize(CAPACITY)]) new MessageRing(memory.buffer, offset, { capacity: CAPACITY, init: true, doorbell: idle });
      const words = new Int32Array(memory.buffer);
      beforeOffer?.(words);
      await control.send(new TextEncoder().encode(JSON.stringify({ version: 1, segment, capacity: CAPACITY })));
      // The client maps the segment and answers, or refuses the rings and aborts (as the stream transports
      // do since docs/wire.md §2.4, its abort may arrive as an error here).
      const mapped = await control.receive({ timeout: 30_000 }).catch(() => undefined);
      if (mapped === undefined) return { control, memory, frames: [] };
      tamper(words);
      await control.send(new Uint8Array(0)); // a doorbell: "re-check your ring"
      const frames: Uint8Array[] = [];
      try {
        for await (const frame of control) frames.push(frame);
      } catch {
        // the client's end
      }
      return { control, memory, frames };
    }
    throw new Error("no client came");
  })();
  return { url: `shm://${name}`, served, close: () => rendezvous.close() };
}

describe("shm:// against a server that breaks the ring protocol", () => {
  it("a record length of 0xFFFFFFF0 in the receiving ring fails that connection with ProtocolError, and the server is told; another connection goes on", async () => {
    const echoUrl = `shm://hostile-echo-${process.pid}`;
    const echo = await listen(echoUrl);
    void (async () => {
      for await (const connection of echo) {
        void (async () => {
          for await (const message of connection) await connection.send(message);
          await connection.close();
        })();
      }
    })();
    const healthy = await connect(echoUrl, { timeout: 30_000 });
    const server = await hostileServer((words) => {
      // ring 0 (server → client): one 8-byte record claiming 0xFFFFFFF0 bytes, published with head 16.
      words[320 / 4] = 0xffff_fff0 | 0;
      Atomics.store(words, 64 / 4, 16);
    });
    try {
      const victim = await connect(server.url, { timeout: 30_000 });
      const closed = victim.closed.then(
        () => undefined,
        (error: unknown) => error,
      );
      await expect(victim.receive({ timeout: 30_000 })).rejects.toMatchObject({ name: "ProtocolError", message: expect.stringContaining("length 4294967280") });
      expect(await closed).toMatchObject({ code: "IPC_ERR_PROTOCOL" });
      await expect(victim.send(new Uint8Array(1))).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
      const { frames, memory } = await server.served;
      memory.close();
      expect(frames.map((f) => new TextDecoder().decode(f))).toContainEqual(
        expect.stringMatching(/^A{"reason":3,"text":"the ring.s other side broke the ring protocol: /),
      );
      // The other connection is untouched.
      await healthy.send(new Uint8Array([7, 8]));
      expect(await healthy.receive({ timeout: 30_000 })).toEqual(new Uint8Array([7, 8]));
    } finally {
      await healthy.close();
      await echo.close();
      await server.close();
    }
  });

  it("receiveViews() lends the whole records before a corrupt one, then fails the connection with ProtocolError", async () => {
    const server = await hostileServer((words) => {
      // ring 0 (server → client): a 4-byte record [1, 2, 3, 4], then one claiming 0xFFFFFFF0 bytes; head 32.
      words[320 / 4] = 4;
      words[320 / 4 + 1] = 0;
      new Uint8Array(words.buffer).set([1, 2, 3, 4], 328);
      words[336 / 4] = 0xffff_fff0 | 0;
      words[336 / 4 + 1] = 0;
      Atomics.store(words, 64 / 4, 32);
    });
    try {
      const victim = await connect(server.url, { timeout: 30_000 });
      const closed = victim.closed.then(
        () => undefined,
        (error: unknown) => error,
      );
      const batch = (await victim.receiveViews({ timeout: 30_000 }))!;
      expect(batch.count).toBe(1);
      expect(batch.at(0)).toEqual(new Uint8Array([1, 2, 3, 4]));
      batch.release();
      await expect(victim.receiveViews({ timeout: 30_000 })).rejects.toMatchObject({
        name: "ProtocolError",
        message: expect.stringContaining("length 4294967280"),
      });
      expect(await closed).toMatchObject({ code: "IPC_ERR_PROTOCOL" });
      (await server.served).memory.close();
    } finally {
      await server.close();
    }
  });

  it("a send to a side whose asleep flag is set rings it with an empty frame on the rendezvous socket (docs/wire.md §5.6)", async () => {
    // ring 1 (client → server): the server (its consumer, by hand here) says it sleeps, word 48 of the ring header.
    // Set before the offer, so that it is there before the client can send.
    const server = await hostileServer(
      () => undefined,
      (words) => Atomics.store(words, ringSize(CAPACITY) / 4 + 48, 1),
    );
    try {
      const client = await connect(server.url, { timeout: 30_000 });
      await client.send(new Uint8Array([1, 2, 3]));
      client.abort();
      const { frames, memory } = await server.served;
      memory.close();
      // The bell is the first frame the server's framing decoder read: length 0 (4 zero bytes), no payload;
      // then the abort's 'A' frame. The flag was cleared by the ringing side.
      expect(frames[0]).toEqual(new Uint8Array(0));
      expect(frames[1]?.[0]).toBe(0x41);
      expect(frames).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it("an offer naming a path or a capacity that is not a power of two fails connect() with ProtocolError", async () => {
    for (const offer of [
      { version: 1, segment: "../../etc/passwd", capacity: CAPACITY },
      { version: 1, segment: "fine", capacity: 5000 },
    ]) {
      const name = `hostile-offer-${process.pid}-${++serial}`;
      const rendezvous = await unix.listen(`unix-abstract:ipc-shm/${name}`);
      void (async () => {
        for await (const control of rendezvous) await control.send(new TextEncoder().encode(JSON.stringify(offer))).catch(() => undefined);
      })();
      try {
        await expect(connect(`shm://${name}`, { timeout: 30_000 })).rejects.toMatchObject({
          code: "IPC_ERR_PROTOCOL",
          message: expect.stringContaining("the server offered"),
        });
      } finally {
        await rendezvous.close();
      }
    }
  });

  it("a ring header of another version, or a capacity other than the offer's, fails connect() with ProtocolError", async () => {
    for (const [label, word, value, pattern] of [
      ["version", 1, 2, /version 2/],
      ["capacity", 0, 2048, /capacity 2048, where 4096 was agreed/],
    ] as const) {
      const server = await hostileServer(
        () => undefined,
        (words) => void (words[word] = value),
      );
      try {
        await expect(connect(server.url, { timeout: 30_000 }), label).rejects.toMatchObject({
          code: "IPC_ERR_PROTOCOL",
          message: expect.stringMatching(pattern),
        });
        (await server.served).memory.close();
      } finally {
        await server.close();
      }
    }
  });
});
