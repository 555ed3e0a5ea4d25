import { InvalidAddressError, formatAddress, parseAddress, type TcpAddress } from "@ipc/core";

/** A `tcp://host:port` URL or `{ host, port }` (host defaults to 127.0.0.1: loopback, not every interface). */
export type TcpTarget = string | { readonly host?: string | undefined; readonly port: number };

export function resolveTarget(target: TcpTarget): TcpAddress {
  if (typeof target === "string") {
    const address = parseAddress(target);
    if (address.scheme !== "tcp") throw new InvalidAddressError(`'${target}' is a ${address.scheme}: address; @ipc/tcp takes tcp:`);
    return address;
  }
  if (target === null || typeof target !== "object" || typeof target.port !== "number") {
    throw new InvalidAddressError(`expected a tcp:// URL or { host, port }, got ${String(target)}`);
  }
  return parseAddress(formatAddress({ scheme: "tcp", host: target.host ?? "127.0.0.1", port: target.port })) as TcpAddress;
}

/** The URL of a socket address as Node reports it. */
export function urlOf(host: string | undefined, port: number | undefined): string {
  return formatAddress({ scheme: "tcp", host: (host ?? "").replace(/^::ffff:/, "") || "0.0.0.0", port: port ?? 0 });
}
