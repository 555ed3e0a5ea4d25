/**
 * The batch path of framed() (`sendBatch()` / `receiveBatch()`, issue 17) over real Unix sockets: the frames on
 * the wire, whole-batch waiting and withdrawal under a stalled reader, order with single sends, no copies of
 * large messages, and a read's frames received as one batch.
 */
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connection } from "@ipc/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FrameDecoder, FrameReader, encodeFrame, framed } from "../src/index.js";

let dir: string;
const sockets: net.Socket[] = [];
const servers: net.Server[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ipc-framing-batch-"));
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

/** A connected pair of real Unix sockets: `client` (connected with `onread` when given) and the accepted `server`. */
async function socketPair(onread?: FrameReader["onread"]): Promise<{ client: net.Socket; server: net.Socket }> {
  const path = join(dir, `s${servers.length}.sock`);
  const server = net.createServer({ allowHalfOpen: true });
  servers.push(server);
  server.listen(path);
  await once(server, "listening");
  const accepted = once(server, "connection") as Promise<[net.Socket]>;
  const client = net.connect({ path, allowHalfOpen: true, ...(onread === undefined ? {} : { onread }) } as net.NetConnectOpts);
  sockets.push(client);
  await once(client, "connect");
  const [socket] = await accepted;
  sockets.push(socket);
  return { client, server: socket };
}

/** Every byte `socket` reads until its peer ends. */
async function readAll(socket: net.Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => parts.push(chunk));
  await once(socket, "end");
  return Buffer.concat(parts);
}

/** The frames of `bytes`, in order. */
function framesOf(bytes: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const decoder = new FrameDecoder(1 << 26, (frame) => frames.push(frame));
  decoder.push(bytes);
  decoder.end();
  return frames;
}

/** A message that says which it is: `size` bytes, the first four its index (big-endian), the rest its low byte. */
function numbered(index: number, size: number): Uint8Array {
  const message = new Uint8Array(size).fill(index & 0xff);
  if (size >= 4) new DataView(message.buffer).setUint32(0, index);
  return message;
}

const indexOf = (message: Uint8Array): number => new DataView(message.buffer, message.byteOffset, 4).getUint32(0);

describe("framed() sendBatch", () => {
  it("puts every message of a batch on the wire as its frame, byte for byte, read by a raw socket", async () => {
    const { client, server } = await socketPair();
    const connection = framed(client);
    const batch = [
      new Uint8Array(0),
      new Uint8Array([7]),
      numbered(1, 64),
      numbered(2, 16 * 1024),
      numbered(3, 16 * 1024 + 1),
      numbered(4, 200_000),
      numbered(5, 3),
    ];
    const second = Array.from({ length: 2000 }, (_, i) => numbered(10 + i, 60));
    const received = readAll(server);
    await connection.sendBatch(batch);
    await connection.sendBatch(second);
    server.end(); // the raw peer ends its side, so that close() completes
    await connection.close();
    const expected = Buffer.concat([...batch, ...second].map((message) => encodeFrame(message)));
    expect(Buffer.compare(await received, expected)).toBe(0);
  });

  it("packs small messages into 64 KiB writes: a batch of 3000 × 64 B is 4 writes, not 3000", async () => {
    const { client, server } = await socketPair();
    const writes: number[] = [];
    const write = client._write.bind(client);
    const writev = client._writev!.bind(client);
    // Observes what the stream hands the socket (the OS still does the writing).
    client._write = (chunk, encoding, callback) => {
      writes.push(1);
      write(chunk, encoding, callback);
    };
    client._writev = (chunks, callback) => {
      writes.push(chunks.length);
      writev(chunks, callback);
    };
    const connection = framed(client);
    const received = readAll(server);
    await connection.sendBatch(Array.from({ length: 3000 }, (_, i) => numbered(i, 64)));
    server.end();
    await connection.close();
    expect(framesOf(await received).map(indexOf)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    // 3000 frames of 68 bytes are 204 000 bytes: three full slabs of 963 frames, then the rest.
    expect(writes.reduce((n, pieces) => n + pieces, 0)).toBe(4);
  });

  it("writes a batch's large messages from the caller's arrays, without copying them", async () => {
    const { client, server } = await socketPair();
    const written: Uint8Array[] = [];
    const write = client._write.bind(client);
    const writev = client._writev!.bind(client);
    client._write = (chunk, encoding, callback) => {
      written.push(chunk as Uint8Array);
      write(chunk, encoding, callback);
    };
    client._writev = (chunks, callback) => {
      for (const { chunk } of chunks) written.push(chunk as Uint8Array);
      writev(chunks, callback);
    };
    const connection = framed(client);
    const large = [numbered(1, 100_000), numbered(2, 1 << 20)];
    const received = readAll(server);
    await connection.sendBatch([numbered(0, 10), large[0]!, numbered(3, 10), large[1]!]);
    server.end();
    await connection.close();
    // Node's stream wraps a Uint8Array in a Buffer over the same memory: the same bytes, not a copy of them.
    const sameMemory = (message: Uint8Array): boolean =>
      written.some((chunk) => chunk.buffer === message.buffer && chunk.byteOffset === message.byteOffset && chunk.byteLength === message.byteLength);
    for (const message of large) expect(sameMemory(message)).toBe(true);
    expect(framesOf(await received).map(indexOf)).toEqual([0, 1, 3, 2]);
  });

  it("keeps order across interleaved send() and sendBatch() calls, through waits for room", async () => {
    const { client, server } = await socketPair();
    const sender = framed(client, { highWaterMark: 64 * 1024 });
    const receiver = framed(server);
    const sends: Promise<void>[] = [];
    let next = 0;
    for (let round = 0; round < 300; round++) {
      sends.push(sender.send(numbered(next++, 32)));
      const batch = [numbered(next++, 100), numbered(next++, round % 10 === 0 ? 40_000 : 10), numbered(next++, 4)];
      sends.push(sender.sendBatch(batch));
    }
    const total = next;
    const got: number[] = [];
    for await (const message of receiver) {
      got.push(indexOf(message));
      if (got.length === total) break;
    }
    await Promise.all(sends);
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
    await Promise.all([sender.close(), receiver.close()]);
  });

  it("waits for room as one entry and, when its timeout expires first, withdraws the whole batch (a stalled reader)", async () => {
    const { client, server } = await socketPair();
    server.pause(); // the reader stalls: the kernel's buffers fill, then the writer's
    const connection = framed(client, { highWaterMark: 64 * 1024 });
    let index = 0;
    const sends: Promise<void>[] = [];
    // Send until a batch waits and the reader has stopped reading (its socket's buffer is full): from then on,
    // nothing makes room until it resumes.
    for (;;) {
      const send = connection.sendBatch(Array.from({ length: 64 }, () => numbered(index++, 1000)));
      sends.push(send);
      const settled = await Promise.race([send.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
      if (!settled && server.readableLength >= server.readableHighWaterMark) break;
    }
    const sentBefore = index;
    const withdrawn = Array.from({ length: 10 }, (_, i) => numbered(1_000_000 + i, 50));
    // The timeout is what is under test: the batch waits behind one that cannot go on while the reader stalls.
    await expect(connection.sendBatch(withdrawn, { timeout: 50 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    const controller = new AbortController();
    const aborted = connection.sendBatch([numbered(2_000_000, 50)], { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: "IPC_ERR_ABORTED" });
    const last = connection.send(numbered(index, 8));
    const received = readAll(server);
    server.resume();
    await Promise.all([...sends, last]);
    server.end();
    await connection.close();
    // Every accepted message, then the one sent after the withdrawn batches: none of theirs.
    expect(framesOf(await received).map(indexOf)).toEqual(Array.from({ length: sentBefore + 1 }, (_, i) => i));
  });
});

describe("framed() receiveBatch", () => {
  async function receivesOneReadTogether(connectionOf: () => Promise<{ connection: Connection; peer: net.Socket }>): Promise<void> {
    const { connection, peer } = await connectionOf();
    const frames = Array.from({ length: 500 }, (_, i) => encodeFrame(numbered(i, 12)));
    peer.write(Buffer.concat(frames)); // one write of 8 000 bytes: one read on the other side
    const batch = await connection.receiveBatch();
    expect(batch?.map(indexOf)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    peer.end();
    expect(await connection.receiveBatch()).toBeUndefined();
    await connection.close();
  }

  it("hands out the frames of one read as one batch ('data' events)", async () => {
    await receivesOneReadTogether(async () => {
      const { client, server } = await socketPair();
      return { connection: framed(client), peer: server };
    });
  });

  it("hands out the frames of one read as one batch (a FrameReader, reading with onread)", async () => {
    await receivesOneReadTogether(async () => {
      const reader = new FrameReader();
      const { client, server } = await socketPair(reader.onread);
      return { connection: framed(client, { reader }), peer: server };
    });
  });

  it("receives what sendBatch() sent, across many reads, within maxMessages and maxBytes", async () => {
    const reader = new FrameReader();
    const { client, server } = await socketPair(reader.onread);
    const receiver = framed(client, { reader });
    const sender = framed(server);
    const total = 20_000;
    const sending = (async () => {
      for (let at = 0; at < total; at += 1000)
        await sender.sendBatch(Array.from({ length: 1000 }, (_, i) => numbered(at + i, i === 0 && at % 3000 === 0 ? 20_000 : 64)));
    })();
    const got: number[] = [];
    while (got.length < total) {
      const batch = await receiver.receiveBatch({ maxMessages: 700, maxBytes: 32 * 1024 });
      expect(batch).toBeDefined();
      expect(batch!.length).toBeLessThanOrEqual(700);
      // The first message is returned whatever its size; the rest stay within maxBytes.
      if (batch!.length > 1) expect(batch!.reduce((n, m) => n + m.byteLength, 0)).toBeLessThanOrEqual(32 * 1024);
      for (const message of batch!) got.push(indexOf(message));
    }
    await sending;
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
    await Promise.all([sender.close(), receiver.close()]);
  });
});
