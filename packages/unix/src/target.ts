/** What `listen()` and `connect()` accept as an address, resolved to one form. */
import { formatAddress, parseAddress, InvalidAddressError } from "@ipc/core";
import type { SocketName } from "./native.js";

/** A `unix:` or `unix-abstract:` URL, a filesystem path, `{ path }`, or `{ name }` (abstract namespace). */
export type UnixTarget = string | { readonly path: string } | { readonly name: string };

/** A resolved target. */
export interface ResolvedTarget {
  /** The canonical URL (`unix:///run/app.sock`, `unix-abstract:app`). */
  readonly url: string;
  /** The socket's name for the system calls. */
  readonly name: SocketName;
  /** The filesystem path, or undefined for an abstract name. */
  readonly path: string | undefined;
}

export function resolveTarget(target: UnixTarget): ResolvedTarget {
  let address;
  if (typeof target === "string") {
    address = /^unix(-abstract)?:/.test(target) ? parseAddress(target) : parseAddress(formatAddress({ scheme: "unix", path: target }));
  } else if (target !== null && typeof target === "object" && "path" in target) {
    address = parseAddress(formatAddress({ scheme: "unix", path: target.path }));
  } else if (target !== null && typeof target === "object" && "name" in target) {
    address = parseAddress(formatAddress({ scheme: "unix-abstract", name: target.name }));
  } else {
    throw new InvalidAddressError(`expected a unix: URL, a path, { path } or { name }, got ${String(target)}`);
  }
  if (address.scheme === "unix") return { url: formatAddress(address), name: { path: address.path }, path: address.path };
  if (address.scheme === "unix-abstract") {
    return { url: formatAddress(address), name: { abstract: address.name }, path: undefined };
  }
  throw new InvalidAddressError(`'${String(target)}' is a ${address.scheme}: address; @ipc/unix takes unix: and unix-abstract:`);
}
