/**
 * `listen(url, options)`: a listener at any address, the transport picked by the URL's scheme.
 */
import { parseAddress, type Listener } from "@ipc/core";
import { activeLogger, traceListener } from "./debug.js";
import type { KitListenOptions } from "./options.js";
import { transports } from "./schemes.js";

/**
 * Listens at `url` (see {@link connect} for the schemes; `pipe:` is the child's side: its one connection
 * is to its parent, over stdin/stdout). The options are the transport's own, plus `logger`. Rejects with
 * `InvalidAddressError`, `AddressInUseError`, `PermissionDeniedError`, …
 */
export async function listen<U extends string>(url: U, options?: KitListenOptions<U>): Promise<Listener> {
  const { scheme } = parseAddress(url);
  const { logger, ...rest } = options ?? {};
  const log = activeLogger({ logger });
  const listener = await transports[scheme].listen(url, rest);
  return traceListener(listener, log);
}
