import { fileURLToPath } from "node:url";
import * as channels from "@ipc/channels";
import { runConformance } from "@ipc/conformance";
import { describe, expect, it } from "vitest";
import * as unix from "@ipc/unix";
import { connect, listen } from "../src/index.js";

let serial = 0;
const address = (): string => `shm://conformance-${process.pid}-${++serial}`;

runConformance({
  name: "shm",
  address,
  listen,
  connect,
  channels,
  capabilities: {
    peerCredentials: true,
    views: true,
    crossProcess: { module: fileURLToPath(new URL("./fixtures/peer.mjs", import.meta.url)) },
    // A rendezvous that accepts the client and never offers a segment: connect() waits for the offer.
    unresponsiveAddress: async () => {
      const url = address();
      const rendezvous = await unix.listen(`unix-abstract:ipc-shm/${url.slice("shm://".length)}`);
      const held: unix.Connection[] = [];
      void (async () => {
        for await (const connection of rendezvous) held.push(connection);
      })();
      return {
        address: url,
        close: async () => {
          for (const c of held) c.abort();
          await rendezvous.close();
        },
      };
    },
  },
});

describe("shm transport errors", () => {
  it("a connect to a name nobody listens on fails with ConnectionRefusedError naming the shm URL", async () => {
    const url = address();
    const error: unknown = await connect(url, { timeout: 10_000 }).then(
      (connection) => (connection.abort(), undefined),
      (reason: unknown) => reason,
    );
    expect(error).toMatchObject({ code: "IPC_ERR_CONNECTION_REFUSED", message: expect.stringContaining(`connect to ${url}: nothing is listening`) });
  });
});
