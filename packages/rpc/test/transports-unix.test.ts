import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, listen } from "@ipc/unix";
import { afterAll } from "vitest";
import { runRpcConformance } from "./conformance/index.js";
import { WORKER_MODULE, spawnConnectingWorker } from "./fixtures/spawn-worker.js";

const dir = mkdtempSync(join(tmpdir(), "ipc-rpc-unix-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

runRpcConformance({
  name: "@ipc/unix",
  address: () => `unix://${join(dir, `s${++serial}.sock`)}`,
  listen,
  connect,
  worker: {
    module: WORKER_MODULE,
    spawn: async (command) => spawnConnectingWorker(await listen(`unix://${join(dir, `w${++serial}.sock`)}`), command),
  },
});
