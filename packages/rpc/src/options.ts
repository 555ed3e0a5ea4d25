/** The options of `createClient` and `serve`, with their defaults. */
import { InvalidArgumentError, type Connection } from "@ipc/core";
import type { ClientInterceptor, ServerInterceptor } from "./types.js";

/** Default `streamWindow`: 256 KiB of stream messages in flight per call and direction. */
export const DEFAULT_STREAM_WINDOW = 256 * 1024;
/** Default `maxConcurrentCalls`: handlers running at once on one connection. */
export const DEFAULT_MAX_CONCURRENT_CALLS = 1000;
/** Default `maxQueuedCalls`: calls waiting for a free slot on one connection. */
export const DEFAULT_MAX_QUEUED_CALLS = 1000;
/** Default `maxQueuedBytes`: 16 MiB of requests of queued calls per connection. */
export const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;
/** The largest window a peer may be granted at once (the wire field is a uint32). */
const MAX_WINDOW = 2 ** 30;
const INT31 = 2 ** 31 - 1;
const UINT32 = 2 ** 32 - 1;

/** Options of `createClient`. */
export interface ClientOptions {
  /**
   * Run around every call, the first outermost: `[a, b]` runs `a`, which calls `b`, which sends the call.
   * Default: none.
   */
  readonly interceptors?: readonly ClientInterceptor[] | undefined;
  /**
   * The largest request this client sends and the largest response it accepts, in encoded bytes. A
   * larger request fails with `RESOURCE_EXHAUSTED` before it is sent; a larger response fails its call
   * with `RESOURCE_EXHAUSTED` (the connection goes on). Default: the connection's `maxMessageSize`.
   */
  readonly maxMessageSize?: number | undefined;
  /**
   * Bytes of stream messages the server may send on one call before this client has read them (the
   * call's flow-control window). A slow reader holds at most this much, plus one message, per call.
   * Default: 256 KiB (262 144).
   */
  readonly streamWindow?: number | undefined;
}

/** Options of `serve`. */
export interface ServeOptions {
  /**
   * Run around every handler, the first outermost: `[a, b]` runs `a`, which calls `b`, which calls the
   * handler. Default: none.
   */
  readonly interceptors?: readonly ServerInterceptor[] | undefined;
  /**
   * Handlers running at once on one connection. A call beyond it waits in a queue (see
   * `maxQueuedCalls`); beyond that, it fails with `RESOURCE_EXHAUSTED`. Default: 1000.
   */
  readonly maxConcurrentCalls?: number | undefined;
  /**
   * Calls of one connection waiting for a free slot when `maxConcurrentCalls` handlers run; `0` fails
   * every call beyond `maxConcurrentCalls` at once with `RESOURCE_EXHAUSTED`. Default: 1000.
   */
  readonly maxQueuedCalls?: number | undefined;
  /**
   * Encoded bytes of the requests of one connection's queued calls (those waiting for a free slot): a
   * call that would go over fails with `RESOURCE_EXHAUSTED`; one call always fits into an empty queue.
   * With `maxQueuedCalls`, it bounds what a client can make the server hold for calls that do not run
   * yet. Default: 16 MiB (16 777 216).
   */
  readonly maxQueuedBytes?: number | undefined;
  /**
   * The largest request accepted and the largest response sent, in encoded bytes. A larger request fails
   * with `RESOURCE_EXHAUSTED` (the connection goes on); so does a call whose handler returns a larger
   * response. Default: the connection's `maxMessageSize`.
   */
  readonly maxMessageSize?: number | undefined;
  /**
   * Bytes of request stream messages a client may send on one call before its handler has read them.
   * Default: 256 KiB (262 144).
   */
  readonly streamWindow?: number | undefined;
}

export interface ResolvedClientOptions {
  readonly interceptors: readonly ClientInterceptor[];
  readonly maxMessageSize: number;
  readonly streamWindow: number;
}

export interface ResolvedServeOptions {
  readonly interceptors: readonly ServerInterceptor[];
  readonly maxConcurrentCalls: number;
  readonly maxQueuedCalls: number;
  readonly maxQueuedBytes: number;
  /** Undefined: each connection's own `maxMessageSize`. */
  readonly maxMessageSize: number | undefined;
  readonly streamWindow: number;
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function interceptors<T>(name: string, list: readonly T[] | undefined): readonly T[] {
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.some((f) => typeof f !== "function")) {
    throw new InvalidArgumentError(`${name} must be an array of functions`);
  }
  return [...list];
}

export function resolveClientOptions(options: ClientOptions | undefined, connection: Connection): ResolvedClientOptions {
  return {
    interceptors: interceptors("interceptors", options?.interceptors),
    maxMessageSize: integer("maxMessageSize", options?.maxMessageSize, connection.maxMessageSize, 0, UINT32),
    streamWindow: integer("streamWindow", options?.streamWindow, DEFAULT_STREAM_WINDOW, 1, MAX_WINDOW),
  };
}

export function resolveServeOptions(options: ServeOptions | undefined): ResolvedServeOptions {
  return {
    interceptors: interceptors("interceptors", options?.interceptors),
    maxConcurrentCalls: integer("maxConcurrentCalls", options?.maxConcurrentCalls, DEFAULT_MAX_CONCURRENT_CALLS, 1, INT31),
    maxQueuedCalls: integer("maxQueuedCalls", options?.maxQueuedCalls, DEFAULT_MAX_QUEUED_CALLS, 0, INT31),
    maxQueuedBytes: integer("maxQueuedBytes", options?.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES, 0, Number.MAX_SAFE_INTEGER),
    maxMessageSize: options?.maxMessageSize === undefined ? undefined : integer("maxMessageSize", options.maxMessageSize, 0, 0, UINT32),
    streamWindow: integer("streamWindow", options?.streamWindow, DEFAULT_STREAM_WINDOW, 1, MAX_WINDOW),
  };
}
