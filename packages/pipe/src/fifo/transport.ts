/**
 * The `fifo:` transport: message connections between unrelated processes over pairs of FIFOs
 * (`fifo:///run/app/fifo` → `/run/app/fifo.in`, `.out` and `.lock`; see docs/wire.md §6.2).
 *
 * Both sides need native calls (mkfifo, flock): elsewhere, or with IPC_NATIVE=off, they fail with
 * `UnsupportedError` (feature "fifo").
 *
 * What FIFOs cannot do, stated: there are no peer credentials (`peer` is `undefined`; the files' mode,
 * 0600 by default, is the access control), both processes must see the same filesystem, handshakes take
 * turns (a client that takes the lock and then stalls holds up the next ones until its own `timeout`), and a
 * peer must follow the handshake of docs/wire.md §6.2 (a plain `cat > x.in` does not).
 */
import type { ConnectOptions, Connection, Listener, Transport } from "@ipc/core";
import { publishConnect, resolveConnectionOptions } from "@ipc/core/transport";
import { framed } from "@ipc/framing";
import { connectFifoStreams } from "./connect.js";
import { FifoListener, type FifoListenOptions } from "./listener.js";
import { mustUse } from "../native/native.js";

/** `fifo:` — listen creates the FIFO pair and answers clients; connect joins a listener. */
export const fifoTransport: Transport<FifoListenOptions, ConnectOptions> = {
  scheme: "fifo",

  async listen(address: string, options?: FifoListenOptions): Promise<Listener> {
    mustUse("fifo"); // mkfifo and flock; before any file is made
    return new FifoListener(address, options);
  },

  async connect(address: string, options?: ConnectOptions): Promise<Connection> {
    resolveConnectionOptions(options);
    mustUse("fifo"); // the handshake lock (flock)
    const streams = await connectFifoStreams(address, options);
    const connection = framed(streams, { ...options, localAddress: address, remoteAddress: address });
    publishConnect(connection, address);
    return connection;
  },
};
