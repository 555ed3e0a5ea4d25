/**
 * `serve(listenerOrConnection, service, implementation)`: runs a service's handlers for every connection a
 * listener accepts (or for one connection), until `close()` shuts it down gracefully.
 */
import { InvalidArgumentError, type Connection, type Listener, type WaitOptions } from "@ipc/core";
import { Deferred } from "@ipc/core/transport";
import { closeSignal, lastCloseOptions, waitOrAbort } from "./deadline.js";
import { methodInfo, type Methods, type Service } from "./method.js";
import { resolveServeOptions, type ServeOptions } from "./options.js";
import { RouteTable } from "./routes.js";
import { ServerConnection, type ServedService } from "./server-connection.js";
import { RpcError } from "./status.js";
import type { Implementation } from "./types.js";

/** What {@link Server.stats} reports: the load of a server at this moment. */
export interface ServerStats {
  /** Connections being served. */
  readonly connections: number;
  /** Handlers running (including ones whose call was cancelled but which have not returned yet). */
  readonly callsRunning: number;
  /** Calls waiting for a free slot (`maxConcurrentCalls`). */
  readonly callsQueued: number;
  /** Bytes of responses handed to connections and not yet accepted by them. */
  readonly pendingResponseBytes: number;
}

/** A running server: made by {@link serve}. */
export interface Server extends AsyncDisposable {
  /**
   * Shuts down gracefully: stops accepting connections (closes the listener) and calls (new ones fail with
   * `UNAVAILABLE`), lets the calls in flight finish, then closes the connections. When `timeout` passes
   * (or `signal` aborts) first, the calls still in flight fail with `UNAVAILABLE` (their handlers' signals
   * abort) and the connections are closed, each given at most 1 s more to deliver those responses.
   * Default: no time limit.
   */
  close(options?: WaitOptions): Promise<void>;
  /** Stops at once: every call in flight is abandoned (handlers' signals abort), every connection aborted. */
  abort(reason?: Error): void;
  /**
   * Resolves when the server has stopped: after `close()` or `abort()`, or, when it serves one connection,
   * once that connection is gone.
   */
  readonly closed: Promise<void>;
  /** The current load, for metrics and tests. */
  stats(): ServerStats;
}

function isListener(target: Listener | Connection): target is Listener {
  return typeof (target as Listener).accept === "function";
}

function routesOf(service: Service<Methods>, implementation: object): RouteTable {
  const routes = new RouteTable();
  for (const key of Object.keys(implementation)) {
    if (!(key in service.methods)) {
      const names = Object.keys(service.methods).join(", ");
      throw new InvalidArgumentError(`the implementation has '${key}', which is not an rpc of ${service.name} (${names})`);
    }
  }
  for (const [key, method] of Object.entries(service.methods)) {
    const handler = (implementation as Record<string, unknown>)[key];
    if (handler !== undefined && typeof handler !== "function") {
      throw new InvalidArgumentError(`the handler of ${method.path} ('${key}') must be a function, got ${typeof handler}`);
    }
    routes.add({
      method,
      info: methodInfo(service.name, method),
      handler: handler as ((input: unknown, context: never) => unknown) | undefined,
    });
  }
  return routes;
}

class RpcServer implements Server {
  readonly #service: ServedService;
  readonly #listener: Listener | undefined;
  readonly #connections = new Set<ServerConnection>();
  readonly #closed = new Deferred();
  #stopping = false;

  constructor(target: Listener | Connection, service: ServedService) {
    this.#service = service;
    if (isListener(target)) {
      this.#listener = target;
      void this.#accept(target);
    } else {
      this.#listener = undefined;
      const connection = this.#add(target);
      void connection.finished.then(() => this.#closed.resolve());
    }
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  stats(): ServerStats {
    let callsRunning = 0;
    let callsQueued = 0;
    let pendingResponseBytes = 0;
    for (const connection of this.#connections) {
      const stats = connection.stats();
      callsRunning += stats.running;
      callsQueued += stats.queued;
      pendingResponseBytes += stats.pendingBytes;
    }
    return { connections: this.#connections.size, callsRunning, callsQueued, pendingResponseBytes };
  }

  async close(options?: WaitOptions): Promise<void> {
    const limit = closeSignal(options);
    this.#stopping = true;
    // Refuse new calls from this moment, not from when the listener has closed (a later tick).
    for (const connection of this.#connections) connection.shutdown();
    await this.#listener?.close();
    const connections = [...this.#connections];
    await waitOrAbort(Promise.all(connections.map((c) => c.idle())).then(noop), limit);
    const error = new RpcError("UNAVAILABLE", "the server shut down before the call finished", { cause: limit?.reason });
    for (const connection of connections) connection.failAll(error);
    // Past the deadline, each connection still gets a moment to deliver those last responses.
    const closing = lastCloseOptions(limit);
    await Promise.all(connections.map((c) => c.connection.close(closing)));
    await Promise.all(connections.map((c) => c.finished));
    this.#closed.resolve();
  }

  abort(reason?: Error): void {
    this.#stopping = true;
    void this.#listener?.close();
    for (const connection of this.#connections) connection.connection.abort(reason);
    void Promise.all([...this.#connections].map((c) => c.finished)).then(() => this.#closed.resolve());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #accept(listener: Listener): Promise<void> {
    try {
      for await (const connection of listener) {
        if (this.#stopping) {
          connection.abort(new RpcError("UNAVAILABLE", "the server is shutting down"));
          continue;
        }
        this.#add(connection);
      }
    } catch {
      // A listener that fails stops accepting; the connections already served go on.
    }
  }

  #add(connection: Connection): ServerConnection {
    const served = new ServerConnection(connection, this.#service);
    if (this.#stopping) served.shutdown();
    this.#connections.add(served);
    void served.finished.then(() => this.#connections.delete(served));
    return served;
  }
}

function noop(): void {}

/**
 * Serves `service` with `implementation` (one handler per rpc, named like the client's methods) on every
 * connection `target` accepts, or on the connection `target`. Returns at once; the server runs until
 * `close()` (or, for one connection, until it closes). The server owns the connections it serves. Throws
 * `InvalidArgumentError` when the implementation or an option is wrong.
 */
export function serve<M extends Methods>(
  target: Listener | Connection,
  service: Service<M>,
  implementation: Implementation<M>,
  options?: ServeOptions,
): Server {
  if (typeof (service as Service<Methods> | undefined)?.methods !== "object") {
    throw new InvalidArgumentError("serve() takes a service from loadService()");
  }
  if (implementation === null || typeof implementation !== "object") {
    throw new InvalidArgumentError("serve() takes an implementation: an object with one handler per rpc");
  }
  if (typeof target?.[Symbol.asyncIterator] !== "function") {
    throw new InvalidArgumentError("serve() takes a Listener or a Connection");
  }
  const resolved = resolveServeOptions(options);
  const routes = routesOf(service as Service<Methods>, implementation);
  return new RpcServer(target, { name: service.name, routes, options: resolved });
}
