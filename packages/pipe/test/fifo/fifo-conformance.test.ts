import { closeSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as channels from "@ipc/channels";
import { runConformance } from "@ipc/conformance";
import { fifoTransport, mkfifo, openFifoReader } from "../../src/index.js";
import { connectRaw } from "../fixtures/fifo-client.mjs";
import { fixture, tempDir } from "../helpers.js";

const dir = tempDir("fifo-conformance");
let serial = 0;

runConformance({
  name: "fifo: (a pair of FIFOs per connection)",
  address: () => `fifo://${join(dir, `f${++serial}`)}`,
  listen: (address, options) => fifoTransport.listen(address, options),
  connect: (address, options) => fifoTransport.connect(address, options),
  channels,
  capabilities: {
    // Nothing tells a FIFO's reader who the writer is.
    peerCredentials: false,
    views: true,
    crossProcess: { module: fixture("fifo-client.mjs") },
    rawConnect: connectRaw,
    // A "listener" that has .in open but never answers the greeting.
    unresponsiveAddress: async () => {
      const path = join(dir, `u${++serial}`);
      mkfifo(`${path}.in`);
      mkfifo(`${path}.out`);
      closeSync(openSync(`${path}.lock`, "w"));
      const reader = openFifoReader(`${path}.in`);
      return {
        address: `fifo://${path}`,
        close: async () => {
          reader.destroy();
          for (const suffix of [".in", ".out", ".lock"]) rmSync(`${path}${suffix}`, { force: true });
        },
      };
    },
  },
});
