/**
 * Local-first discovery (docs/wire.md §9.7): a service's servers answer on a subject that names their
 * machine, with the local endpoints they listen on; a client asks on the subject of its own machine, so
 * only servers on the same machine can answer, and NATS's "no responders" says at once that none is.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { InvalidArgumentError } from "../deps.js";

/** The payload of an announcement: UTF-8 JSON. */
export interface Announcement {
  /** The service's full name, e.g. `"calc.Calculator"`. */
  readonly service: string;
  /** Addresses (URLs) of the server's local endpoints, fastest first: `shm://…`, `unix:///…`. */
  readonly endpoints: readonly string[];
  /** The server's process id. */
  readonly pid: number;
}

let cachedHost: string | undefined;

/**
 * This machine's id as a subject token: 16 hex digits of a hash of the host name and the kernel's boot
 * id (containers that share a kernel but not a host name differ; two boots of one machine differ too).
 */
export function localHostId(): string {
  if (cachedHost !== undefined) return cachedHost;
  let boot = "";
  try {
    boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    // Not Linux: the host name alone.
  }
  cachedHost = createHash("sha256").update(`${hostname()}\n${boot}`).digest("hex").slice(0, 16);
  return cachedHost;
}

export function checkHost(host: string): string {
  if (typeof host !== "string" || !/^[A-Za-z0-9_-]+$/.test(host)) {
    throw new InvalidArgumentError(`host must be one subject token (letters, digits, '_', '-'), got ${String(host)}`);
  }
  return host;
}

/** `ipc.rpc.$local.<host>.calc.Calculator`: where a service's servers on machine `host` answer. */
export function localSubject(prefix: string, host: string, service: string): string {
  return `${prefix}.$local.${host}.${service}`;
}

export function encodeAnnouncement(announcement: Announcement): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(announcement));
}

/** Decodes an announcement; undefined when the bytes are not one. */
export function decodeAnnouncement(bytes: Uint8Array): Announcement | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Announcement>;
    if (typeof value.service !== "string" || !Array.isArray(value.endpoints) || !value.endpoints.every((e) => typeof e === "string")) {
      return undefined;
    }
    return { service: value.service, endpoints: value.endpoints, pid: typeof value.pid === "number" ? value.pid : 0 };
  } catch {
    return undefined;
  }
}

/** Local schemes, fastest first (docs/benchmarks.md): shared memory, then Unix sockets, then loopback TCP. */
export const LOCAL_PREFERENCE: readonly string[] = ["shm", "unix-abstract", "unix", "tcp"];

/** Sorts addresses by `preference` (unknown schemes last, in their order). */
export function byPreference(addresses: readonly string[], preference: readonly string[]): string[] {
  const rank = (address: string): number => {
    const scheme = address.slice(0, Math.max(0, address.indexOf(":")));
    const i = preference.indexOf(scheme);
    return i < 0 ? preference.length : i;
  };
  return [...addresses].sort((a, b) => rank(a) - rank(b));
}
