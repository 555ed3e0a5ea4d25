import { join } from "node:path";
import { connect, listen } from "@ipc/tcp";
import { makeCertificates } from "@ipc/testing";
import { afterAll } from "vitest";
import { runRpcConformance } from "./conformance/index.js";
import { WORKER_MODULE, spawnConnectingWorker } from "./fixtures/spawn-worker.js";

// Port 0: the listener picks a free port and reports it in listener.address, which the suite connects to.
const ANY_PORT = "tcp://127.0.0.1:0";

runRpcConformance({
  name: "@ipc/tcp",
  address: () => ANY_PORT,
  listen,
  connect,
  worker: {
    module: WORKER_MODULE,
    spawn: async (command) => spawnConnectingWorker(await listen(ANY_PORT), command),
  },
});

const certs = makeCertificates();
afterAll(() => certs.remove());
const clientTls = { ca: certs.ca, servername: "localhost" };

runRpcConformance({
  name: "@ipc/tcp over TLS",
  address: () => ANY_PORT,
  listen: (address, options) => listen(address, { ...options, tls: certs.server }),
  connect: (address, options) => connect(address, { ...options, tls: clientTls }),
  worker: {
    module: WORKER_MODULE,
    spawn: async (command) => spawnConnectingWorker(await listen(ANY_PORT, { tls: certs.server }), command, { IPC_RPC_WORKER_CA: join(certs.dir, "ca.pem") }),
  },
});
