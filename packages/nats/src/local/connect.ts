/**
 * `connectService(nats, service, { connect })`: a client of a service that is on this machine when it can
 * be (directly over its fastest local endpoint), and over NATS otherwise — the same methods either way.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { createClient, type ClientMethod, type ClientOptions, type Methods, type Service } from "@ipc/rpc";
import { InvalidArgumentError, type Connection, type WaitOptions } from "../deps.js";
import { createNatsClient } from "../rpc/client.js";
import type { NatsClientOptions } from "../rpc/options.js";
import { DEFAULT_RPC_PREFIX, checkPrefix } from "../rpc/wire.js";
import { LOCAL_PREFERENCE, byPreference, checkHost, decodeAnnouncement, localHostId, localSubject } from "./announce.js";

/** How a {@link ServiceClient} reaches its service. */
export type ServiceRoute = { readonly kind: "local"; readonly address: string } | { readonly kind: "nats"; readonly why: string };

/** Options of {@link connectService}. */
export interface ConnectServiceOptions extends NatsClientOptions, WaitOptions {
  /**
   * Opens a connection to a local address (`unix:///…`, `shm://…`): `connect` of @ipc/kit (every scheme),
   * or of one transport package. Without it, the client always goes over NATS. Default: none.
   */
  readonly connect?: ((address: string, options: WaitOptions) => Promise<Connection>) | undefined;
  /** Local schemes in the order to try them. Default: `["shm", "unix-abstract", "unix", "tcp"]`. */
  readonly prefer?: readonly string[] | undefined;
  /** Options of the local client (`createClient` of @ipc/rpc). Default: its defaults. */
  readonly local?: ClientOptions | undefined;
  /** This machine's id, as its servers compute it. Default: `localHostId()`. */
  readonly host?: string | undefined;
  /** Go over NATS even when the service is on this machine. Default: false. */
  readonly forceNats?: boolean | undefined;
}

/** The client's own members, whatever the route. */
export interface ServiceClientHandle extends AsyncDisposable {
  /** Where the calls go: a local address, or NATS (and why not locally). */
  readonly route: ServiceRoute;
  close(options?: WaitOptions): Promise<void>;
  abort(reason?: Error): void;
  readonly closed: Promise<void>;
}

/** A client of service methods `M`, local or over NATS: one method per rpc, as @ipc/rpc's `Client<M>`. */
export type ServiceClient<M extends Methods> = { readonly [K in keyof M]: ClientMethod<M[K]> } & ServiceClientHandle;

/**
 * A client of `service`: asks (on NATS) whether a server of it runs on this machine; if one does, connects
 * to its fastest local endpoint that `options.connect` can open (`prefer` order) and calls over @ipc/rpc
 * directly; otherwise (none here, no `connect`, or every local connect failed) calls over NATS. The
 * answer is immediate either way (NATS "no responders" when no local server listens). `timeout` and
 * `signal` bound the asking and connecting (default: 10 s).
 */
export async function connectService<M extends Methods>(nats: NatsConnection, service: Service<M>, options?: ConnectServiceOptions): Promise<ServiceClient<M>> {
  if (typeof nats?.request !== "function") throw new InvalidArgumentError("connectService() takes a NatsConnection");
  const route = await localRoute(nats, service.name, options);
  if (route.kind === "local") {
    const client = createClient(service, route.connection, options?.local);
    return withRoute<M>(client, { kind: "local", address: route.address });
  }
  return withRoute<M>(createNatsClient(service, nats, options), { kind: "nats", why: route.why });
}

type Found = { kind: "local"; address: string; connection: Connection } | { kind: "nats"; why: string };

async function localRoute(nats: NatsConnection, service: string, options: ConnectServiceOptions | undefined): Promise<Found> {
  if (options?.forceNats) return { kind: "nats", why: "forceNats" };
  const connect = options?.connect;
  if (connect === undefined) return { kind: "nats", why: "no connect function for local addresses was given" };
  const prefix = checkPrefix(options?.prefix ?? DEFAULT_RPC_PREFIX);
  const host = checkHost(options?.host ?? localHostId());
  const timeout = options?.timeout ?? 10_000;
  let reply;
  try {
    reply = await nats.request(localSubject(prefix, host, service), undefined, { timeout });
  } catch (error) {
    return { kind: "nats", why: `no server of ${service} on this machine (${(error as Error).message})` };
  }
  const announcement = decodeAnnouncement(reply.data);
  if (announcement === undefined || announcement.service !== service) {
    return { kind: "nats", why: "the local announcement did not decode" };
  }
  const failures: string[] = [];
  for (const address of byPreference(announcement.endpoints, options?.prefer ?? LOCAL_PREFERENCE)) {
    try {
      const connection = await connect(address, { timeout, signal: options?.signal });
      return { kind: "local", address, connection };
    } catch (error) {
      failures.push(`${address}: ${(error as Error).message}`);
    }
  }
  return { kind: "nats", why: `no local endpoint could be opened (${failures.join("; ") || "none announced"})` };
}

function withRoute<M extends Methods>(client: object, route: ServiceRoute): ServiceClient<M> {
  Object.defineProperty(client, "route", { value: Object.freeze(route), enumerable: false });
  return client as unknown as ServiceClient<M>;
}
