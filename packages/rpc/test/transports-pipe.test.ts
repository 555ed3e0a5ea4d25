import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fifoTransport, spawnChannel } from "@ipc/pipe";
import { afterAll } from "vitest";
import { runRpcConformance } from "./conformance/index.js";

const dir = mkdtempSync(join(tmpdir(), "ipc-rpc-fifo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

runRpcConformance({
  name: "@ipc/pipe: spawnChannel() to a worker, fifo:// in this process",
  address: () => `fifo://${join(dir, `f${++serial}`)}`,
  listen: (address, options) => fifoTransport.listen(address, options),
  connect: (address, options) => fifoTransport.connect(address, options),
  worker: {
    // The child serves on parentChannel(): its stdin and stdout are the channel.
    module: new URL("./fixtures/pipe-worker.mjs", import.meta.url).pathname,
    spawn: async (command) => {
      const channel = await spawnChannel(command[0]!, command.slice(1), { timeout: 20_000 });
      return { connection: channel, child: channel };
    },
  },
});
