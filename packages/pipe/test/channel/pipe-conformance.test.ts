import { join } from "node:path";
import * as channels from "@ipc/channels";
import { runConformance } from "@ipc/conformance";
import { pipeTransport } from "../../src/index.js";
import { connectRaw } from "../fixtures/pipe-client.mjs";
import { listenForRelays } from "../fixtures/relay-listener.js";
import { fixture, tempDir } from "../helpers.js";

const dir = tempDir("pipe-conformance");
let serial = 0;

// connect() is the real pipe: client; the child it starts takes its stdio like parentChannel() and
// relays the bytes to the suite's end (see fixtures/relay-listener.ts and fixtures/relay.mjs).
runConformance({
  name: "pipe: (a child's stdio, relayed by the child to the test)",
  address: () => `pipe:${join(dir, `relay${++serial}`)}`,
  listen: listenForRelays,
  connect: (address, options) => pipeTransport.connect(address, options),
  channels,
  capabilities: {
    // The suite's server end is the relay's Unix socket, whose peer is the relay, not the connecting process.
    peerCredentials: false,
    views: true,
    crossProcess: { module: fixture("pipe-client.mjs") },
    rawConnect: connectRaw,
  },
});
