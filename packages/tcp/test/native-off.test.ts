/**
 * @ipc/tcp with the native layer switched off (IPC_NATIVE=off), as on a platform without its system calls.
 * Runs in the "native-off" test project only (see the root vitest.config.ts): TCP and TLS work through
 * node:net and node:tls; socket buffer sizes, which Node cannot set on a TCP socket, fail with
 * UnsupportedError, and the settings read back are those Node set.
 */
import type { Connection, Listener } from "@ipc/core";
import { isSwitchedOff } from "@ipc/native";
import { makeCertificates, type Certificates } from "@ipc/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, listen, type TcpConnection } from "../src/index.js";

const open: (Listener | Connection)[] = [];
const keep = <T extends Listener | Connection>(thing: T): T => (open.push(thing), thing);
afterEach(async () => {
  for (const thing of open.splice(0)) {
    if ("abort" in thing) thing.abort();
    else await thing.close();
  }
});

async function roundTrip(client: Connection, server: Connection): Promise<void> {
  const large = Buffer.alloc(1 << 20, "0123456789abcdef");
  await client.send(large);
  expect(large.equals((await server.receive({ timeout: 10_000 }))!)).toBe(true); // not toEqual: seconds for 1 MiB
  await server.send(new TextEncoder().encode("back"));
  expect(new TextDecoder().decode(await client.receive({ timeout: 10_000 }))).toBe("back");
}

describe.runIf(isSwitchedOff())("@ipc/tcp without native calls", () => {
  it("connects both ways with large messages; the settings are Node's, without buffer sizes", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    const client = keep(await connect(listener.address, { timeout: 10_000, noDelay: false }));
    const server = keep((await listener.accept({ timeout: 10_000 }))!) as TcpConnection;
    await roundTrip(client, server);
    expect(client.socket).toEqual({ noDelay: false, keepAlive: true, sendBufferSize: undefined, receiveBufferSize: undefined });
    expect(server.socket).toEqual({ noDelay: true, keepAlive: true, sendBufferSize: undefined, receiveBufferSize: undefined });
  });

  it("buffer sizes are an UnsupportedError naming the feature, on both sides", async () => {
    await expect(listen("tcp://127.0.0.1:0", { sendBufferSize: 65_536 })).rejects.toMatchObject({
      code: "IPC_ERR_UNSUPPORTED",
      feature: "tcp.bufferSizes",
    });
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    await expect(connect(listener.address, { receiveBufferSize: 65_536 })).rejects.toMatchObject({
      code: "IPC_ERR_UNSUPPORTED",
      feature: "tcp.bufferSizes",
      message: expect.stringMatching(/IPC_NATIVE=off/),
    });
  });

  describe("TLS", () => {
    let certs: Certificates;
    beforeAll(() => {
      certs = makeCertificates();
    });
    afterAll(() => certs?.remove());

    it("works as with native calls", async () => {
      const listener = keep(await listen("tcp://127.0.0.1:0", { tls: certs.server }));
      const client = keep(await connect(listener.address, { timeout: 10_000, tls: { ca: certs.ca, servername: "localhost" } }));
      const server = keep((await listener.accept({ timeout: 10_000 }))!);
      await roundTrip(client, server);
    });
  });
});
