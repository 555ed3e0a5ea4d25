/**
 * `serveNats(nats, service, implementation)`: an @ipc/rpc service on NATS (docs/wire.md §9). Calls arrive
 * on `<prefix>.<service>.<Method>` through a queue subscription, so that every server of the same queue
 * group takes a share; each is answered on its reply subject.
 */
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { RpcError, type Implementation, type Methods, type Service } from "@ipc/rpc";
import { closeSignal, messageOf, methodInfo, waitOrAbort, type AnyMethod } from "@ipc/rpc/carrier";
import { Deferred, InvalidArgumentError, type WaitOptions } from "../deps.js";
import { resolveServeOptions, type NatsServeOptions, type ResolvedServeOptions } from "./options.js";
import { EMPTY, publishQuietly } from "./publish.js";
import { NatsServerCall, type CallOwner } from "./server-call.js";
import { headerBytes, subjectEquals } from "./raw-msg.js";
import { Lower, cancelSubject, parseCount, readRequestHead, readRequestHeadBytes, serviceSubject, statusHeaders, type RequestHead } from "./wire.js";
import type { MethodInfo } from "@ipc/rpc";

/** What {@link NatsServer.stats} reports. */
export interface NatsServerStats {
  /** Calls this server took from NATS since it started (answered, failed or running). */
  readonly callsReceived: number;
  /** Handlers running now. */
  readonly callsRunning: number;
  /** Calls waiting for a free slot now. */
  readonly callsQueued: number;
}

/** A service served on NATS: made by {@link serveNats}. */
export interface NatsServer extends AsyncDisposable {
  /** The subjects the server takes calls on, e.g. `"ipc.rpc.calc.Calculator.*"`. */
  readonly subject: string;
  /** The queue group it shares them in. */
  readonly queue: string;
  /**
   * Shuts down gracefully: stops taking calls (the ones NATS already delivered are still run), lets the
   * calls in flight finish, then stops listening. When `timeout` passes (or `signal` aborts) first, the
   * calls still running fail with `UNAVAILABLE` and their handlers' signals abort. The NATS connection
   * stays open (it is not the server's). Default: no time limit.
   */
  close(options?: WaitOptions): Promise<void>;
  /** Stops at once: every handler's signal aborts, nothing more is answered. */
  abort(reason?: Error): void;
  /** Resolves once the server has stopped, or its NATS connection closed. */
  readonly closed: Promise<void>;
  stats(): NatsServerStats;
}

interface Route {
  readonly method: AnyMethod;
  readonly info: MethodInfo;
  readonly handler: ((input: unknown, context: never) => unknown) | undefined;
  /** The method's subject (`<prefix>.<service>.<Method>`) as bytes, to find the route without decoding the subject. */
  subject: Uint8Array;
}

class NatsRpcServer implements NatsServer, CallOwner {
  readonly nats: NatsConnection;
  readonly subject: string;
  readonly queue: string;
  readonly interceptors: ResolvedServeOptions["interceptors"];
  readonly maxMessageSize: number;
  readonly streamWindow: number;
  readonly #options: ResolvedServeOptions;
  readonly #service: string;
  readonly #routes: Map<string, Route>;
  readonly #routeList: readonly Route[];
  readonly #inbox: string;
  readonly #calls = new Map<string, NatsServerCall>();
  readonly #byToken = new Map<string, NatsServerCall>();
  readonly #queue: NatsServerCall[] = [];
  readonly #closed = new Deferred();
  readonly #requests: Subscription;
  readonly #cancels: Subscription;
  readonly #streams: Subscription;
  #running = 0;
  #received = 0;
  #nextToken = 1;
  #stopping = false;
  #idle: Deferred | undefined;

  constructor(nats: NatsConnection, service: string, routes: Map<string, Route>, options: ResolvedServeOptions) {
    this.nats = nats;
    this.#service = service;
    this.#routes = routes;
    this.#options = options;
    this.interceptors = options.interceptors;
    this.maxMessageSize = options.maxMessageSize ?? nats.info?.max_payload ?? 1024 * 1024;
    this.streamWindow = options.streamWindow;
    const base = serviceSubject(options.prefix, service);
    const encoder = new TextEncoder();
    for (const route of routes.values()) route.subject = encoder.encode(`${base}.${route.method.name}`);
    this.#routeList = [...routes.values()];
    this.subject = `${base}.*`;
    this.queue = options.queue ?? base;
    this.#inbox = createInbox(options.inboxPrefix);
    this.#requests = nats.subscribe(this.subject, { queue: this.queue, callback: (error, msg) => this.#guard(error, () => this.#onRequest(msg)) });
    this.#cancels = nats.subscribe(cancelSubject(options.prefix, service), { callback: (error, msg) => this.#guard(error, () => this.#onCancel(msg)) });
    this.#streams = nats.subscribe(`${this.#inbox}.*`, { callback: (error, msg) => this.#guard(error, () => this.#onCallMessage(msg)) });
    void nats.closed().then(() => this.#stop(new RpcError("UNAVAILABLE", "the server's NATS connection closed")));
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  stats(): NatsServerStats {
    return { callsReceived: this.#received, callsRunning: this.#running, callsQueued: this.#queue.length };
  }

  callSubject(call: NatsServerCall): string {
    const token = String(this.#nextToken++);
    this.#byToken.set(token, call);
    return `${this.#inbox}.${token}`;
  }

  settled(call: NatsServerCall): void {
    this.#calls.delete(call.reply);
    if (call.subject !== undefined) this.#byToken.delete(call.subject.slice(this.#inbox.length + 1));
    if (!call.started) {
      const i = this.#queue.indexOf(call);
      if (i >= 0) this.#queue.splice(i, 1);
    }
    if (this.#calls.size === 0 && this.#idle !== undefined) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }

  released(_call: NatsServerCall): void {
    this.#running--;
    while (this.#running < this.#options.maxConcurrentCalls && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      this.#running++;
      next.start();
    }
  }

  async close(options?: WaitOptions): Promise<void> {
    const limit = closeSignal(options);
    if (!this.#stopping) {
      this.#stopping = true;
      // Calls NATS already handed to this server are still taken; then no more.
      if (!this.nats.isClosed()) await this.#requests.drain().catch(() => undefined);
    }
    if (this.#calls.size > 0) {
      this.#idle ??= new Deferred();
      await waitOrAbort(this.#idle.promise, limit);
      const error = new RpcError("UNAVAILABLE", "the server shut down before the call finished", { cause: limit?.reason });
      for (const call of [...this.#calls.values()]) call.fail(error);
    }
    if (!this.nats.isClosed()) await this.nats.flush().catch(() => undefined);
    this.#stop(new RpcError("UNAVAILABLE", "the server is closed"));
  }

  abort(reason?: Error): void {
    this.#stop(new RpcError("UNAVAILABLE", `the server was aborted${reason ? `: ${reason.message}` : ""}`, { cause: reason }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #stop(reason: RpcError): void {
    this.#stopping = true;
    for (const call of [...this.#calls.values()]) call.abandon(reason);
    this.#queue.length = 0;
    if (!this.nats.isClosed()) {
      for (const subscription of [this.#requests, this.#cancels, this.#streams]) {
        if (!subscription.isClosed()) subscription.unsubscribe();
      }
    }
    this.#closed.resolve();
  }

  /** A subscription error (permissions) stops the server; a bug in one call must not stop the others. */
  #guard(error: Error | null, handle: () => void): void {
    if (error !== null) {
      this.#stop(new RpcError("UNAVAILABLE", `the server's NATS subscription failed: ${messageOf(error)}`, { cause: error }));
      return;
    }
    handle();
  }

  #answer(reply: string, error: RpcError): void {
    publishQuietly(this.nats, reply, EMPTY, { headers: statusHeaders(error) });
  }

  #onRequest(msg: Msg): void {
    const reply = msg.reply;
    if (reply === undefined || reply === "") return; // Nobody to answer: not a call (docs/wire.md §9.4).
    this.#received++;
    // The same call again (its client reconnected and sent it again while it runs here): it is answered once.
    if (this.#calls.has(reply)) return;
    const route = this.#routeOf(msg);
    if (route?.handler === undefined) {
      const name = msg.subject.slice(msg.subject.lastIndexOf(".") + 1);
      const served = [...this.#routes.values()].filter((r) => r.handler !== undefined).map((r) => r.info.path);
      this.#answer(reply, new RpcError("UNIMPLEMENTED", `${this.#service} has no handler for ${name} here (served: ${served.join(", ") || "none"})`));
      return;
    }
    const path = route.info.path;
    if (this.#stopping) return this.#answer(reply, new RpcError("UNAVAILABLE", `${path}: the server is shutting down`));
    const head = requestHead(msg);
    if (head.metadataTooLarge) {
      return this.#answer(reply, new RpcError("RESOURCE_EXHAUSTED", `${path}: the request's metadata is over 256 entries or 64 KiB`));
    }
    if (msg.data.byteLength > this.maxMessageSize) {
      return this.#answer(
        reply,
        new RpcError(
          "RESOURCE_EXHAUSTED",
          `${path}: the request is ${msg.data.byteLength} bytes, over the server's maxMessageSize of ${this.maxMessageSize} bytes`,
        ),
      );
    }
    const kind = route.method.kind;
    let request: unknown;
    if (kind === "unary" || kind === "server-stream") {
      try {
        request = route.method.requestType.decode(msg.data);
      } catch (error) {
        return this.#answer(
          reply,
          new RpcError("INVALID_ARGUMENT", `${path}: the request does not decode as ${route.method.requestTypeName}: ${messageOf(error)}`, { cause: error }),
        );
      }
    }
    const call = new NatsServerCall(this, reply, route.method, route.info, route.handler as never, request, head);
    this.#calls.set(reply, call);
    if (this.#running < this.#options.maxConcurrentCalls) {
      this.#running++;
      call.start(true);
    } else if (this.#queue.length < this.#options.maxQueuedCalls) {
      this.#queue.push(call);
    } else {
      call.fail(new RpcError("RESOURCE_EXHAUSTED", `${path}: this server runs ${this.#running} calls and has ${this.#queue.length} waiting`));
    }
  }

  /** The route of a request's method: by the subject's bytes where the message keeps them, else by its name. */
  #routeOf(msg: Msg): Route | undefined {
    for (const route of this.#routeList) {
      const same = subjectEquals(msg, route.subject);
      if (same === undefined) break;
      if (same) return route;
    }
    return this.#routes.get(msg.subject.slice(msg.subject.lastIndexOf(".") + 1));
  }

  #onCancel(msg: Msg): void {
    let reply: string | undefined;
    let status = 0;
    for (const [name, values] of msg.headers ?? []) {
      const lower = name.toLowerCase();
      if (lower === Lower.Reply) reply = values[values.length - 1];
      else if (lower === Lower.Cancel) status = parseCount(values[values.length - 1]) ?? 1;
    }
    if (reply !== undefined) this.#calls.get(reply)?.onCancel(status);
  }

  #onCallMessage(msg: Msg): void {
    const call = this.#byToken.get(msg.subject.slice(this.#inbox.length + 1));
    if (call === undefined) return; // Late: the call has ended.
    const headers = msg.headers;
    if (headers === undefined) return call.onStreamMessage(msg.data);
    for (const [name, values] of headers) {
      const value = values[values.length - 1];
      switch (name.toLowerCase()) {
        case Lower.End:
          call.onEnd();
          break;
        case Lower.Window:
          call.onWindow(parseCount(value) ?? 0);
          break;
        case Lower.Cancel:
          call.onCancel(parseCount(value) ?? 1);
          return;
        default:
      }
    }
  }
}

/** A request's headers: read in place when they are the usual `Ipc-Timeout`/`Ipc-Window`, else decoded. */
function requestHead(msg: Msg): RequestHead {
  const block = headerBytes(msg);
  if (block === null) return readRequestHead(undefined);
  return (block === undefined ? undefined : readRequestHeadBytes(block)) ?? readRequestHead(msg.headers);
}

function routesOf(service: Service<Methods>, implementation: object): Map<string, Route> {
  for (const key of Object.keys(implementation)) {
    if (!(key in service.methods)) {
      throw new InvalidArgumentError(`the implementation has '${key}', which is not an rpc of ${service.name} (${Object.keys(service.methods).join(", ")})`);
    }
  }
  const routes = new Map<string, Route>();
  for (const [key, method] of Object.entries(service.methods)) {
    const handler = (implementation as Record<string, unknown>)[key];
    if (handler !== undefined && typeof handler !== "function") {
      throw new InvalidArgumentError(`the handler of ${method.path} ('${key}') must be a function, got ${typeof handler}`);
    }
    routes.set(method.name, {
      method: method as AnyMethod,
      info: methodInfo(service.name, method as AnyMethod),
      handler: handler as Route["handler"],
      subject: EMPTY,
    });
  }
  return routes;
}

/**
 * Serves `service` with `implementation` (one handler per rpc, as for @ipc/rpc's `serve`) on the NATS
 * connection `nats`: calls arrive on `<prefix>.<service>.<Method>` in queue group `queue`, so that N
 * processes serving the same service share the calls. Returns at once. Throws `InvalidArgumentError` when
 * the implementation or an option is wrong. The connection stays the caller's to close.
 */
export function serveNats<M extends Methods>(
  nats: NatsConnection,
  service: Service<M>,
  implementation: Implementation<M>,
  options?: NatsServeOptions,
): NatsServer {
  if (typeof (service as Service<Methods> | undefined)?.methods !== "object") {
    throw new InvalidArgumentError("serveNats() takes a service from loadService()");
  }
  if (implementation === null || typeof implementation !== "object") {
    throw new InvalidArgumentError("serveNats() takes an implementation: an object with one handler per rpc");
  }
  if (typeof nats?.subscribe !== "function") {
    throw new InvalidArgumentError("serveNats() takes a NatsConnection (connect() of @nats-io/transport-node)");
  }
  const resolved = resolveServeOptions(options);
  return new NatsRpcServer(nats, service.name, routesOf(service as Service<Methods>, implementation), resolved);
}
