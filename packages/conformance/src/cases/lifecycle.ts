import { describe, expect, it } from "vitest";
import type { ConformanceFixture } from "../fixture.js";
import { checkPatterned, connect, lacking, listen, pair, patterned, rejection, serveEcho, type Context } from "../harness.js";

const SLOW = { timeout: 60_000 };

/** Reads `connection` to its end; returns the seqs of the patterned messages, and how it ended. */
async function drain(connection: AsyncIterable<Uint8Array>): Promise<{ seqs: number[]; error?: unknown }> {
  const seqs: number[] = [];
  try {
    for await (const message of connection) seqs.push(checkPatterned(message));
  } catch (error) {
    return { seqs, error };
  }
  return { seqs };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Close, abort, timeouts, listener lifecycle. */
export function lifecycleCases(fixture: ConformanceFixture, ctx: () => Context): void {
  describe("close and abort", () => {
    for (const side of ["client", "server"] as const) {
      it(`delivers everything sent before the ${side} closes, and both ends settle`, SLOW, async () => {
        const ends = await pair(ctx());
        const closer = ends[side];
        const other = side === "client" ? ends.server : ends.client;
        const reading = drain(other);
        for (let seq = 0; seq < 300; seq++) await closer.send(patterned(seq, seq % 2 === 0 ? 100 : 30_000));
        const closing = closer.close({ timeout: 20_000 });
        const { seqs, error } = await reading;
        expect(error).toBeUndefined();
        expect(seqs).toEqual(range(300));
        await closing;
        await expect(closer.closed).resolves.toBeUndefined();
        await expect(other.closed).resolves.toBeUndefined();
        expect((await rejection(other.send(new Uint8Array(1)))).code).toBe("IPC_ERR_CLOSED");
        expect((await rejection(closer.send(new Uint8Array(1)))).code).toBe("IPC_ERR_CLOSED");
      });
    }

    for (const side of ["client", "server"] as const) {
      it(`settles both ends when the ${side} closes while the other waits with everything read`, SLOW, async () => {
        const ends = await pair(ctx());
        const closer = ends[side];
        const other = side === "client" ? ends.server : ends.client;
        const received: number[] = [];
        let delivered!: () => void;
        const first = new Promise<void>((resolve) => (delivered = resolve));
        const reading = (async () => {
          for await (const message of other) {
            received.push(checkPatterned(message));
            delivered();
          }
        })();
        await closer.send(patterned(7, 10));
        await first;
        // Let the other end go idle waiting for more (asleep, on transports that sleep): the close must
        // wake it. A pause for the scenario, not a measurement.
        await new Promise((resolve) => setTimeout(resolve, 50));
        await closer.close({ timeout: 20_000 });
        await reading;
        expect(received).toEqual([7]);
        await expect(closer.closed).resolves.toBeUndefined();
        await expect(other.closed).resolves.toBeUndefined();
      });
    }

    it("close() with an already-aborted signal ends the connection at once, and nothing is left unhandled", async () => {
      const { client, server } = await pair(ctx());
      const reason = new Error("gave up");
      await client.close({ signal: AbortSignal.abort(reason) });
      // A close that could not wait: aborted — unless it had nothing to wait for (an in-process peer).
      const ended = await client.closed.then(
        () => undefined,
        (error: unknown) => error as { code?: string },
      );
      if (ended !== undefined) expect(ended.code).toBe("IPC_ERR_ABORTED");
      expect((await rejection(client.send(new Uint8Array(1)))).code).toBeDefined();
      // The peer sees the connection end, cleanly or with an error, but is not left hanging.
      await server.closed.catch(() => undefined);
    });

    const noHalfClose = fixture.capabilities.halfClose === false;
    it.skipIf(noHalfClose)(
      `loses nothing when one end closes while the other is sending${lacking(noHalfClose, "this end stops receiving once it closes (capabilities.halfClose)")}`,
      SLOW,
      async () => {
        const { client, server } = await pair(ctx());
        let accepted = 0;
        const writer = (async () => {
          for (;;) {
            try {
              await server.send(patterned(accepted, 1000));
            } catch (error) {
              return error as { code?: string };
            }
            accepted++;
          }
        })();
        const first = await client.receive({ timeout: 10_000 });
        expect(checkPatterned(first!)).toBe(0);
        const closing = client.close({ timeout: 20_000 });
        const { seqs, error } = await drain(client);
        const writerError = await writer;
        await closing;
        expect(error).toBeUndefined();
        expect(writerError.code).toBe("IPC_ERR_CLOSED");
        // Every send the writer saw accepted arrived, in order, after the first one.
        expect([0, ...seqs]).toEqual(range(accepted));
        await expect(server.closed).resolves.toBeUndefined();
        await expect(client.closed).resolves.toBeUndefined();
      },
    );

    it("abort() fails this end at once and the peer sees the connection end", async () => {
      const { client, server } = await pair(ctx());
      const waiting = client.receive();
      const reason = new Error("enough");
      client.abort(reason);
      expect(await rejection(waiting)).toBe(reason);
      expect(await rejection(client.closed)).toBe(reason);
      expect(await rejection(client.receive())).toBe(reason);
      expect(await rejection(client.send(new Uint8Array(1)))).toBe(reason);
      // The peer's reading ends (cleanly or with a reset, as the transport can tell) and it settles.
      const { error } = await drain(server);
      if (error !== undefined) expect((error as { code?: string }).code).toBe("IPC_ERR_CONNECTION_RESET");
      await server.closed.catch(() => undefined);
    });

    it("abort() without a reason rejects with AbortError", async () => {
      const { client } = await pair(ctx());
      client.abort();
      expect((await rejection(client.closed)).code).toBe("IPC_ERR_ABORTED");
    });

    it("double close, abort after close, and listener double close are harmless", async () => {
      const c = ctx();
      const { listener, client, server } = await pair(c);
      await Promise.all([client.close({ timeout: 10_000 }), client.close({ timeout: 10_000 }), server.close({ timeout: 10_000 })]);
      client.abort();
      server.abort(new Error("late"));
      await expect(client.closed).resolves.toBeUndefined();
      await expect(server.closed).resolves.toBeUndefined();
      await listener.close();
      await listener.close();
    });

    it("await using closes a connection at the end of its scope", async () => {
      const c = ctx();
      const listener = await listen(c);
      const accepting = listener.accept({ timeout: 10_000 });
      let kept: { closed: Promise<void> } | undefined;
      {
        await using client = await c.fixture.connect(listener.address);
        kept = client;
        await client.send(patterned(1, 10));
      }
      const server = c.resources.connection((await accepting)!);
      expect(checkPatterned((await server.receive({ timeout: 10_000 }))!)).toBe(1);
      expect(await server.receive({ timeout: 10_000 })).toBeUndefined();
      await expect(kept.closed).resolves.toBeUndefined();
    });
  });

  describe("timeouts and cancellation", () => {
    it("receive({ timeout }) rejects with TimeoutError and leaves the connection usable", async () => {
      const { client, server } = await pair(ctx());
      const error = await rejection(server.receive({ timeout: 20 }));
      expect(error.code).toBe("IPC_ERR_TIMEOUT");
      await client.send(patterned(5, 10));
      expect(checkPatterned((await server.receive({ timeout: 10_000 }))!)).toBe(5);
    });

    it("an AbortSignal aborts receive(), send() and connect() with AbortError carrying its reason", async () => {
      const c = ctx();
      const { listener, server } = await pair(c);
      const controller = new AbortController();
      const receiving = server.receive({ signal: controller.signal });
      controller.abort(new Error("user gave up"));
      const error = await rejection(receiving);
      expect(error.code).toBe("IPC_ERR_ABORTED");
      expect((error.cause as Error).message).toBe("user gave up");
      expect((await rejection(server.send(new Uint8Array(1), { signal: controller.signal }))).code).toBe("IPC_ERR_ABORTED");
      expect((await rejection(c.fixture.connect(listener.address, { signal: controller.signal }))).code).toBe("IPC_ERR_ABORTED");
    });

    const unresponsive = fixture.capabilities.unresponsiveAddress;
    it.skipIf(unresponsive === undefined)(
      `connect({ timeout }) to an unresponsive listener rejects with TimeoutError${lacking(
        unresponsive === undefined,
        "the transport has no listener that leaves connect() waiting (capabilities.unresponsiveAddress)",
      )}`,
      async () => {
        const c = ctx();
        const target = await unresponsive!();
        c.resources.cleanup(() => target.close());
        const error = await rejection(c.fixture.connect(target.address, { timeout: 100 }));
        expect(error.code).toBe("IPC_ERR_TIMEOUT");
      },
    );
  });

  describe("listeners", () => {
    it("connect() to an address nobody listens on rejects with ConnectionRefusedError", async () => {
      const c = ctx();
      const error = await rejection(c.fixture.connect(await c.fixture.address(), { timeout: 10_000 }));
      expect(error.code).toBe("IPC_ERR_CONNECTION_REFUSED");
    });

    it("listen() on an address in use rejects with AddressInUseError", async () => {
      const c = ctx();
      const listener = await listen(c);
      const error = await rejection(c.fixture.listen(listener.address));
      expect(error.code).toBe("IPC_ERR_ADDRESS_IN_USE");
    });

    it("close() ends iteration and refuses new clients; connections handed out stay open", async () => {
      const c = ctx();
      const listener = await listen(c);
      serveEcho(c, listener);
      const client = await connect(c, listener);
      await client.send(patterned(1, 10));
      expect(checkPatterned((await client.receive({ timeout: 10_000 }))!)).toBe(1);
      await listener.close();
      expect(await listener.accept()).toBeUndefined();
      const error = await rejection(c.fixture.connect(listener.address, { timeout: 10_000 }));
      expect(error.code).toBe("IPC_ERR_CONNECTION_REFUSED");
      await client.send(patterned(2, 10));
      expect(checkPatterned((await client.receive({ timeout: 10_000 }))!)).toBe(2);
    });
  });
}
