/**
 * The diagnostics channels of @ipc/pipe's transports (packages/core/README.md, "Observability"): `pipe:` and
 * `fifo:` publish their connects, and their listeners their accepts, for real child processes and FIFOs.
 */
import { join } from "node:path";
import { subscribeDiagnostics, type ConnectMessage, type AcceptMessage } from "@ipc/core";
import { afterEach, describe, expect, it } from "vitest";
import { fifoTransport, pipeTransport } from "../src/index.js";
import { tempDir } from "./helpers.js";

const dir = tempDir("diagnostics");
const unsubscribes: (() => void)[] = [];
afterEach(() => {
  for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
});

function collect() {
  const connects: ConnectMessage[] = [];
  const accepts: AcceptMessage[] = [];
  unsubscribes.push(subscribeDiagnostics("ipc:connection:connect", (m) => connects.push(m)));
  unsubscribes.push(subscribeDiagnostics("ipc:connection:accept", (m) => accepts.push(m)));
  return { connects, accepts };
}

describe("diagnostics of pipe: and fifo:", () => {
  it("pipe: publishes ipc:connection:connect with the child's connection and the address", async () => {
    const { connects } = collect();
    const connection = await pipeTransport.connect("pipe:cat");
    try {
      expect(connects.filter((m) => m.connection === connection)).toEqual([{ connection, address: "pipe:cat" }]);
    } finally {
      await connection.close({ timeout: 10_000 });
    }
  });

  it("fifo: publishes the client's connect and the listener's accept", async () => {
    const { connects, accepts } = collect();
    const address = `fifo://${join(dir, "observed")}`;
    const listener = await fifoTransport.listen(address);
    try {
      const client = await fifoTransport.connect(address, { timeout: 10_000 });
      const server = (await listener.accept({ timeout: 10_000 }))!;
      expect(connects.filter((m) => m.connection === client)).toEqual([{ connection: client, address }]);
      expect(accepts.filter((m) => m.connection === server)).toEqual([{ connection: server, address, listener }]);
      client.abort();
      server.abort();
    } finally {
      await listener.close();
    }
  });
});
