import { connect, listen } from "@ipc/shm";
import { runRpcConformance } from "./conformance/index.js";
import { WORKER_MODULE, spawnConnectingWorker } from "./fixtures/spawn-worker.js";

let serial = 0;
const address = (): string => `shm://rpc-${process.pid}-${++serial}`;

runRpcConformance({
  name: "@ipc/shm",
  address,
  listen,
  connect,
  worker: {
    module: WORKER_MODULE,
    spawn: async (command) => spawnConnectingWorker(await listen(address()), command),
  },
});
