/**
 * `serveLocalFirst(nats, service, implementation, { listeners })`: one service on NATS and on local
 * listeners (a Unix socket, shared memory) at once, with the local endpoints announced beside its NATS
 * subjects (docs/wire.md §9.7).
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { serve, type Implementation, type Methods, type ServeOptions, type Server, type Service } from "@ipc/rpc";
import { Deferred, InvalidArgumentError, type Listener, type WaitOptions } from "../deps.js";

import { serveNats, type NatsServer } from "../rpc/server.js";
import type { NatsServeOptions } from "../rpc/options.js";
import { DEFAULT_RPC_PREFIX, checkPrefix } from "../rpc/wire.js";
import { LOCAL_PREFERENCE, byPreference, checkHost, encodeAnnouncement, localHostId, localSubject } from "./announce.js";

/** Options of {@link serveLocalFirst}: those of `serveNats`, and the local side's. */
export interface LocalFirstServeOptions extends NatsServeOptions {
  /**
   * Listeners of local transports to serve on as well (`@ipc/unix`'s `listen()`, `@ipc/shm`'s, …): their
   * addresses are announced, fastest first. The server owns them from now on. Default: none (NATS only).
   */
  readonly listeners?: readonly Listener[] | undefined;
  /** Options of the local servers (`serve()` of @ipc/rpc). Default: its defaults. */
  readonly local?: ServeOptions | undefined;
  /** This machine's id, as clients on it compute it. Default: `localHostId()`. */
  readonly host?: string | undefined;
}

/** A service served on NATS and locally. */
export interface LocalFirstServer extends AsyncDisposable {
  /** The NATS side. */
  readonly nats: NatsServer;
  /** One @ipc/rpc server per local listener. */
  readonly local: readonly Server[];
  /** The announced local addresses, fastest first. */
  readonly endpoints: readonly string[];
  /** Stops announcing, then closes every side gracefully (see `NatsServer.close`, `Server.close`). */
  close(options?: WaitOptions): Promise<void>;
  /** Stops every side at once. */
  abort(reason?: Error): void;
  /** Resolves once every side has stopped. */
  readonly closed: Promise<void>;
}

class LocalFirst implements LocalFirstServer {
  readonly nats: NatsServer;
  readonly local: readonly Server[];
  readonly endpoints: readonly string[];
  readonly #announcements: Subscription;
  readonly #connection: NatsConnection;
  readonly #closed = new Deferred();

  constructor(nats: NatsConnection, natsServer: NatsServer, local: Server[], endpoints: string[], subject: string, announcement: Uint8Array) {
    this.#connection = nats;
    this.nats = natsServer;
    this.local = local;
    this.endpoints = endpoints;
    this.#announcements = nats.subscribe(subject, {
      callback: (error, msg) => {
        if (error === null && msg.reply) msg.respond(announcement);
      },
    });
    void Promise.all([natsServer.closed, ...local.map((s) => s.closed)]).then(() => this.#closed.resolve());
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  async close(options?: WaitOptions): Promise<void> {
    this.#stopAnnouncing();
    await Promise.all([this.nats.close(options), ...this.local.map((s) => s.close(options))]);
  }

  abort(reason?: Error): void {
    this.#stopAnnouncing();
    this.nats.abort(reason);
    for (const server of this.local) server.abort(reason);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #stopAnnouncing(): void {
    if (!this.#announcements.isClosed() && !this.#connection.isClosed()) this.#announcements.unsubscribe();
  }
}

/**
 * Serves `service` on NATS (as {@link serveNats}: in a queue group) and on each of `options.listeners`
 * (as @ipc/rpc's `serve`), and answers clients on the same machine that ask for its local endpoints, so
 * that {@link connectService} reaches it directly. Returns at once.
 */
export function serveLocalFirst<M extends Methods>(
  nats: NatsConnection,
  service: Service<M>,
  implementation: Implementation<M>,
  options?: LocalFirstServeOptions,
): LocalFirstServer {
  const listeners = options?.listeners ?? [];
  if (!Array.isArray(listeners) || listeners.some((l) => typeof l?.accept !== "function")) {
    throw new InvalidArgumentError("listeners must be an array of @ipc Listeners");
  }
  const host = checkHost(options?.host ?? localHostId());
  const prefix = checkPrefix(options?.prefix ?? DEFAULT_RPC_PREFIX);
  const natsServer = serveNats(nats, service, implementation, options);
  const local = listeners.map((listener) => serve(listener, service, implementation, options?.local));
  const endpoints = byPreference(
    listeners.map((l) => l.address),
    LOCAL_PREFERENCE,
  );
  const announcement = encodeAnnouncement({ service: service.name, endpoints, pid: process.pid });
  return new LocalFirst(nats, natsServer, local, endpoints, localSubject(prefix, host, service.name), announcement);
}
