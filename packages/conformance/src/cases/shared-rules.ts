import { describe, expect, it } from "vitest";
import type { ConformanceFixture } from "../fixture.js";
import { checkPatterned, lacking, listen, patterned, rejection, type Context } from "../harness.js";
import { kinds, type Ends } from "../kinds.js";

const WAIT = { timeout: 10_000 };

/**
 * The rules every Connection shares, whatever carries it (`@ipc/core/transport`'s ConnectionBase writes them
 * once): on the transport's connections, and on the channel layers' mux streams and reliable sessions over them.
 */
export function sharedRuleCases(fixture: ConformanceFixture, ctx: () => Context): void {
  for (const kind of kinds(fixture)) {
    const test = (name: string, fn: (ends: Ends) => Promise<void>): void =>
      void it.skipIf(kind.missing !== undefined)(`${name}${lacking(kind.missing !== undefined, kind.missing ?? "")}`, async () => fn(await kind.make(ctx())));

    describe(`shared rules: ${kind.name}`, () => {
      test("send() with an already-aborted signal rejects with AbortError and withdraws the message", async ({ a, b }) => {
        const reason = new Error("not this one");
        const error = await rejection(a.send(patterned(1, 10), { signal: AbortSignal.abort(reason) }));
        expect(error.code).toBe("IPC_ERR_ABORTED");
        expect(error.cause).toBe(reason);
        await a.send(patterned(2, 10));
        expect(checkPatterned((await b.receive(WAIT))!)).toBe(2);
      });

      test("receive() with an already-aborted signal rejects with AbortError and leaves the next message", async ({ a, b }) => {
        await a.send(patterned(1, 10));
        const error = await rejection(b.receive({ signal: AbortSignal.abort(new Error("not now")) }));
        expect(error.code).toBe("IPC_ERR_ABORTED");
        expect(checkPatterned((await b.receive(WAIT))!)).toBe(1);
      });

      test("send() of something other than a Uint8Array rejects with InvalidArgumentError", async ({ a, b }) => {
        for (const wrong of ["text", [1, 2], new ArrayBuffer(4), undefined, null]) {
          let sending: Promise<void>;
          try {
            sending = a.send(wrong as unknown as Uint8Array);
          } catch (error) {
            throw new Error(`send(${String(wrong)}) threw instead of rejecting: ${String(error)}`);
          }
          expect((await rejection(sending)).code).toBe("IPC_ERR_INVALID_ARGUMENT");
        }
        await a.send(patterned(3, 10));
        expect(checkPatterned((await b.receive(WAIT))!)).toBe(3);
      });

      test("send() over maxMessageSize rejects with MessageTooLargeError and the connection stays usable", async ({ a, b }) => {
        const error = await rejection(a.send(new Uint8Array(a.maxMessageSize + 1)));
        expect(error.code).toBe("IPC_ERR_MESSAGE_TOO_LARGE");
        await a.send(patterned(4, 10));
        expect(checkPatterned((await b.receive(WAIT))!)).toBe(4);
      });

      test("send() after this side's close() rejects with ClosedError saying this side closed it", async ({ a, b }) => {
        const closing = a.close(WAIT);
        const error = await rejection(a.send(new Uint8Array(1)));
        expect(error.code).toBe("IPC_ERR_CLOSED");
        expect(error.message).toMatch(/closed by this side/);
        expect(await b.receive(WAIT)).toBeUndefined();
        await closing;
        await expect(a.closed).resolves.toBeUndefined();
        expect((await rejection(a.send(new Uint8Array(1)))).message).toMatch(/closed by this side/);
      });

      test("send() after the peer closed rejects with ClosedError saying the peer closed it", async ({ a, b }) => {
        const closing = b.close(WAIT);
        expect(await a.receive(WAIT)).toBeUndefined();
        await expect(a.closed).resolves.toBeUndefined();
        await closing;
        const error = await rejection(a.send(new Uint8Array(1)));
        expect(error.code).toBe("IPC_ERR_CLOSED");
        expect(error.message).toMatch(/closed by the peer/);
      });

      test("send() and receive() after abort(reason) reject with the reason; closed rejects with it", async ({ a }) => {
        const reason = new Error("stop");
        a.abort(reason);
        expect(await rejection(a.send(new Uint8Array(1)))).toBe(reason);
        expect(await rejection(a.receive())).toBe(reason);
        expect(await rejection(a.closed)).toBe(reason);
      });

      test("abort() without a reason fails with AbortError; the peer's closed settles", async ({ a, b }) => {
        a.abort();
        expect((await rejection(a.send(new Uint8Array(1)))).code).toBe("IPC_ERR_ABORTED");
        expect((await rejection(a.closed)).code).toBe("IPC_ERR_ABORTED");
        await b.closed.catch(() => undefined);
      });

      test("close() twice, abort() twice, and abort() after close() are harmless", async ({ a, b }) => {
        await Promise.all([a.close(WAIT), a.close(WAIT), b.close(WAIT)]);
        await a.close(WAIT);
        a.abort();
        a.abort(new Error("late"));
        await expect(a.closed).resolves.toBeUndefined();
        const failing = await kind.make(ctx());
        failing.a.abort(new Error("first"));
        failing.a.abort(new Error("second"));
        expect((await rejection(failing.a.closed)).message).toBe("first");
      });

      test("a closed nobody awaits never becomes an unhandled rejection", async ({ a }) => {
        a.abort(new Error("nobody is listening"));
        // An unhandled rejection would surface (and fail the run) once this turn's microtasks are done.
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
      });

      test("[Symbol.asyncDispose] closes gracefully: the peer reads to the end and closed resolves", async ({ a, b }) => {
        await a.send(patterned(5, 10));
        await a[Symbol.asyncDispose]();
        expect(checkPatterned((await b.receive(WAIT))!)).toBe(5);
        expect(await b.receive(WAIT)).toBeUndefined();
        await expect(a.closed).resolves.toBeUndefined();
      });
    });
  }

  describe("shared rules: listeners", () => {
    it("accept() with an already-aborted signal rejects with AbortError; the connection waits for the next accept()", async () => {
      const c = ctx();
      const listener = await listen(c);
      const client = c.resources.connection(await c.fixture.connect(listener.address, WAIT));
      const error = await rejection(listener.accept({ signal: AbortSignal.abort() }));
      expect(error.code).toBe("IPC_ERR_ABORTED");
      const server = c.resources.connection((await listener.accept(WAIT))!);
      await client.send(patterned(6, 10));
      expect(checkPatterned((await server.receive(WAIT))!)).toBe(6);
    });

    it("close() twice and [Symbol.asyncDispose] are harmless; accept() then resolves undefined", async () => {
      const c = ctx();
      const listener = await listen(c);
      await Promise.all([listener.close(), listener.close()]);
      await listener[Symbol.asyncDispose]();
      expect(await listener.accept(WAIT)).toBeUndefined();
    });
  });
}
