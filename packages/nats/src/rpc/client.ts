/**
 * `createNatsClient(service, nats)`: the same client as @ipc/rpc's `createClient`, over NATS request/reply
 * (docs/wire.md §9). One wildcard subscription on the client's inbox receives every call's messages; calls
 * without an answer are sent again when the NATS connection comes back (see `retryOnReconnect`).
 */
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { RpcError, type CallOptions, type ClientCallContext, type ClientMethod, type MethodInfo, type Methods, type Service } from "@ipc/rpc";
import { closeSignal, deadlineOf, messageOf, methodInfo, waitOrAbort, type AnyMethod } from "@ipc/rpc/carrier";
import { Deferred, InvalidArgumentError, type WaitOptions } from "../deps.js";
import { NatsClientCall, type CallHost } from "./client-call.js";
import { resolveClientOptions, type NatsClientOptions, type ResolvedClientOptions } from "./options.js";
import { tokenAfter } from "./raw-msg.js";
import { cancelSubject, methodSubject } from "./wire.js";

/** The client's own members, next to one method per rpc. */
export interface NatsClientHandle extends AsyncDisposable {
  /** The NATS connection the client uses. It is not the client's: closing the client leaves it open. */
  readonly nats: NatsConnection;
  /**
   * Stops new calls (they fail with `UNAVAILABLE`), waits for the calls in flight, then stops listening
   * for answers. When `timeout` passes (or `signal` aborts) first, the calls still in flight are cancelled
   * (`CANCELLED`, and their servers are told). Default: no time limit.
   */
  close(options?: WaitOptions): Promise<void>;
  /** Fails every call in flight with `UNAVAILABLE` (`cause`: `reason`) and stops listening at once. */
  abort(reason?: Error): void;
  /** Resolves once the client is closed or aborted, or its NATS connection closed. */
  readonly closed: Promise<void>;
  /** Counters, for monitoring and tests. */
  stats(): NatsClientStats;
}

/** What {@link NatsClientHandle.stats} reports. */
export interface NatsClientStats {
  /** Calls in flight now. */
  readonly calls: number;
  /** Requests sent again after the NATS connection came back (see `retryOnReconnect`). */
  readonly resent: number;
}

/** A client of service methods `M` over NATS: one method per rpc, as @ipc/rpc's `Client<M>`. */
export type NatsClient<M extends Methods> = { readonly [K in keyof M]: ClientMethod<M[K]> } & NatsClientHandle;

/** Members of a NATS client beyond @ipc/rpc's reserved names (`route`: see `connectService`). */
const NATS_CLIENT_MEMBERS: ReadonlySet<string> = new Set(["nats", "stats", "route"]);

const enum State {
  Open,
  Closing,
  Closed,
}

class NatsRpcClient implements CallHost, NatsClientHandle {
  readonly nats: NatsConnection;
  readonly streamWindow: number;
  readonly maxMessageSize: number | undefined;
  readonly cancelSubject: string;
  readonly #options: ResolvedClientOptions;
  readonly #service: Service<Methods>;
  readonly #inbox: string;
  /** `<inbox>.`: a call's reply subject is this and its token (docs/wire.md §9.1). */
  readonly #replyPrefix: string;
  readonly #subscription: Subscription;
  /** The calls in flight by their token, the number that ends their reply subject. */
  readonly #calls = new Map<number, NatsClientCall>();
  readonly #closed = new Deferred();
  #next = 1;
  #state = State.Open;
  #unavailable: RpcError | undefined;
  #idle: Deferred | undefined;
  #stopWatching: () => void = () => undefined;
  #resent = 0;

  constructor(service: Service<Methods>, nats: NatsConnection, options: ResolvedClientOptions) {
    this.nats = nats;
    this.#service = service;
    this.#options = options;
    this.streamWindow = options.streamWindow;
    this.maxMessageSize = options.maxMessageSize;
    this.cancelSubject = cancelSubject(options.prefix, service.name);
    this.#inbox = createInbox(options.inboxPrefix);
    this.#replyPrefix = `${this.#inbox}.`;
    this.#subscription = nats.subscribe(`${this.#inbox}.*`, { callback: (error, msg) => this.#onMessage(error, msg) });
    for (const [key, method] of Object.entries(service.methods)) {
      Object.defineProperty(this, key, { value: this.#methodFor(method as AnyMethod), enumerable: true });
    }
    void this.#watchConnection();
    void nats.closed().then(() => this.#shut(new RpcError("UNAVAILABLE", "the NATS connection closed")));
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  stats(): NatsClientStats {
    return { calls: this.#calls.size, resent: this.#resent };
  }

  register(call: NatsClientCall): string {
    if (this.#state !== State.Open) {
      throw this.#unavailable ?? new RpcError("UNAVAILABLE", `${call.info.path}: the client is closing`);
    }
    const token = this.#next++;
    call.token = token;
    this.#calls.set(token, call);
    return this.#replyPrefix + token;
  }

  unregister(call: NatsClientCall): void {
    this.#calls.delete(call.token);
    if (this.#calls.size === 0 && this.#idle !== undefined) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }

  async close(options?: WaitOptions): Promise<void> {
    const limit = closeSignal(options);
    if (this.#state === State.Open) {
      this.#state = State.Closing;
      this.#unavailable = new RpcError("UNAVAILABLE", "the client is closed: no new calls");
    }
    if (this.#calls.size > 0) {
      this.#idle ??= new Deferred();
      await waitOrAbort(this.#idle.promise, limit);
      const error = new RpcError("CANCELLED", "the client closed before the call finished", { cause: limit?.reason });
      for (const call of [...this.#calls.values()]) call.cancel(error);
    }
    this.#shut(this.#unavailable ?? new RpcError("UNAVAILABLE", "the client is closed"));
    if (!this.nats.isClosed()) await this.nats.flush().catch(() => undefined);
  }

  abort(reason?: Error): void {
    const why = reason === undefined ? "" : `: ${reason.message}`;
    this.#shut(new RpcError("UNAVAILABLE", `the client was aborted${why}`, { cause: reason }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Ends every call with `error`, stops listening, and settles `closed`. */
  #shut(error: RpcError): void {
    if (this.#state !== State.Closing || this.#unavailable === undefined) this.#unavailable = error;
    this.#state = State.Closed;
    for (const call of [...this.#calls.values()]) call.abandon(error);
    this.#calls.clear();
    this.#idle?.resolve();
    this.#idle = undefined;
    if (!this.#subscription.isClosed() && !this.nats.isClosed()) this.#subscription.unsubscribe();
    this.#stopWatching();
    this.#closed.resolve();
  }

  #onMessage(error: Error | null, msg: Msg): void {
    if (error !== null) {
      this.#shut(new RpcError("UNAVAILABLE", `the client's NATS subscription failed: ${messageOf(error)}`, { cause: error }));
      return;
    }
    const token = tokenAfter(msg, this.#inbox.length);
    if (token >= 0) this.#calls.get(token)?.onMessage(msg);
  }

  /** After a reconnect: sends again what may have been lost, fails the streams that cannot be resumed. */
  async #watchConnection(): Promise<void> {
    const statuses = this.nats.status();
    this.#stopWatching = () => (statuses as { stop?(): void }).stop?.();
    for await (const status of statuses) {
      if (this.#state === State.Closed) return;
      if (status.type !== "reconnect") continue;
      const lost = new RpcError("UNAVAILABLE", `the NATS connection was lost during the call (now on ${status.server})`);
      for (const call of [...this.#calls.values()]) {
        if (call.resendable && this.#options.retry(call.info)) {
          try {
            call.send();
            this.#resent++;
          } catch (sendError) {
            call.cancel(sendError as RpcError);
          }
        } else {
          call.cancel(lost);
        }
      }
    }
  }

  #methodFor(method: AnyMethod): (input: unknown, options?: CallOptions) => unknown {
    const single = method.kind === "unary" || method.kind === "client-stream";
    const info = methodInfo(this.#service.name, method);
    const subject = methodSubject(this.#options.prefix, this.#service.name, method.name);
    return (input, options) => {
      let call: NatsClientCall;
      try {
        call = this.#call(method, info, subject, input, options);
      } catch (error) {
        if (single) return Promise.reject(error);
        throw error;
      }
      return single ? call.promise : call.responses;
    };
  }

  #call(method: AnyMethod, info: MethodInfo, subject: string, input: unknown, options: CallOptions | undefined): NatsClientCall {
    const deadline = deadlineOf(options);
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new InvalidArgumentError(`${method.path}: signal must be an AbortSignal`);
    }
    if (this.#options.interceptors.length === 0) {
      const call = new NatsClientCall(this, method, info, subject, options, deadline, undefined);
      call.start(options?.metadata, input);
      return call;
    }
    return this.#intercept(method, info, subject, input, options, deadline);
  }

  /** Runs the call inside the interceptors, as @ipc/rpc's client does: the first is outermost. */
  #intercept(
    method: AnyMethod,
    info: MethodInfo,
    subject: string,
    input: unknown,
    options: CallOptions | undefined,
    deadline: number | undefined,
  ): NatsClientCall {
    const completion = new Deferred();
    const call = new NatsClientCall(this, method, info, subject, options, deadline, completion);
    const controller = new AbortController();
    completion.promise.catch((error: unknown) => controller.abort(error));
    const context: ClientCallContext = {
      method: info,
      metadata: { ...options?.metadata },
      deadline: deadline === undefined ? undefined : new Date(deadline),
      signal: controller.signal,
    };
    const interceptors = this.#options.interceptors;
    let started = false;
    const run = (index: number): Promise<void> => {
      if (index < interceptors.length) {
        try {
          return Promise.resolve(interceptors[index]!(context, () => run(index + 1)));
        } catch (error) {
          return Promise.reject(error);
        }
      }
      if (started) return Promise.reject(new RpcError("INTERNAL", `${info.path}: a client interceptor called next() twice`));
      started = true;
      call.start(context.metadata, input);
      return completion.promise;
    };
    run(0).then(
      () => {
        if (call.done) return call.deliver(undefined);
        if (!started) {
          const error = new RpcError("INTERNAL", `${info.path}: a client interceptor returned without calling next()`);
          call.cancel(error);
          return call.deliver(error);
        }
        completion.promise.then(
          () => call.deliver(undefined),
          () => call.deliver(undefined),
        );
      },
      (error: unknown) => {
        const rpcError =
          error instanceof RpcError ? error : new RpcError("INTERNAL", `${info.path}: a client interceptor failed: ${messageOf(error)}`, { cause: error });
        if (!call.done) call.cancel(rpcError);
        call.deliver(rpcError);
      },
    );
    return call;
  }
}

/**
 * A client of `service` whose calls travel over NATS: one method per rpc, with the same shapes, options
 * (`{ signal, timeout, deadline, metadata }`) and `RpcError`s as @ipc/rpc's `createClient`. Calls go to
 * `<prefix>.<service>.<Method>`, where `serveNats` servers (any number, in a queue group) answer. No
 * server is `UNAVAILABLE` at once (NATS "no responders"). Throws `InvalidArgumentError` on bad options.
 */
export function createNatsClient<M extends Methods>(service: Service<M>, nats: NatsConnection, options?: NatsClientOptions): NatsClient<M> {
  if (typeof (service as Service<Methods> | undefined)?.methods !== "object") {
    throw new InvalidArgumentError("createNatsClient() takes a service from loadService()");
  }
  if (typeof nats?.publish !== "function" || typeof nats.subscribe !== "function") {
    throw new InvalidArgumentError("createNatsClient() takes a NatsConnection (connect() of @nats-io/transport-node)");
  }
  for (const key of Object.keys(service.methods)) {
    if (NATS_CLIENT_MEMBERS.has(key)) {
      throw new InvalidArgumentError(`service ${service.name}: rpc '${key}' would hide the NATS client's own '${key}'; rename the rpc`);
    }
  }
  return new NatsRpcClient(service as Service<Methods>, nats, resolveClientOptions(options)) as unknown as NatsClient<M>;
}
