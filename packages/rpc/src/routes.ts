/**
 * The server's table of rpcs, looked up by the path bytes of each request: hashing 20-odd bytes is
 * cheaper than decoding them into a string to look that up.
 */
import type { AnyMethod, MethodInfo } from "./method.js";
import { utf8Bytes } from "./wire.js";

/** One rpc of the served service. */
export interface Route {
  readonly method: AnyMethod;
  readonly info: MethodInfo;
  readonly handler: ((input: unknown, context: never) => unknown) | undefined;
}

interface Entry {
  readonly path: Uint8Array;
  readonly route: Route;
}

/** FNV-1a over the bytes. */
function hash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class RouteTable {
  readonly #buckets = new Map<number, Entry[]>();
  readonly #paths: string[] = [];

  add(route: Route): void {
    const path = utf8Bytes(route.method.path);
    const key = hash(path);
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) this.#buckets.set(key, [{ path, route }]);
    else bucket.push({ path, route });
    this.#paths.push(route.method.path);
  }

  /** The route of a request's path bytes, or undefined. */
  get(path: Uint8Array): Route | undefined {
    const bucket = this.#buckets.get(hash(path));
    if (bucket === undefined) return undefined;
    for (const entry of bucket) if (equal(entry.path, path)) return entry.route;
    return undefined;
  }

  /** Every path served, for error messages. */
  get paths(): readonly string[] {
    return this.#paths;
  }
}
