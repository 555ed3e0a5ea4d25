import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { memoryTransport } from "@ipc/core";
import { framed } from "@ipc/framing";
import { runRpcConformance } from "./conformance/index.js";

// The real transports (@ipc/unix, @ipc/tcp, @ipc/shm, @ipc/pipe) run the suite in transports-*.test.ts.
let serial = 0;
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

runRpcConformance({
  name: "memory transport",
  address: () => `memory://rpc-conformance-${++serial}`,
  listen: (address, options) => memoryTransport.listen(address, options),
  connect: (address, options) => memoryTransport.connect(address, options),
});

runRpcConformance({
  name: "framed() over a child process's stdio",
  worker: {
    module: fixture("stdio-worker.mjs"),
    spawn: async (command) => {
      const child = spawn(command[0]!, command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
      return { connection: framed({ readable: child.stdout!, writable: child.stdin! }, { remoteAddress: "pipe:" }), child };
    },
  },
});
