/**
 * The diagnostics channels over TCP on loopback (packages/core/README.md, "Observability"): connect, accept,
 * and a refusal by `maxConnections`, named on both sides — with the refused client's address on the listener's.
 */
import type { Connection, Listener } from "@ipc/core";
import { subscribeDiagnostics, type CloseMessage, type ConnectMessage, type RefuseMessage } from "@ipc/core";
import { afterEach, describe, expect, it } from "vitest";
import { connect, listen } from "../src/index.js";

const open: (Listener | Connection)[] = [];
const unsubscribes: (() => void)[] = [];
const keep = <T extends Listener | Connection>(thing: T): T => (open.push(thing), thing);
afterEach(async () => {
  for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
  for (const thing of open.splice(0)) {
    if ("abort" in thing) thing.abort();
    else await thing.close();
  }
});

describe("diagnostics over TCP", () => {
  it("publishes the connect and accept of a client, and a refusal by maxConnections on both sides", async () => {
    const connects: ConnectMessage[] = [];
    const refusals: RefuseMessage[] = [];
    const closes: CloseMessage[] = [];
    unsubscribes.push(subscribeDiagnostics("ipc:connection:connect", (m) => connects.push(m)));
    unsubscribes.push(subscribeDiagnostics("ipc:connection:refuse", (m) => refusals.push(m)));
    unsubscribes.push(subscribeDiagnostics("ipc:connection:close", (m) => closes.push(m)));
    const listener = keep(await listen("tcp://127.0.0.1:0", { maxConnections: 1 }));
    const first = keep(await connect(listener.address, { timeout: 10_000 }));
    keep((await listener.accept({ timeout: 10_000 }))!);
    expect(connects.filter((m) => m.connection === first)).toEqual([{ connection: first, address: listener.address }]);

    const refused = await connect(listener.address, { timeout: 10_000 }).catch((error: Error) => error);
    expect(refused).toMatchObject({ code: "IPC_ERR_CONNECTION_REFUSED" });
    const byListener = refusals.find((m) => m.side === "listener");
    expect(byListener).toMatchObject({ address: listener.address, reason: "the listener serves its maximum of 1 connections", peer: undefined });
    expect(byListener?.remoteAddress).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const byClient = refusals.find((m) => m.side === "client");
    expect(byClient).toMatchObject({ address: listener.address, error: refused });
    expect(closes.find((m) => m.error === refused)?.reason).toBe("refused");
  });
});
