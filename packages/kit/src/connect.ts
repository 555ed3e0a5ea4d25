/**
 * `connect(url, options)`: a connection to any endpoint, the transport picked by the URL's scheme.
 */
import { parseAddress, type Connection } from "@ipc/core";
import type { ChildChannel } from "@ipc/pipe";
import { activeLogger, traceConnection } from "./debug.js";
import type { KitConnectOptions, SchemeOf } from "./options.js";
import { transports } from "./schemes.js";

/**
 * What `connect()` resolves with: a {@link ChildChannel} (pid, exit status, kill) for a `pipe:` URL, a
 * `Connection` for any other scheme — and for a URL that is only a `string`, whose scheme is not known.
 */
export type ConnectionOf<U extends string> = [SchemeOf<U>] extends [never] ? Connection : SchemeOf<U> extends "pipe" ? ChildChannel : Connection;

/**
 * Connects to `url`: `unix:///run/app.sock`, `unix-abstract:name`, `tcp://host:port` (TLS with the `tls`
 * option), `shm://name`, `fifo:///run/app/fifo`, `pipe:/usr/bin/cmd?arg=x` (spawns the command and talks
 * over its stdio), `memory://name`. The options are the transport's own (see its README), plus `logger`.
 * Rejects with `InvalidAddressError` for a malformed URL or an unknown scheme, and with the transport's
 * errors otherwise (`ConnectionRefusedError`, `TimeoutError`, `PeerRejectedError`, …).
 */
export async function connect<U extends string>(url: U, options?: KitConnectOptions<U>): Promise<ConnectionOf<U>> {
  const { scheme } = parseAddress(url);
  const { logger, ...rest } = options ?? {};
  const log = activeLogger({ logger });
  const connection = await transports[scheme].connect(url, rest);
  return traceConnection(connection, log, "connect") as ConnectionOf<U>;
}
