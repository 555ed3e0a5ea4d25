// The conformance suite over the memory transport, with these layers given to it: its channel-layer cases
// (pub/sub, reliable sessions over dropped connections, mux) run here on the memory transport, and in every
// transport's own suite over real connections. @ipc/conformance's own run on the memory transport skips them:
// the suite depends on @ipc/core only.
import { memoryTransport, type Connection } from "@ipc/core";
import { runConformance } from "@ipc/conformance";
import * as channels from "../src/index.js";

let serial = 0;
runConformance({
  name: "memory, with @ipc/channels",
  address: () => `memory://channels-conformance-${++serial}`,
  listen: (address, options) => memoryTransport.listen(address, options),
  connect: (address, options) => memoryTransport.connect(address, options),
  channels,
  capabilities: {
    peerCredentials: true,
    maxBufferedBytes: 1024 * 1024,
    // A listener whose backlog of one is taken: the next connect() waits for room.
    unresponsiveAddress: async () => {
      const address = `memory://channels-conformance-full-${++serial}`;
      const listener = await memoryTransport.listen(address, { backlog: 1 });
      const filler: Connection = await memoryTransport.connect(address);
      return { address, close: async () => (filler.abort(), listener.close()) };
    },
  },
});
