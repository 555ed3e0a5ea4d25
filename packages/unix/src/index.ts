/**
 * Unix domain sockets for @ipc: local message connections with the security defaults a server needs.
 *
 * - {@link listen}: the socket file is created 0600 (no window where it is wider), in a checked
 *   directory; a leftover file is replaced only after a probe proves no server is alive behind it; it is
 *   removed on close and at normal exit. `unix-abstract:` names too.
 * - Every connection has `peer = { pid, uid, gid }` (SO_PEERCRED), and a listener can refuse clients by
 *   uid, gid or any rule before reading a byte from them; the refused client gets `PeerRejectedError`.
 * - {@link connect}: waits for the server to accept, under one `timeout`/`signal`.
 * - {@link unixTransport} / {@link unixAbstractTransport}: the same as `Transport`s, for `@ipc/kit`.
 *
 * Messages are framed as docs/wire.md says; large ones are read straight into their own arrays.
 *
 * Credentials, abstract names and the mode set before bind are native calls (@ipc/native). Where they
 * cannot be made (another platform, or IPC_NATIVE=off), socket files work through node:net, still with
 * exactly their mode, `peer` is undefined, and abstract names and credential rules fail with
 * `UnsupportedError` (docs/platforms.md).
 *
 * @packageDocumentation
 */
import type { Transport } from "@ipc/core";
import { connect } from "./connect.js";
import { listen } from "./listener.js";
import type { UnixConnectOptions, UnixListenOptions } from "./options.js";

export { connect } from "./connect.js";
export { listen } from "./listener.js";
export { InsecureDirectoryError } from "./errors.js";
export type { UnixConnectOptions, UnixListenOptions } from "./options.js";
export type { UnixTarget } from "./target.js";
export type { Connection, Listener, Peer } from "@ipc/core";

/** The `unix:` transport (a socket file). */
export const unixTransport: Transport<UnixListenOptions, UnixConnectOptions> = {
  scheme: "unix",
  listen: (address, options) => listen(address, options),
  connect: (address, options) => connect(address, options),
};

/** The `unix-abstract:` transport (Linux's abstract namespace: no file; only credentials restrict it). */
export const unixAbstractTransport: Transport<UnixListenOptions, UnixConnectOptions> = {
  scheme: "unix-abstract",
  listen: (address, options) => listen(address, options),
  connect: (address, options) => connect(address, options),
};
