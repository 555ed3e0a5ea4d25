import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as channels from "@ipc/channels";
import { runConformance } from "@ipc/conformance";
import { freePort, makeCertificates } from "@ipc/testing";
import { afterAll } from "vitest";
import { connect, listen } from "../src/index.js";
import { connectRaw } from "./fixtures/peer.mjs";

const peerModule = fileURLToPath(new URL("./fixtures/peer.mjs", import.meta.url));

/** A plain socket server that accepts and never answers: connect() waits for the status frame. */
async function silentServer(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => void sockets.add(socket.on("error", () => undefined)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const close = (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { address: `tcp://127.0.0.1:${port}`, close };
}

runConformance({
  name: "tcp",
  address: async () => `tcp://127.0.0.1:${await freePort()}`,
  listen: (address, options) => {
    delete process.env.IPC_TEST_TLS_CA;
    return listen(address, options);
  },
  connect,
  channels,
  capabilities: {
    peerCredentials: false,
    views: true,
    // Loopback TCP autotunes its buffers up to several MiB each way.
    maxBufferedBytes: 32 * 1024 * 1024,
    crossProcess: { module: peerModule },
    rawConnect: (address) => connectRaw(address),
    unresponsiveAddress: silentServer,
    pythonClient: { handshake: true },
  },
});

const certs = makeCertificates();
afterAll(() => certs.remove());
// The child processes of the cross-process cases read the CA from here (see fixtures/peer.mjs).
const caFile = join(certs.dir, "ca.pem");
writeFileSync(caFile, certs.ca);

runConformance({
  name: "tcp + TLS",
  address: async () => `tcp://127.0.0.1:${await freePort()}`,
  // Every test listens first: from then on, child processes (and connectRaw) speak TLS.
  listen: (address, options) => {
    process.env.IPC_TEST_TLS_CA = caFile;
    return listen(address, { ...options, tls: certs.server });
  },
  connect: (address, options) => connect(address, { ...options, tls: { ca: certs.ca, servername: "localhost" } }),
  channels,
  capabilities: {
    peerCredentials: false,
    views: true,
    maxBufferedBytes: 32 * 1024 * 1024,
    crossProcess: { module: peerModule },
    rawConnect: (address) => connectRaw(address),
    unresponsiveAddress: silentServer,
    // Node's TLS stops reading once it has sent close_notify, so messages the peer sends after close() are lost.
    halfClose: false,
  },
});
