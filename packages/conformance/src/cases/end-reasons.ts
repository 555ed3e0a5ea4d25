/**
 * How a connection ended is visible the same way on every transport (docs/wire.md §2.4 for streams): a clean
 * close is the end of the messages; an abort is a `ConnectionResetError` saying the peer aborted, after the
 * messages already received; a message over the receiver's `maxMessageSize` fails the receiver with
 * `FrameTooLargeError` and tells the sender why.
 */
import { describe, expect, it } from "vitest";
import type { Connection } from "@ipc/core";
import type { ConformanceFixture } from "../fixture.js";
import { checkPatterned, connect, listen, patterned, rejection, type Context } from "../harness.js";

/** The message and the causes' messages of `error`, joined: where a reason may be said. */
function said(error: Error): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.join(" / ");
}

async function receiveAll(connection: Connection, count: number): Promise<void> {
  for (let i = 0; i < count; i++) expect(checkPatterned((await connection.receive({ timeout: 10_000 }))!)).toBe(i);
}

export function endReasonCases(_fixture: ConformanceFixture, ctx: () => Context): void {
  describe("how a connection ended", () => {
    it("a peer's clean close: receive() returns undefined after every message, and closed resolves", async () => {
      const c = ctx();
      const listener = await listen(c);
      const client = await connect(c, listener, { timeout: 10_000 });
      const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
      for (let i = 0; i < 3; i++) await server.send(patterned(i, 100));
      const closing = server.close();
      await receiveAll(client, 3);
      expect(await client.receive({ timeout: 10_000 })).toBeUndefined();
      await client.close();
      await closing;
      await expect(client.closed).resolves.toBeUndefined();
      await expect(server.closed).resolves.toBeUndefined();
    });

    for (const side of ["server", "client"] as const) {
      it(`a peer's abort() (the ${side}): after the messages received, receive() and closed reject with ConnectionResetError saying the peer aborted`, async () => {
        const c = ctx();
        const listener = await listen(c);
        const client = await connect(c, listener, { timeout: 10_000 });
        const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
        const [aborting, other] = side === "server" ? [server, client] : [client, server];
        for (let i = 0; i < 3; i++) await aborting.send(patterned(i, 100));
        // The messages arrive before the abort: the other end says so, then the abort follows.
        await receiveAll(other, 3);
        await other.send(patterned(99, 10));
        expect(checkPatterned((await aborting.receive({ timeout: 10_000 }))!)).toBe(99);
        aborting.abort(new Error("stopped by the test"));
        const error = await rejection(other.receive({ timeout: 10_000 }));
        expect(error.code).toBe("IPC_ERR_CONNECTION_RESET");
        expect(said(error)).toMatch(/aborted/);
        const closed = await rejection(other.closed);
        expect(closed.code).toBe("IPC_ERR_CONNECTION_RESET");
      });
    }

    it("a message over the receiver's maxMessageSize: the receiver fails with FrameTooLargeError, and the sender is told why", async () => {
      const c = ctx();
      const listener = await listen(c, { maxMessageSize: 1000 });
      const client = await connect(c, listener, { timeout: 10_000, maxMessageSize: 1 << 20 });
      const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
      await client.send(patterned(1, 100));
      await client.send(patterned(2, 5000));
      expect(checkPatterned((await server.receive({ timeout: 10_000 }))!)).toBe(1);
      const refused = await rejection(server.receive({ timeout: 10_000 }));
      expect(refused.code).toBe("IPC_ERR_FRAME_TOO_LARGE");
      // The sender learns it from its connection: its receive() and closed fail with the reason.
      const told = await rejection(client.receive({ timeout: 10_000 }));
      expect(told.code).toBe("IPC_ERR_CONNECTION_RESET");
      expect(said(told)).toMatch(/maxMessageSize/);
      expect(said(told)).toMatch(/5000/);
      expect(said(told)).toMatch(/1000/);
      expect((await rejection(client.closed)).code).toBe("IPC_ERR_CONNECTION_RESET");
      const late = await rejection(client.send(patterned(3, 10)));
      expect(late.code).toBe("IPC_ERR_CONNECTION_RESET");
    });
  });
}
