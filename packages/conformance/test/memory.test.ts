import { memoryTransport, type Connection } from "@ipc/core";
import { runConformance } from "../src/index.js";

let serial = 0;
runConformance({
  name: "memory",
  address: () => `memory://conformance-${++serial}`,
  listen: (address, options) => memoryTransport.listen(address, options),
  connect: (address, options) => memoryTransport.connect(address, options),
  capabilities: {
    peerCredentials: true,
    maxBufferedBytes: 1024 * 1024,
    // A listener whose backlog of one is taken: the next connect() waits for room.
    unresponsiveAddress: async () => {
      const address = `memory://conformance-full-${++serial}`;
      const listener = await memoryTransport.listen(address, { backlog: 1 });
      const filler: Connection = await memoryTransport.connect(address);
      return { address, close: async () => (filler.abort(), listener.close()) };
    },
  },
});
