import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAddress } from "@ipc/core";
import * as channels from "@ipc/channels";
import { runConformance } from "@ipc/conformance";
import { isSupported } from "@ipc/native";
import { afterAll } from "vitest";
import { connect, listen } from "../src/index.js";
import { bindSocket } from "../src/native.js";
import { connectRaw } from "./fixtures/peer.mjs";

const dir = mkdtempSync(join(tmpdir(), "ipc-unix-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

// With the native layer switched off (the "native-off" test project), abstract names and credentials are
// unsupported: socket files run the suite through node:net, without peer credentials.
const native = isSupported("unix.peerCredentials");
for (const kind of native ? (["unix", "unix-abstract"] as const) : (["unix"] as const)) {
  const address = (): string => (kind === "unix" ? `unix://${join(dir, `s${++serial}.sock`)}` : `unix-abstract:ipc-conformance-${process.pid}-${++serial}`);
  runConformance({
    name: kind,
    address,
    listen,
    connect,
    channels,
    capabilities: {
      peerCredentials: native,
      views: true,
      crossProcess: { module: fileURLToPath(new URL("./fixtures/peer.mjs", import.meta.url)) },
      rawConnect: connectRaw,
      pythonClient: { handshake: true },
      // A plain socket server that accepts and never sends the status frame: connect() waits for it.
      unresponsiveAddress: async () => {
        const url = address();
        const target = parseAddress(url);
        const name = target.scheme === "unix" ? { path: target.path } : { abstract: (target as { name: string }).name };
        const server = net.createServer(() => undefined);
        const where = native ? { fd: bindSocket(name, 0o600, url) } : { path: (name as { path: string }).path };
        await new Promise<void>((resolve) => server.listen(where, resolve));
        return { address: url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
      },
    },
  });
}
