/**
 * The fault injector of @ipc/testing with no faults planned must be a conforming Connection itself (batch path
 * included): tests that wrap a connection in it then measure the faults, not the wrapper.
 */
import { memoryTransport } from "@ipc/core";
import { faultyConnection, faultyListener } from "@ipc/testing";
import { runConformance } from "../src/index.js";

let serial = 0;
runConformance({
  name: "faultyConnection without faults, over memory",
  address: () => `memory://faulty-${++serial}`,
  listen: async (address, options) => faultyListener(await memoryTransport.listen(address, options), {}),
  connect: async (address, options) => faultyConnection(await memoryTransport.connect(address, options)),
  capabilities: { peerCredentials: true, maxBufferedBytes: 2 * 1024 * 1024 },
});
