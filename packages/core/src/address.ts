/**
 * Addresses are URLs. {@link parseAddress} turns one into a typed {@link Address} (or throws an
 * `InvalidAddressError` that says what is wrong); {@link formatAddress} does the reverse.
 */
import { InvalidAddressError } from "./errors.js";

/** The longest Unix socket path Linux accepts: `sun_path` is 108 bytes, one of them the final NUL. */
export const UNIX_PATH_MAX = 107;
/** The longest name in the Linux abstract socket namespace (the leading NUL takes one byte of 108). */
export const UNIX_ABSTRACT_NAME_MAX = 107;
/** The longest POSIX shared-memory name, without its leading slash (NAME_MAX). */
export const SHM_NAME_MAX = 255;

/** A Unix domain socket bound to a file path: `unix:///run/app.sock` (or `unix:relative.sock`). */
export interface UnixAddress {
  readonly scheme: "unix";
  readonly path: string;
}
/** A socket in Linux's abstract namespace (no file): `unix-abstract:name`. */
export interface UnixAbstractAddress {
  readonly scheme: "unix-abstract";
  readonly name: string;
}
/** A TCP endpoint: `tcp://127.0.0.1:7000`, `tcp://[::1]:7000`, `tcp://localhost:0` (0: any free port). */
export interface TcpAddress {
  readonly scheme: "tcp";
  /** A host name, an IPv4 address or an IPv6 address (without brackets). */
  readonly host: string;
  readonly port: number;
}
/** A shared-memory endpoint: `shm://name`. */
export interface ShmAddress {
  readonly scheme: "shm";
  readonly name: string;
}
/** A pair of FIFOs under one path prefix: `fifo:///run/app/fifo`. */
export interface FifoAddress {
  readonly scheme: "fifo";
  readonly path: string;
}
/**
 * A child process's stdio. `pipe:` alone is this process's own stdin/stdout (the child's side);
 * `pipe:/usr/bin/python3?arg=worker.py` spawns `command` with the `arg` values as its arguments.
 */
export interface PipeAddress {
  readonly scheme: "pipe";
  readonly command: string | undefined;
  readonly args: readonly string[];
}
/** An in-process endpoint of the memory transport: `memory://name`. */
export interface MemoryAddress {
  readonly scheme: "memory";
  readonly name: string;
}

/** Every address form, discriminated by `scheme`. */
export type Address = UnixAddress | UnixAbstractAddress | TcpAddress | ShmAddress | FifoAddress | PipeAddress | MemoryAddress;

/** The schemes {@link parseAddress} knows. */
export const SCHEMES = ["unix", "unix-abstract", "tcp", "shm", "fifo", "pipe", "memory"] as const;
/** One of {@link SCHEMES}. */
export type Scheme = Address["scheme"];

function fail(url: string, why: string): never {
  throw new InvalidAddressError(`invalid address '${url}': ${why}`);
}

function decode(url: string, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail(url, `bad percent-encoding in '${text}'`);
  }
}

// Characters that would change a URL's meaning if left as is in a path or name.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are among those to encode.
const UNSAFE = /[%?#\s\u0000-\u001f\u007f]/g;
function encode(text: string): string {
  return text.replace(UNSAFE, (c) => encodeURIComponent(c));
}

/** The part after `scheme:`, with the empty authority of `scheme:///path` removed. */
function pathPart(url: string, rest: string): string {
  const body = rest.startsWith("//") ? rest.slice(2) : rest;
  if (rest.startsWith("//") && !body.startsWith("/")) {
    fail(url, `expected an absolute path after '//' (use three slashes: 'unix:///run/app.sock')`);
  }
  if (body.includes("?") || body.includes("#")) fail(url, "a path cannot contain '?' or '#' (percent-encode them)");
  const path = decode(url, body);
  if (path.length === 0) fail(url, "the path is empty");
  if (path.includes("\0")) fail(url, "the path contains a NUL byte");
  return path;
}

function name(url: string, rest: string, max: number, pattern: RegExp, rule: string): string {
  const text = decode(url, rest.startsWith("//") ? rest.slice(2) : rest);
  if (text.length === 0) fail(url, "the name is empty");
  if (Buffer.byteLength(text) > max) fail(url, `the name is ${Buffer.byteLength(text)} bytes, over the limit of ${max}`);
  if (!pattern.test(text)) fail(url, rule);
  return text;
}

function parseTcp(url: string, rest: string): TcpAddress {
  if (!rest.startsWith("//")) fail(url, "expected 'tcp://host:port'");
  const authority = rest.slice(2).replace(/\/$/, "");
  let host: string;
  let portText: string;
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    if (end < 0) fail(url, "unterminated '[' in an IPv6 host");
    host = authority.slice(1, end);
    if (authority[end + 1] !== ":") fail(url, "expected ':port' after the IPv6 host");
    portText = authority.slice(end + 2);
  } else {
    const colon = authority.lastIndexOf(":");
    if (colon < 0) fail(url, "missing ':port' (use port 0 to pick a free one)");
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
    if (host.includes(":")) fail(url, "an IPv6 host must be in brackets: 'tcp://[::1]:7000'");
  }
  if (host.length === 0) fail(url, "the host is empty");
  if (!/^[A-Za-z0-9._~%:-]+$/.test(host)) fail(url, `'${host}' is not a valid host`);
  if (!/^\d{1,5}$/.test(portText)) fail(url, `'${portText}' is not a port number`);
  const port = Number(portText);
  if (port > 65_535) fail(url, `port ${port} is over 65535`);
  return { scheme: "tcp", host, port };
}

function parsePipe(url: string, rest: string): PipeAddress {
  if (rest.length === 0) return { scheme: "pipe", command: undefined, args: [] };
  const query = rest.indexOf("?");
  const command = decode(url, query < 0 ? rest : rest.slice(0, query));
  if (command.length === 0) fail(url, "the command is empty");
  const args: string[] = [];
  if (query >= 0) {
    for (const part of rest.slice(query + 1).split("&")) {
      if (part.length === 0) continue;
      const eq = part.indexOf("=");
      const key = eq < 0 ? part : part.slice(0, eq);
      if (key !== "arg") fail(url, `unknown parameter '${key}' (only 'arg' is understood)`);
      args.push(decode(url, eq < 0 ? "" : part.slice(eq + 1).replace(/\+/g, " ")));
    }
  }
  return { scheme: "pipe", command, args };
}

/**
 * Parses an address URL. Throws `InvalidAddressError` naming the problem: an unknown scheme, a Unix path
 * over {@link UNIX_PATH_MAX} bytes, a bad port, an invalid shm name…
 */
export function parseAddress(url: string): Address {
  if (typeof url !== "string") throw new InvalidAddressError(`an address must be a URL string, got ${typeof url}`);
  const colon = url.indexOf(":");
  const scheme = colon < 0 ? "" : url.slice(0, colon);
  const rest = url.slice(colon + 1);
  switch (scheme) {
    case "unix":
    case "fifo": {
      const path = pathPart(url, rest);
      const bytes = Buffer.byteLength(path);
      if (scheme === "unix" && bytes > UNIX_PATH_MAX) {
        fail(url, `the socket path is ${bytes} bytes, over the Linux limit of ${UNIX_PATH_MAX}; use a shorter path`);
      }
      return scheme === "unix" ? { scheme, path } : { scheme, path };
    }
    case "unix-abstract":
      return {
        scheme,
        name: name(url, rest, UNIX_ABSTRACT_NAME_MAX, /^[^\0]+$/, "the name contains a NUL byte"),
      };
    case "tcp":
      return parseTcp(url, rest);
    case "shm":
      return {
        scheme,
        name: name(url, rest, SHM_NAME_MAX, /^[A-Za-z0-9._-]+$/, "a shm name may contain only letters, digits, '.', '_' and '-' (no '/')"),
      };
    case "pipe":
      return parsePipe(url, rest);
    case "memory":
      return { scheme, name: name(url, rest, 255, /^[^/]+$/, "a memory name cannot contain '/'") };
    default:
      return fail(
        url,
        colon < 0
          ? `no scheme (expected one of ${SCHEMES.map((s) => `${s}:`).join(", ")})`
          : `unknown scheme '${scheme}:' (known: ${SCHEMES.map((s) => `${s}:`).join(", ")})`,
      );
  }
}

/** Formats an {@link Address} as the URL {@link parseAddress} reads back. */
export function formatAddress(address: Address): string {
  switch (address.scheme) {
    case "unix":
    case "fifo":
      return address.path.startsWith("/") ? `${address.scheme}://${encode(address.path)}` : `${address.scheme}:${encode(address.path)}`;
    case "unix-abstract":
      return `unix-abstract:${encode(address.name)}`;
    case "tcp":
      return `tcp://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
    case "shm":
      return `shm://${address.name}`;
    case "memory":
      return `memory://${encode(address.name)}`;
    case "pipe": {
      if (address.command === undefined) return "pipe:";
      const query = address.args.map((a) => `arg=${encodeURIComponent(a)}`).join("&");
      return `pipe:${encode(address.command)}${query ? `?${query}` : ""}`;
    }
  }
}

/** Parses `url` and checks that its scheme is `scheme`, for transports that accept only their own. */
export function parseAddressOf<S extends Scheme>(url: string, scheme: S): Extract<Address, { scheme: S }> {
  const address = parseAddress(url);
  if (address.scheme !== scheme) {
    throw new InvalidAddressError(`invalid address '${url}': this transport takes '${scheme}:' addresses`);
  }
  return address as Extract<Address, { scheme: S }>;
}
