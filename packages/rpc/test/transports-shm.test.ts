import { runRpcConformance } from "@ipc/conformance/rpc";
import { connect, listen } from "@ipc/shm";
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
