import { once } from "node:events";
import type { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import type { ConformanceFixture } from "../fixture.js";
import { checkPatterned, connect, lacking, listen, patterned, rejection, serveEcho, type Context } from "../harness.js";
import { rawFrame } from "./raw.js";

async function write(stream: Duplex, bytes: Uint8Array): Promise<void> {
  if (!stream.write(bytes)) await once(stream, "drain");
}

/** Resolves when the other side has closed `stream` (cleanly or not). */
function shutDown(stream: Duplex): Promise<void> {
  if (stream.destroyed || stream.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    stream
      .once("end", resolve)
      .once("close", resolve)
      .once("error", () => resolve());
    stream.resume();
  });
}

/** Bad bytes from a peer: the offending connection fails with a typed error, nothing else is touched. */
export function faultCases(fixture: ConformanceFixture, ctx: () => Context): void {
  const raw = fixture.capabilities.rawConnect;
  const why = "the transport has no byte stream to corrupt (capabilities.rawConnect)";

  describe("bad input from a peer", () => {
    async function bystander(c: Context, address: string): Promise<void> {
      const client = c.resources.connection(await c.fixture.connect(address, { timeout: 10_000 }));
      await client.send(patterned(42, 100));
      expect(checkPatterned((await client.receive({ timeout: 10_000 }))!)).toBe(42);
    }

    it.skipIf(raw === undefined)(
      `a frame longer than maxMessageSize fails that connection with FrameTooLargeError after the frames before it${lacking(raw === undefined, why)}`,
      async () => {
        const c = ctx();
        const listener = await listen(c);
        const rawSocket = await raw!(listener.address);
        c.resources.cleanup(() => rawSocket.destroy());
        const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
        serveEcho(c, listener);
        const header = Buffer.alloc(4);
        header.writeUInt32BE(0xffff_fff0, 0);
        await write(rawSocket, Buffer.concat([rawFrame(patterned(1, 10)), rawFrame(patterned(2, 20)), header]));
        expect(checkPatterned((await server.receive({ timeout: 10_000 }))!)).toBe(1);
        expect(checkPatterned((await server.receive({ timeout: 10_000 }))!)).toBe(2);
        const error = await rejection(server.receive({ timeout: 10_000 }));
        expect(error.code).toBe("IPC_ERR_FRAME_TOO_LARGE");
        expect(error.message).toMatch(/4294967280 bytes/);
        // The offender's socket is closed by the server.
        await shutDown(rawSocket);
        await bystander(c, listener.address);
      },
    );

    it.skipIf(raw === undefined)(
      `a stream that ends inside a frame fails with ProtocolError naming the missing bytes${lacking(raw === undefined, why)}`,
      async () => {
        const c = ctx();
        const listener = await listen(c);
        const rawSocket = await raw!(listener.address);
        c.resources.cleanup(() => rawSocket.destroy());
        const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
        serveEcho(c, listener);
        const partial = rawFrame(patterned(9, 100)).subarray(0, 4 + 10);
        await write(rawSocket, Buffer.concat([rawFrame(patterned(3, 30)), partial]));
        rawSocket.end();
        expect(checkPatterned((await server.receive({ timeout: 10_000 }))!)).toBe(3);
        const error = await rejection(server.receive({ timeout: 10_000 }));
        expect(error.code).toBe("IPC_ERR_PROTOCOL");
        expect(error.message).toMatch(/90 missing/);
        await bystander(c, listener.address);
      },
    );

    it.skipIf(raw === undefined)(
      `random garbage ends that connection with a typed error and leaves the others alone${lacking(raw === undefined, why)}`,
      async () => {
        const c = ctx();
        const listener = await listen(c);
        serveEcho(c, listener);
        const healthy = await connect(c, listener);
        // A deterministic pseudo-random stream (xorshift), so a failure can be replayed.
        let x = 0x2545f491;
        const garbage = Buffer.alloc(256 * 1024);
        for (let i = 0; i < garbage.length; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          garbage[i] = x & 0xff;
        }
        for (let round = 0; round < 5; round++) {
          const rawSocket = await raw!(listener.address);
          c.resources.cleanup(() => rawSocket.destroy());
          rawSocket.on("error", () => undefined);
          rawSocket.write(garbage.subarray(round * 1000));
          rawSocket.end();
          await shutDown(rawSocket);
          await healthy.send(patterned(round, 50));
          expect(checkPatterned((await healthy.receive({ timeout: 10_000 }))!)).toBe(round);
        }
      },
    );
  });
}
