/**
 * The opt-in zero-copy receive (`ViewConnection.receiveView()`, packages/core/README.md), on every connection
 * that offers it (`capabilities.views`): whole messages in order, lent one at a time, intact until released
 * however much arrives meanwhile, misuse detected, backpressure kept while a view is held, `signal`/`timeout`,
 * the end, the peer's failure, bad frames and a peer that dies mid-message, close and abort with a view held,
 * and plain receives mixed in; and the batch form `receiveViews()` (order across batches, bounds, misuse, the end,
 * signal/timeout, bad frames).
 */
import { once } from "node:events";
import type { Duplex } from "node:stream";
import { isViewConnection, type Connection, type MessageView, type ViewConnection } from "@ipc/core";
import { describe, expect, it } from "vitest";
import type { ConformanceFixture } from "../fixture.js";
import { checkPatterned, connect, lacking, listen, pair, patterned, rejection, type Context } from "../harness.js";
import { bytesOf, fill, mismatch, run, WAIT, type Expected } from "./batch-messages.js";
import { startPeer } from "./cross-process.js";
import { rawFrame } from "./raw.js";

/** `connection` as a ViewConnection (the case is skipped unless the fixture says its connections are). */
function viewing(connection: Connection): ViewConnection {
  if (!isViewConnection(connection)) throw new Error("capabilities.views is set, but isViewConnection() says this connection offers no receiveView()");
  return connection;
}

/** Receives `expected` with receiveView(), checking and releasing each view. */
async function viewAll(connection: ViewConnection, expected: readonly Expected[], from = 0): Promise<void> {
  for (let i = from; i < expected.length; i++) {
    const view = await connection.receiveView(WAIT);
    const wrong = mismatch(view?.bytes, expected[i]!, i);
    if (wrong !== undefined) throw new Error(wrong);
    view!.release();
  }
}

/** The seq of a view's message, then releases it. */
function seqOf(view: MessageView | undefined): number {
  if (view === undefined) throw new Error("receiveView() resolved with the end, a message was expected");
  const seq = checkPatterned(view.bytes);
  view.release();
  return seq;
}

export function viewCases(fixture: ConformanceFixture, ctx: () => Context): void {
  const views = fixture.capabilities.views === true;
  const noViews = !views;
  const why = "its connections offer no receiveView() (capabilities.views)";
  const raw = fixture.capabilities.rawConnect;
  const module = fixture.capabilities.crossProcess?.module;
  const halfClose = fixture.capabilities.halfClose !== false;

  describe("receiveView(): the opt-in zero-copy receive", () => {
    it(`isViewConnection() is ${views} on both ends, as capabilities.views says`, async () => {
      const { client, server } = await pair(ctx());
      expect(isViewConnection(client)).toBe(views);
      expect(isViewConnection(server)).toBe(views);
    });

    it.skipIf(noViews)(`lends every message whole and in order, 0 bytes to 1 MiB, each intact until released${lacking(noViews, why)}`, async () => {
      const { client, server } = await pair(ctx());
      const sizes = [0, 1, 3, 100, 4096, 65_536, 65_536, 65_537, 200_000, 1 << 20, 10, 65_536];
      const expected = run(0, 60, (seq) => sizes[seq % sizes.length]!);
      const sending = client.sendBatch(expected.map(bytesOf).slice(0, 30)).then(() => Promise.all(expected.slice(30).map((e) => client.send(bytesOf(e)))));
      await viewAll(viewing(server), expected);
      await sending;
    });

    it.skipIf(noViews)(
      `a held view stays intact while the peer sends until it stalls, and the receiver's buffering stays bounded${lacking(noViews, why)}`,
      async () => {
        const { client, server } = await pair(ctx());
        const b = viewing(server);
        await client.send(patterned(1_000_000, 65_536));
        const held = (await b.receiveView(WAIT))!;
        const before = Buffer.from(held.bytes);
        // The peer fills this end up to its bound while the view is held: backpressure is not lifted by a view.
        const bound = fixture.capabilities.maxBufferedBytes ?? 16 * 1024 * 1024;
        const { accepted } = await fill(client, 2 * bound + 4 * 1024 * 1024, 65_536, 4);
        expect(Buffer.from(held.bytes).equals(before)).toBe(true);
        expect(checkPatterned(held.bytes)).toBe(1_000_000);
        held.release();
        await viewAll(b, accepted);
      },
    );

    it.skipIf(noViews)(
      `one view at a time: receive(), receiveBatch(), iteration and receiveView() reject with ViewHeldError until release()${lacking(noViews, why)}`,
      async () => {
        const { client, server } = await pair(ctx());
        const b = viewing(server);
        await client.sendBatch([patterned(0, 100), patterned(1, 100), patterned(2, 100), patterned(3, 100)]);
        const view = (await b.receiveView(WAIT))!;
        for (const attempt of [b.receive(WAIT), b.receiveBatch(WAIT), b[Symbol.asyncIterator]().next(), b.receiveView(WAIT)]) {
          const error = await rejection(attempt);
          expect(error.code).toBe("IPC_ERR_VIEW_HELD");
          expect(error.name).toBe("ViewHeldError");
        }
        expect(checkPatterned(view.bytes)).toBe(0);
        view.release();
        // Nothing was taken by the refused calls.
        expect(checkPatterned((await b.receive(WAIT))!)).toBe(1);
        expect(seqOf(await b.receiveView(WAIT))).toBe(2);
        expect(checkPatterned((await b.receiveBatch(WAIT))![0]!)).toBe(3);
      },
    );

    it.skipIf(noViews)(`a second receiveView() while one waits rejects with ViewHeldError; the first gets the message${lacking(noViews, why)}`, async () => {
      const { client, server } = await pair(ctx());
      const b = viewing(server);
      const first = b.receiveView(WAIT);
      expect((await rejection(b.receiveView(WAIT))).code).toBe("IPC_ERR_VIEW_HELD");
      await client.send(patterned(5, 70_000));
      expect(seqOf(await first)).toBe(5);
    });

    it.skipIf(noViews)(`a released view throws ViewReleasedError for its bytes and a second release(); released says so${lacking(noViews, why)}`, async () => {
      const { client, server } = await pair(ctx());
      await client.send(patterned(7, 64));
      const view = (await viewing(server).receiveView(WAIT))!;
      expect(view.released).toBe(false);
      view.release();
      expect(view.released).toBe(true);
      for (const misuse of [() => view.bytes, () => view.release()]) {
        let thrown: (Error & { code?: string }) | undefined;
        try {
          misuse();
        } catch (error) {
          thrown = error as Error & { code?: string };
        }
        expect(thrown?.code).toBe("IPC_ERR_VIEW_RELEASED");
        expect(thrown?.name).toBe("ViewReleasedError");
      }
    });

    it.skipIf(noViews)(
      `plain receives mixed with views: every message in order, and a message from receive() stays valid after later views are released${lacking(noViews, why)}`,
      async () => {
        const { client, server } = await pair(ctx());
        const b = viewing(server);
        const expected = run(0, 40, (seq) => (seq % 3 === 0 ? 65_536 : 300 + seq));
        // Some queued before the first receiveView(), the rest after.
        await client.sendBatch(expected.slice(0, 10).map(bytesOf));
        const kept: { message: Uint8Array; seq: number }[] = [];
        let next = 0;
        const plain = async (): Promise<void> => {
          const message = (await b.receive(WAIT))!;
          expect(mismatch(message, expected[next]!, next)).toBeUndefined();
          kept.push({ message, seq: expected[next]!.seq });
          next++;
        };
        await plain();
        const sending = client.sendBatch(expected.slice(10).map(bytesOf));
        while (next < expected.length) {
          if (next % 4 === 1) await plain();
          else if (next % 4 === 2) {
            const batch = (await b.receiveBatch({ maxMessages: 2, ...WAIT }))!;
            for (const message of batch) {
              expect(mismatch(message, expected[next]!, next)).toBeUndefined();
              kept.push({ message, seq: expected[next]!.seq });
              next++;
            }
          } else {
            const view = await b.receiveView(WAIT);
            expect(mismatch(view?.bytes, expected[next]!, next)).toBeUndefined();
            view!.release();
            next++;
          }
        }
        await sending;
        for (const { message, seq } of kept) expect(checkPatterned(message)).toBe(seq);
      },
    );

    it.skipIf(noViews)(`receiveView() honours timeout and signal like receive(), and a later one gets the message${lacking(noViews, why)}`, async () => {
      const { client, server } = await pair(ctx());
      const b = viewing(server);
      expect((await rejection(b.receiveView({ timeout: 1 }))).code).toBe("IPC_ERR_TIMEOUT");
      const controller = new AbortController();
      const waiting = b.receiveView({ signal: controller.signal });
      controller.abort();
      expect((await rejection(waiting)).code).toBe("IPC_ERR_ABORTED");
      expect((await rejection(b.receiveView({ signal: AbortSignal.abort() }))).code).toBe("IPC_ERR_ABORTED");
      await client.send(patterned(11, 65_536));
      expect(seqOf(await b.receiveView(WAIT))).toBe(11);
    });

    it.skipIf(noViews)(`resolves undefined at the peer's clean close, after every message, and again after${lacking(noViews, why)}`, async () => {
      const { client, server } = await pair(ctx());
      const b = viewing(server);
      const expected = run(0, 8, 65_536);
      await client.sendBatch(expected.map(bytesOf));
      const closing = client.close(WAIT);
      await viewAll(b, expected);
      expect(await b.receiveView(WAIT)).toBeUndefined();
      expect(await b.receiveView(WAIT)).toBeUndefined();
      await closing;
    });

    it.skipIf(noViews)(
      `close() and abort() with a view held: the view stays readable until released; then receiveView() ends or rejects${lacking(noViews, why)}`,
      async () => {
        const c = ctx();
        const listener = await listen(c);
        for (const how of ["close", "abort"] as const) {
          const client = await connect(c, listener);
          const server = viewing(c.resources.connection((await listener.accept(WAIT))!));
          await client.sendBatch([patterned(1, 65_536), patterned(2, 100)]);
          const view = (await server.receiveView(WAIT))!;
          if (how === "close") {
            const closing = server.close(WAIT);
            await client.close(WAIT);
            await closing;
          } else {
            server.abort();
            await server.closed.catch(() => undefined);
          }
          expect(checkPatterned(view.bytes)).toBe(1);
          expect((await rejection(server.receiveView(WAIT))).code).toBe("IPC_ERR_VIEW_HELD");
          view.release();
          if (how === "close") {
            const rest: number[] = [];
            for (let next = await server.receiveView(WAIT); next !== undefined; next = await server.receiveView(WAIT)) rest.push(seqOf(next));
            // Sent before either close; a transport without half-close (TLS) may have stopped reading before it came.
            expect(rest).toEqual(halfClose || rest.length > 0 ? [2] : []);
          } else expect((await rejection(server.receiveView(WAIT))).code).toBe("IPC_ERR_ABORTED");
        }
      },
    );

    it.skipIf(noViews)(`the peer's abort: the messages before it are lent, then receiveView() rejects with its failure${lacking(noViews, why)}`, async () => {
      const { client, server } = await pair(ctx());
      const b = viewing(server);
      await client.sendBatch([patterned(1, 65_536), patterned(2, 10)]);
      // The two arrived (and are queued) before the abort.
      expect(seqOf(await b.receiveView(WAIT))).toBe(1);
      client.abort();
      const rest: number[] = [];
      const error = await (async () => {
        for (;;) {
          const view = await b.receiveView(WAIT);
          if (view === undefined) return undefined;
          rest.push(seqOf(view));
        }
      })().catch((reason: unknown) => reason as Error & { code?: string });
      expect(rest.length <= 1 && (rest.length === 0 || rest[0] === 2)).toBe(true);
      expect(["IPC_ERR_CONNECTION_RESET", "IPC_ERR_ABORTED", "IPC_ERR_CLOSED"]).toContain(error?.code);
    });

    const rawMissing = noViews || raw === undefined;
    const rawWhy = noViews ? why : "the transport has no byte stream to corrupt (capabilities.rawConnect)";
    it.skipIf(rawMissing)(
      `bad frames: a length over maxMessageSize rejects with FrameTooLargeError, a truncated frame with ProtocolError, after the whole ones${lacking(rawMissing, rawWhy)}`,
      async () => {
        const c = ctx();
        const listener = await listen(c, { maxMessageSize: 1 << 20 });
        for (const bad of ["too large", "truncated"] as const) {
          const socket = await raw!(listener.address);
          c.resources.cleanup(() => socket.destroy());
          socket.on("error", () => undefined);
          const server = viewing(c.resources.connection((await listener.accept(WAIT))!));
          const waiting = server.receiveView(WAIT);
          const header = Buffer.alloc(4);
          header.writeUInt32BE(0xffff_fff0, 0);
          const tail = bad === "too large" ? header : rawFrame(patterned(9, 100_000)).subarray(0, 4 + 70_000);
          await write(socket, Buffer.concat([rawFrame(patterned(1, 65_536)), rawFrame(patterned(2, 20)), tail]));
          if (bad === "truncated") socket.end();
          expect(seqOf(await waiting)).toBe(1);
          expect(seqOf(await server.receiveView(WAIT))).toBe(2);
          const error = await rejection(server.receiveView(WAIT));
          expect(error.code).toBe(bad === "too large" ? "IPC_ERR_FRAME_TOO_LARGE" : "IPC_ERR_PROTOCOL");
          if (bad === "truncated") expect(error.message).toMatch(/70000 of its 100000 payload bytes arrived/);
        }
      },
    );

    const deathMissing = noViews || module === undefined || raw === undefined;
    it.skipIf(deathMissing)(
      `a peer SIGKILLed mid-frame: the whole messages are lent, then a typed error${lacking(deathMissing, noViews ? why : "no child-process module and byte stream (capabilities.crossProcess, rawConnect)")}`,
      { timeout: 60_000 },
      async () => {
        const c = ctx();
        const listener = await listen(c);
        const peer = startPeer(c, [module!, listener.address, "raw-partial", "20"]);
        const server = viewing(c.resources.connection((await listener.accept({ timeout: 20_000 }))!));
        const first = server.receiveView(WAIT);
        expect(await peer.line()).toBe("sent");
        peer.child.kill("SIGKILL");
        await peer.exit;
        const seqs = [seqOf(await first)];
        const error = await (async () => {
          for (;;) {
            const view = await server.receiveView(WAIT);
            if (view === undefined) return undefined;
            seqs.push(seqOf(view));
          }
        })().catch((reason: unknown) => reason as Error & { code?: string });
        expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(["IPC_ERR_PROTOCOL", "IPC_ERR_CONNECTION_RESET"]).toContain(error?.code);
      },
    );
  });

  describe("receiveViews(): the opt-in zero-copy batch receive", () => {
    /** Takes batches until `expected` is all here, checking each message and each batch's bounds; returns the batch sizes. */
    async function viewsAll(b: ViewConnection, expected: readonly Expected[], bounds?: { maxMessages?: number; maxBytes?: number }): Promise<number[]> {
      const counts: number[] = [];
      let at = 0;
      while (at < expected.length) {
        // Never more than is left of `expected`: what follows is the caller's.
        const left = expected.length - at;
        const batch = await b.receiveViews({ ...WAIT, ...bounds, maxMessages: Math.min(bounds?.maxMessages ?? left, left) });
        if (batch === undefined) throw new Error(`receiveViews() resolved with the end after ${at} of ${expected.length} messages`);
        expect(batch.count).toBeGreaterThan(0);
        expect(batch.offsets.length).toBe(batch.count);
        expect(batch.lengths.length).toBe(batch.count);
        if (bounds?.maxMessages !== undefined) expect(batch.count).toBeLessThanOrEqual(bounds.maxMessages);
        let bytes = 0;
        for (let i = 0; i < batch.count; i++) {
          const message = batch.bytes.subarray(batch.offsets[i]!, batch.offsets[i]! + batch.lengths[i]!);
          const wrong = mismatch(message, expected[at]!, at);
          if (wrong !== undefined) throw new Error(wrong);
          expect(Buffer.from(batch.at(i)).equals(Buffer.from(message))).toBe(true);
          bytes += batch.lengths[i]!;
          at++;
        }
        if (bounds?.maxBytes !== undefined && batch.count > 1) expect(bytes).toBeLessThanOrEqual(bounds.maxBytes);
        counts.push(batch.count);
        batch.release();
      }
      return counts;
    }

    it.skipIf(noViews)(`lends every message whole and in order across batches, 0 bytes to 1 MiB${lacking(noViews, why)}`, async () => {
      const { client, server } = await pair(ctx());
      const sizes = [0, 1, 3, 64, 64, 64, 100, 4096, 65_536, 65_537, 200_000, 1 << 20, 10, 64];
      const expected = run(0, 3000, (seq) => (seq < 2000 ? 64 : sizes[seq % sizes.length]!));
      const sending = (async () => {
        for (let i = 0; i < expected.length; i += 100) await client.sendBatch(expected.slice(i, i + 100).map(bytesOf));
      })();
      await viewsAll(viewing(server), expected);
      await sending;
    });

    it.skipIf(noViews)(`keeps maxMessages and maxBytes (the first message whatever its size)${lacking(noViews, why)}`, async () => {
      const { client, server } = await pair(ctx());
      const b = viewing(server);
      const expected = run(0, 400, (seq) => (seq % 50 === 7 ? 9000 : 100));
      await client.sendBatch(expected.map(bytesOf));
      await viewsAll(b, expected.slice(0, 200), { maxMessages: 3 });
      await viewsAll(b, expected.slice(200), { maxBytes: 1000 });
      await expect(b.receiveViews({ maxMessages: 0 })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    });

    it.skipIf(noViews)(
      `one lent thing at a time: ViewHeldError for every receive while a batch is held; ViewReleasedError after release(); at() out of range${lacking(noViews, why)}`,
      async () => {
        const { client, server } = await pair(ctx());
        const b = viewing(server);
        await client.sendBatch([patterned(0, 100), patterned(1, 100), patterned(2, 100), patterned(3, 100)]);
        const batch = (await b.receiveViews({ ...WAIT, maxMessages: 1 }))!;
        for (const attempt of [b.receive(WAIT), b.receiveBatch(WAIT), b[Symbol.asyncIterator]().next(), b.receiveView(WAIT), b.receiveViews(WAIT)]) {
          const error = await rejection(attempt);
          expect(error.code).toBe("IPC_ERR_VIEW_HELD");
        }
        expect(batch.count).toBe(1);
        expect(checkPatterned(batch.at(0))).toBe(0);
        expect(() => batch.at(1)).toThrow(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
        batch.release();
        expect(batch.released).toBe(true);
        expect(batch.count).toBe(1);
        for (const touch of [() => batch.bytes, () => batch.offsets, () => batch.lengths, () => batch.at(0), () => batch.release()]) {
          expect(touch).toThrow(expect.objectContaining({ code: "IPC_ERR_VIEW_RELEASED" }));
        }
        // Nothing was taken by the refused calls; plain receives and views mix in order.
        expect(checkPatterned((await b.receive(WAIT))!)).toBe(1);
        expect(seqOf(await b.receiveView(WAIT))).toBe(2);
        const last = (await b.receiveViews(WAIT))!;
        expect(checkPatterned(last.at(0))).toBe(3);
        last.release();
        const waiting = b.receiveViews(WAIT);
        expect((await rejection(b.receiveViews(WAIT))).code).toBe("IPC_ERR_VIEW_HELD");
        await client.send(patterned(4, 50));
        const next = (await waiting)!;
        expect(checkPatterned(next.at(0))).toBe(4);
        next.release();
      },
    );

    it.skipIf(noViews)(`plain receives mixed with batches get every message once, in order${lacking(noViews, why)}`, async () => {
      const { client, server } = await pair(ctx());
      const b = viewing(server);
      const expected = run(0, 3000, 64);
      const sending = (async () => {
        for (let i = 0; i < expected.length; i += 500) await client.sendBatch(expected.slice(i, i + 500).map(bytesOf));
      })();
      let at = 0;
      for (let turn = 0; at < expected.length; turn++) {
        if (turn % 3 === 1) {
          const batch = (await b.receiveBatch({ ...WAIT, maxMessages: 5 }))!;
          for (const message of batch) expect(checkPatterned(message)).toBe(at++);
        } else if (turn % 3 === 2) {
          expect(checkPatterned((await b.receive(WAIT))!)).toBe(at++);
        } else {
          const batch = (await b.receiveViews({ ...WAIT, maxMessages: 200 }))!;
          for (let i = 0; i < batch.count; i++) expect(checkPatterned(batch.at(i))).toBe(at++);
          batch.release();
        }
      }
      await sending;
    });

    it.skipIf(noViews)(`signal and timeout; the clean end resolves undefined${lacking(noViews, why)}`, async () => {
      const { client, server } = await pair(ctx());
      const b = viewing(server);
      expect((await rejection(b.receiveViews({ timeout: 20 }))).code).toBe("IPC_ERR_TIMEOUT");
      const controller = new AbortController();
      const waiting = b.receiveViews({ signal: controller.signal });
      controller.abort();
      expect((await rejection(waiting)).code).toBe("IPC_ERR_ABORTED");
      await client.sendBatch([patterned(0, 64), patterned(1, 64)]);
      await client.close();
      const batches: number[] = [];
      for (;;) {
        const batch = await b.receiveViews(WAIT);
        if (batch === undefined) break;
        for (let i = 0; i < batch.count; i++) batches.push(checkPatterned(batch.at(i)));
        batch.release();
      }
      expect(batches).toEqual([0, 1]);
    });

    const rawMissing = noViews || raw === undefined;
    const rawWhy = noViews ? why : "the transport has no byte stream to corrupt (capabilities.rawConnect)";
    it.skipIf(rawMissing)(
      `bad frames: the whole messages are lent, then FrameTooLargeError for a length over maxMessageSize, ProtocolError for a truncated frame${lacking(rawMissing, rawWhy)}`,
      async () => {
        const c = ctx();
        const listener = await listen(c, { maxMessageSize: 1 << 20 });
        for (const bad of ["too large", "truncated"] as const) {
          const socket = await raw!(listener.address);
          c.resources.cleanup(() => socket.destroy());
          socket.on("error", () => undefined);
          const server = viewing(c.resources.connection((await listener.accept(WAIT))!));
          const waiting = server.receiveViews(WAIT);
          const header = Buffer.alloc(4);
          header.writeUInt32BE(0xffff_fff0, 0);
          const tail = bad === "too large" ? header : rawFrame(patterned(9, 100_000)).subarray(0, 4 + 70_000);
          const whole = Array.from({ length: 50 }, (_, i) => rawFrame(patterned(i, 64)));
          await write(socket, Buffer.concat([...whole, tail]));
          if (bad === "truncated") socket.end();
          const seqs: number[] = [];
          const error = await (async () => {
            for (let batch = await waiting; ; batch = await server.receiveViews(WAIT)) {
              if (batch === undefined) return undefined;
              for (let i = 0; i < batch.count; i++) seqs.push(checkPatterned(batch.at(i)));
              batch.release();
            }
          })().catch((reason: unknown) => reason as Error & { code?: string });
          expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
          expect(error?.code).toBe(bad === "too large" ? "IPC_ERR_FRAME_TOO_LARGE" : "IPC_ERR_PROTOCOL");
        }
      },
    );

    const deathMissing = noViews || module === undefined || raw === undefined;
    it.skipIf(deathMissing)(
      `a peer SIGKILLed mid-frame: the whole messages are lent in batches, then a typed error${lacking(deathMissing, noViews ? why : "no child-process module and byte stream (capabilities.crossProcess, rawConnect)")}`,
      { timeout: 60_000 },
      async () => {
        const c = ctx();
        const listener = await listen(c);
        const peer = startPeer(c, [module!, listener.address, "raw-partial", "20"]);
        const server = viewing(c.resources.connection((await listener.accept({ timeout: 20_000 }))!));
        const first = server.receiveViews(WAIT);
        expect(await peer.line()).toBe("sent");
        peer.child.kill("SIGKILL");
        await peer.exit;
        const seqs: number[] = [];
        const error = await (async () => {
          for (let batch = await first; ; batch = await server.receiveViews(WAIT)) {
            if (batch === undefined) return undefined;
            for (let i = 0; i < batch.count; i++) seqs.push(checkPatterned(batch.at(i)));
            batch.release();
          }
        })().catch((reason: unknown) => reason as Error & { code?: string });
        expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(["IPC_ERR_PROTOCOL", "IPC_ERR_CONNECTION_RESET"]).toContain(error?.code);
      },
    );
  });
}

async function write(stream: Duplex, bytes: Uint8Array): Promise<void> {
  if (!stream.write(bytes)) await once(stream, "drain");
}
