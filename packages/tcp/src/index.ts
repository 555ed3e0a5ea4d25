/**
 * TCP for @ipc: message connections across machines (or on loopback), with defaults that suit IPC.
 *
 * - {@link listen} / {@link connect}: `tcp://host:port`, IPv4 and IPv6, port 0 for a free port; Nagle
 *   off and keep-alive on by default; send/receive buffer sizes set and read back; idle and write
 *   timeouts; `maxConnections`; TLS and mutual TLS.
 * - `connect(url, { reconnect })`: a connection that survives the server restarting.
 * - {@link pool}: a connection pool that notices dead peers.
 *
 * Messages are framed as docs/wire.md says; on plain TCP large ones are read straight into their own
 * arrays.
 *
 * @packageDocumentation
 */
import type { Transport } from "@ipc/core";
import { connect } from "./connect.js";
import { listen } from "./listener.js";
import type { TcpConnectOptions, TcpListenOptions } from "./options.js";

export { connect, pool } from "./connect.js";
export { listen } from "./listener.js";
export type { ConnectionState, ReconnectOptions, ReconnectingConnection } from "./reconnect.js";
export type { Pool, PoolOptions, PooledConnection } from "./pool.js";
export type { TcpConnectOptions, TcpListenOptions, TcpSocketOptions, TlsOptions } from "./options.js";
export type { TcpConnection } from "./socket.js";
export type { SocketSettings } from "./native.js";
export type { TcpTarget } from "./target.js";
export type { Connection, Listener } from "@ipc/core";

/** The `tcp:` transport, for code that picks a transport by URL (`@ipc/kit`). */
export const tcpTransport: Transport<TcpListenOptions, TcpConnectOptions> = {
  scheme: "tcp",
  listen: (address, options) => listen(address, options),
  connect: (address, options) => connect(address, options),
};
