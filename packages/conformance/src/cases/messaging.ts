import { describe, expect, it } from "vitest";
import type { ConformanceFixture } from "../fixture.js";
import { checkPatterned, connect, digest, listen, pair, patterned, rejection, serveEcho, type Context } from "../harness.js";

const SLOW = { timeout: 60_000 };

/** Echo, order, sizes, many connections, backpressure. */
export function messagingCases(_fixture: ConformanceFixture, ctx: () => Context): void {
  describe("messages", () => {
    it("echoes a message", async () => {
      const c = ctx();
      const listener = await listen(c);
      serveEcho(c, listener);
      const client = await connect(c, listener);
      await client.send(new TextEncoder().encode("hello, ipc"));
      const reply = await client.receive({ timeout: 10_000 });
      expect(new TextDecoder().decode(reply)).toBe("hello, ipc");
    });

    it("keeps order for 2 000 messages of mixed sizes sent without waiting", SLOW, async () => {
      const c = ctx();
      const listener = await listen(c);
      serveEcho(c, listener);
      const client = await connect(c, listener);
      const sizes = Array.from({ length: 2000 }, (_, i) => [4, 64, 1000, 20_000, 70_000][i % 5]!);
      const sends = sizes.map((size, seq) => client.send(patterned(seq, size)));
      const received: number[] = [];
      for await (const message of client) {
        received.push(checkPatterned(message));
        if (received.length === sizes.length) break;
      }
      await Promise.all(sends);
      expect(received).toEqual(sizes.map((_, seq) => seq));
    });

    it("carries a 0-byte and a 1-byte message", async () => {
      const { client, server } = await pair(ctx());
      await client.send(new Uint8Array(0));
      await client.send(new Uint8Array([0xab]));
      expect(await server.receive({ timeout: 10_000 })).toEqual(new Uint8Array(0));
      expect(await server.receive({ timeout: 10_000 })).toEqual(new Uint8Array([0xab]));
    });

    it("carries a 16 MiB message intact", SLOW, async () => {
      const { client, server } = await pair(ctx());
      const big = patterned(7, 16 * 1024 * 1024);
      const sent = client.send(big);
      const received = await server.receive({ timeout: 50_000 });
      await sent;
      expect(received?.byteLength).toBe(big.byteLength);
      expect(digest(received!)).toBe(digest(big));
    });

    it("carries 10 000 small messages in order", SLOW, async () => {
      const { client, server } = await pair(ctx());
      const count = 10_000;
      const reading = (async () => {
        let next = 0;
        for await (const message of server) {
          if (checkPatterned(message) !== next) throw new Error(`message ${next} arrived as ${checkPatterned(message)}`);
          if (++next === count) return next;
        }
        return next;
      })();
      for (let seq = 0; seq < count; seq++) await client.send(patterned(seq, 16));
      expect(await reading).toBe(count);
    });

    it("serves 50 concurrent connections without mixing their messages", SLOW, async () => {
      const c = ctx();
      const listener = await listen(c);
      serveEcho(c, listener);
      const results = await Promise.all(
        Array.from({ length: 50 }, async (_, id) => {
          const client = await connect(c, listener);
          for (let i = 0; i < 20; i++) await client.send(patterned(id * 1000 + i, 100 + id));
          const seqs: number[] = [];
          for await (const message of client) {
            expect(message.byteLength).toBe(100 + id);
            seqs.push(checkPatterned(message));
            if (seqs.length === 20) break;
          }
          await client.close({ timeout: 10_000 });
          return seqs;
        }),
      );
      for (const [id, seqs] of results.entries()) expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => id * 1000 + i));
    });

    it("bounds what a sender can buffer while the reader reads nothing, then delivers it all", SLOW, async () => {
      const c = ctx();
      const { client, server } = await pair(c);
      const bound = c.fixture.capabilities.maxBufferedBytes ?? 16 * 1024 * 1024;
      const size = 64 * 1024;
      let accepted = 0;
      let stalled = false;
      // Send until a send cannot complete (the reader is not reading), or well past the bound.
      while (accepted <= 2 * bound) {
        try {
          await client.send(patterned(accepted / size, size), { timeout: 250 });
        } catch (error) {
          expect((error as { code?: string }).code).toBe("IPC_ERR_TIMEOUT");
          stalled = true;
          break;
        }
        accepted += size;
      }
      expect(stalled).toBe(true);
      expect(accepted).toBeLessThanOrEqual(bound);
      // The send that timed out was not sent: exactly the accepted messages arrive, in order.
      const count = accepted / size;
      for (let seq = 0; seq < count; seq++) {
        const message = await server.receive({ timeout: 10_000 });
        expect(checkPatterned(message!)).toBe(seq);
      }
      await client.send(patterned(count, 8));
      expect(checkPatterned((await server.receive({ timeout: 10_000 }))!)).toBe(count);
    });

    it("rejects a message over maxMessageSize with MessageTooLargeError and stays usable", async () => {
      const c = ctx();
      const listener = await listen(c, { maxMessageSize: 1024 });
      const client = await connect(c, listener, { maxMessageSize: 1024 });
      const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
      const error = await rejection(client.send(new Uint8Array(1025)));
      expect(error.code).toBe("IPC_ERR_MESSAGE_TOO_LARGE");
      await client.send(new Uint8Array(1024));
      expect((await server.receive({ timeout: 10_000 }))?.byteLength).toBe(1024);
    });

    it("closes the receiver's connection with FrameTooLargeError when a message exceeds its maxMessageSize", async () => {
      const c = ctx();
      const listener = await listen(c, { maxMessageSize: 1000 });
      const client = await connect(c, listener, { maxMessageSize: 5000 });
      const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
      await client.send(patterned(1, 1000));
      await client.send(patterned(2, 1001));
      expect(checkPatterned((await server.receive({ timeout: 10_000 }))!)).toBe(1);
      const error = await rejection(server.receive({ timeout: 10_000 }));
      expect(error.code).toBe("IPC_ERR_FRAME_TOO_LARGE");
      expect((await rejection(server.closed)).code).toBe("IPC_ERR_FRAME_TOO_LARGE");
      await client.closed.catch(() => undefined);
    });
  });
}
