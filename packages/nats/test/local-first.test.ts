import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Connection } from "@ipc/core";
import * as shm from "@ipc/shm";
import * as unix from "@ipc/unix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectService, localHostId, serveLocalFirst, type LocalFirstServer } from "../src/index.js";
import { Calculator } from "./fixtures/calculator.js";
import { natsServerMissing, startNatsServer, type NatsServer } from "@ipc/testing";

const skip = natsServerMissing !== undefined;
const why = skip ? ` (skipped: ${natsServerMissing})` : "";

/** Opens a local address of either scheme, as @ipc/kit's connect() would. */
function connectLocal(address: string, options: { timeout?: number | undefined }): Promise<Connection> {
  return address.startsWith("shm:") ? shm.connect(address, options) : unix.connect(address, options);
}

const implementation = {
  add: ({ a, b }: { a: number; b: number }) => ({ value: a + b }),
  who: () => ({ pid: process.pid, name: "local-first" }),
};

describe.skipIf(skip)(`local first: the same client code on this machine and through NATS${why}`, () => {
  let nats: NatsServer;
  let serverConnection: NatsConnection;
  let clientConnection: NatsConnection;
  let service: LocalFirstServer;
  const dir = mkdtempSync(join(tmpdir(), "ipc-nats-local-"));
  const shmName = `ipc-nats-test-${process.pid}`;

  beforeAll(async () => {
    nats = await startNatsServer();
    [serverConnection, clientConnection] = await Promise.all([connect({ servers: nats.url }), connect({ servers: nats.url })]);
    const listeners = [await unix.listen(join(dir, "calc.sock")), await shm.listen(`shm://${shmName}`)];
    service = serveLocalFirst(serverConnection, Calculator, implementation as never, { listeners });
    await serverConnection.flush();
  });

  afterAll(async () => {
    await service?.close({ timeout: 5000 });
    await Promise.all([serverConnection?.close(), clientConnection?.close()]);
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("announces its local endpoints, fastest first", () => {
    expect(service.endpoints).toEqual([`shm://${shmName}`, `unix://${join(dir, "calc.sock")}`]);
  });

  it("a client on this machine calls over the fastest local endpoint", async () => {
    await using client = await connectService(clientConnection, Calculator, { connect: connectLocal, timeout: 10_000 });
    expect(client.route).toEqual({ kind: "local", address: `shm://${shmName}` });
    expect(await client.add({ a: 19, b: 23 }, { timeout: 10_000 })).toEqual({ value: 42 });
  });

  it("preferring Unix sockets picks the socket", async () => {
    await using client = await connectService(clientConnection, Calculator, { connect: connectLocal, prefer: ["unix"] });
    expect(client.route).toMatchObject({ kind: "local", address: `unix://${join(dir, "calc.sock")}` });
    expect(await client.add({ a: 1, b: 2 })).toEqual({ value: 3 });
  });

  it("a client on another machine (another host id) calls over NATS, with the same code", async () => {
    expect(localHostId()).toMatch(/^[0-9a-f]{16}$/);
    await using client = await connectService(clientConnection, Calculator, { connect: connectLocal, host: "elsewhere" });
    expect(client.route.kind).toBe("nats");
    expect(await client.add({ a: 19, b: 23 }, { timeout: 10_000 })).toEqual({ value: 42 });
    expect(service.nats.stats().callsReceived).toBeGreaterThan(0);
  });

  it("a local endpoint that cannot be opened falls back to the next, then to NATS", async () => {
    const failing = (): Promise<Connection> => Promise.reject(new Error("no such transport here"));
    await using client = await connectService(clientConnection, Calculator, { connect: failing });
    expect(client.route.kind).toBe("nats");
    expect((client.route as { why: string }).why).toContain("no such transport here");
    expect(await client.add({ a: 2, b: 2 })).toEqual({ value: 4 });
  });
});
