import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as channels from "@ipc/channels";
import { runConformance } from "@ipc/conformance";
import { afterAll } from "vitest";
import * as unixSockets from "./fixtures/unix-socket-transport.mjs";

const dir = mkdtempSync(join(tmpdir(), "ipc-framing-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

runConformance({
  name: "framed() over node:net Unix sockets",
  address: () => `unix://${join(dir, `s${++serial}.sock`)}`,
  listen: unixSockets.listen,
  connect: unixSockets.connect,
  channels,
  capabilities: {
    peerCredentials: false,
    views: true,
    crossProcess: { module: fileURLToPath(new URL("./fixtures/unix-socket-transport.mjs", import.meta.url)) },
    rawConnect: (address) => unixSockets.connectRaw(address),
    pythonClient: { handshake: false },
  },
});
