/** The options of `serveNats` and `createNatsClient`, with their defaults. */
import type { ClientInterceptor, ServerInterceptor } from "@ipc/rpc";
import type { MethodInfo } from "@ipc/rpc";
import { InvalidArgumentError } from "../deps.js";
import { DEFAULT_RPC_PREFIX, checkPrefix } from "./wire.js";

/** Default `streamWindow`: 256 KiB of stream messages in flight per call and direction (as @ipc/rpc). */
export const DEFAULT_NATS_STREAM_WINDOW = 256 * 1024;

/** Options of `serveNats`. */
export interface NatsServeOptions {
  /**
   * The first tokens of the service's subjects: calls of `rpc Add` of `calc.Calculator` arrive on
   * `<prefix>.calc.Calculator.Add`. Clients must use the same. Default: `"ipc.rpc"`.
   */
  readonly prefix?: string | undefined;
  /**
   * The NATS queue group: servers of the same service in the same group share its calls, each call
   * going to one of them. Default: the service's subject, e.g. `"ipc.rpc.calc.Calculator"`.
   */
  readonly queue?: string | undefined;
  /** Run around every handler, the first outermost (as in @ipc/rpc). Default: none. */
  readonly interceptors?: readonly ServerInterceptor[] | undefined;
  /** Handlers running at once in this server; beyond, calls wait in a queue. Default: 1000. */
  readonly maxConcurrentCalls?: number | undefined;
  /**
   * Calls waiting for a free slot; beyond, a call fails with `RESOURCE_EXHAUSTED` (and its caller may
   * retry: another server of the queue group may have room). Default: 1000.
   */
  readonly maxQueuedCalls?: number | undefined;
  /**
   * The largest request accepted and response sent, in encoded bytes. Default: the NATS server's
   * `max_payload` (1 MiB unless configured), the most a NATS message can carry anyway.
   */
  readonly maxMessageSize?: number | undefined;
  /** Bytes of request stream messages a client may send on one call before its handler read them. Default: 256 KiB. */
  readonly streamWindow?: number | undefined;
  /** Prefix of this server's own subjects for streaming calls (`Ipc-Call`). Default: `"_INBOX"`. */
  readonly inboxPrefix?: string | undefined;
}

/** Options of `createNatsClient`. */
export interface NatsClientOptions {
  /** The first tokens of the service's subjects, as the servers use them. Default: `"ipc.rpc"`. */
  readonly prefix?: string | undefined;
  /** Run around every call, the first outermost (as in @ipc/rpc). Default: none. */
  readonly interceptors?: readonly ClientInterceptor[] | undefined;
  /**
   * The largest request sent and response accepted, in encoded bytes; a larger request fails with
   * `RESOURCE_EXHAUSTED` before it is sent. Default: the NATS server's `max_payload`.
   */
  readonly maxMessageSize?: number | undefined;
  /** Bytes of response stream messages the server may send on one call before this client read them. Default: 256 KiB. */
  readonly streamWindow?: number | undefined;
  /**
   * Whether a call that had no answer yet when the NATS connection dropped is sent again once it is back
   * (on any node of the cluster), while its deadline allows: unary and server-streaming calls that had
   * received nothing. The request may then run twice (on two servers) if the first copy got through and
   * only the answer was lost, so pass `false`, or a function that says yes for idempotent methods only,
   * when that matters. A call that cannot be sent again fails with `UNAVAILABLE`. Default: `true`.
   */
  readonly retryOnReconnect?: boolean | ((method: MethodInfo) => boolean) | undefined;
  /** Prefix of this client's reply subjects. Default: `"_INBOX"`. */
  readonly inboxPrefix?: string | undefined;
}

export interface ResolvedServeOptions {
  readonly prefix: string;
  readonly queue: string | undefined;
  readonly interceptors: readonly ServerInterceptor[];
  readonly maxConcurrentCalls: number;
  readonly maxQueuedCalls: number;
  readonly maxMessageSize: number | undefined;
  readonly streamWindow: number;
  readonly inboxPrefix: string;
}

export interface ResolvedClientOptions {
  readonly prefix: string;
  readonly interceptors: readonly ClientInterceptor[];
  readonly maxMessageSize: number | undefined;
  readonly streamWindow: number;
  readonly retry: (method: MethodInfo) => boolean;
  readonly inboxPrefix: string;
}

const INT31 = 2 ** 31 - 1;

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function interceptors<T>(list: readonly T[] | undefined): readonly T[] {
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.some((f) => typeof f !== "function")) {
    throw new InvalidArgumentError("interceptors must be an array of functions");
  }
  return [...list];
}

export function resolveServeOptions(options: NatsServeOptions | undefined): ResolvedServeOptions {
  const queue = options?.queue;
  if (queue !== undefined && (typeof queue !== "string" || !/^[^\s*>]+$/.test(queue))) {
    throw new InvalidArgumentError(`queue must be a NATS queue group name (no whitespace or wildcards), got ${String(queue)}`);
  }
  return {
    prefix: checkPrefix(options?.prefix ?? DEFAULT_RPC_PREFIX),
    queue,
    interceptors: interceptors(options?.interceptors),
    maxConcurrentCalls: integer("maxConcurrentCalls", options?.maxConcurrentCalls, 1000, 1, INT31),
    maxQueuedCalls: integer("maxQueuedCalls", options?.maxQueuedCalls, 1000, 0, INT31),
    maxMessageSize: options?.maxMessageSize === undefined ? undefined : integer("maxMessageSize", options.maxMessageSize, 0, 0, INT31),
    streamWindow: integer("streamWindow", options?.streamWindow, DEFAULT_NATS_STREAM_WINDOW, 1, 2 ** 30),
    inboxPrefix: checkPrefix(options?.inboxPrefix ?? "_INBOX", "inboxPrefix"),
  };
}

export function resolveClientOptions(options: NatsClientOptions | undefined): ResolvedClientOptions {
  const retry = options?.retryOnReconnect ?? true;
  if (typeof retry !== "boolean" && typeof retry !== "function") {
    throw new InvalidArgumentError("retryOnReconnect must be a boolean or a function of the method");
  }
  return {
    prefix: checkPrefix(options?.prefix ?? DEFAULT_RPC_PREFIX),
    interceptors: interceptors(options?.interceptors),
    maxMessageSize: options?.maxMessageSize === undefined ? undefined : integer("maxMessageSize", options.maxMessageSize, 0, 0, INT31),
    streamWindow: integer("streamWindow", options?.streamWindow, DEFAULT_NATS_STREAM_WINDOW, 1, 2 ** 30),
    retry: typeof retry === "function" ? retry : () => retry,
    inboxPrefix: checkPrefix(options?.inboxPrefix ?? "_INBOX", "inboxPrefix"),
  };
}
