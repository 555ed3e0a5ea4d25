/**
 * `createClient(service, connection)`: one method per rpc over a connection the client owns. Calls are
 * numbered and many may be in flight; one loop reads the connection and hands each message to its call.
 * When the connection ends or fails, every call in flight fails at once with `UNAVAILABLE`.
 */
import { InvalidArgumentError, type Connection, type WaitOptions } from "@ipc/core";
import { Deferred } from "@ipc/core/transport";
import { ClientCall, type CallHost, type Completion } from "./client-call.js";
import { closeSignal, deadlineOf, lastCloseOptions, waitOrAbort } from "./deadline.js";
import { EventLoopTurns, READ_TURN } from "./flow.js";
import { methodInfo, type AnyMethod, type Methods, type Service } from "./method.js";
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from "./options.js";
import { RpcError, messageOf } from "./status.js";
import type { CallOptions, Client, ClientCallContext, ClientHandle } from "./types.js";
import { decodeEnvelope } from "./decode.js";
import { EnvelopeWriter } from "./encode.js";
import { utf8Bytes, type CallId } from "./wire.js";

const enum State {
  Open,
  Closing,
  Closed,
}

class RpcClient implements CallHost, ClientHandle {
  readonly connection: Connection;
  readonly options: ResolvedClientOptions;
  readonly writer = new EnvelopeWriter();
  readonly #service: Service<Methods>;
  readonly #calls = new Map<CallId, ClientCall>();
  /** Calls in {@link #calls} that are not unary (their messages may come many at a time). */
  #streaming = 0;
  #nextId = 1;
  #state = State.Open;
  /** Why new calls fail once the client is no longer open. */
  #unavailable: RpcError | undefined;
  #idle: Deferred | undefined;

  constructor(service: Service<Methods>, connection: Connection, options: ResolvedClientOptions) {
    this.connection = connection;
    this.options = options;
    this.#service = service;
    for (const [key, method] of Object.entries(service.methods)) {
      Object.defineProperty(this, key, { value: this.#methodFor(method as AnyMethod), enumerable: true });
    }
    void this.#read();
  }

  get closed(): Promise<void> {
    return this.connection.closed;
  }

  register(call: ClientCall): CallId {
    if (this.#state !== State.Open) {
      throw this.#unavailable ?? new RpcError("UNAVAILABLE", `${call.method.path}: the client is closing`);
    }
    const id = this.#nextId++;
    this.#calls.set(id, call);
    if (call.method.kind !== "unary") this.#streaming++;
    return id;
  }

  unregister(id: CallId): void {
    const call = this.#calls.get(id);
    if (call !== undefined && call.method.kind !== "unary") this.#streaming--;
    this.#calls.delete(id);
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
      if (this.#calls.size > 0) {
        const error = new RpcError("CANCELLED", "the client closed before the call finished", { cause: limit?.reason });
        for (const call of [...this.#calls.values()]) call.cancel(error);
      }
    }
    await this.connection.close(lastCloseOptions(limit));
  }

  abort(reason?: Error): void {
    const why = reason === undefined ? "" : `: ${reason.message}`;
    this.#failAll(new RpcError("UNAVAILABLE", `the client was aborted${why}`, { cause: reason }));
    this.connection.abort(reason);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #methodFor(method: AnyMethod): (input: unknown, options?: CallOptions) => unknown {
    const single = method.kind === "unary" || method.kind === "client-stream";
    const path = utf8Bytes(method.path);
    return (input, options) => {
      let call: ClientCall;
      try {
        call = this.#call(method, path, input, options);
      } catch (error) {
        if (single) return Promise.reject(error);
        throw error;
      }
      return single ? call.promise : call.responses;
    };
  }

  #call(method: AnyMethod, path: Uint8Array, input: unknown, options: CallOptions | undefined): ClientCall {
    const deadline = deadlineOf(options);
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new InvalidArgumentError(`${method.path}: signal must be an AbortSignal`);
    }
    if (this.options.interceptors.length === 0) {
      const call = new ClientCall(this, method, path, deadline, signal, undefined);
      call.start(options?.metadata, input);
      return call;
    }
    return this.#intercept(method, path, input, options, deadline);
  }

  /** Runs the call inside the interceptors: the first is outermost; the innermost `next()` sends it. */
  #intercept(method: AnyMethod, path: Uint8Array, input: unknown, options: CallOptions | undefined, deadline: number | undefined): ClientCall {
    const completion = new Deferred();
    const call = new ClientCall(this, method, path, deadline, options?.signal, completion satisfies Completion);
    const controller = new AbortController();
    completion.promise.catch((error) => controller.abort(error));
    const context: ClientCallContext = {
      method: methodInfo(this.#service.name, method),
      metadata: { ...options?.metadata },
      deadline: deadline === undefined ? undefined : new Date(deadline),
      signal: controller.signal,
    };
    const interceptors = this.options.interceptors;
    let started = false;
    const run = (index: number): Promise<void> => {
      if (index < interceptors.length) {
        try {
          return Promise.resolve(interceptors[index]!(context, () => run(index + 1)));
        } catch (error) {
          return Promise.reject(error);
        }
      }
      if (started) {
        return Promise.reject(new RpcError("INTERNAL", `${method.path}: a client interceptor called next() twice`));
      }
      started = true;
      call.start(context.metadata, input);
      return completion.promise;
    };
    run(0).then(
      () => {
        if (call.done) return call.deliver(undefined);
        if (!started) {
          const error = new RpcError("INTERNAL", `${method.path}: a client interceptor returned without calling next()`);
          call.cancel(error);
          return call.deliver(error);
        }
        // The interceptor did not wait for next(): the call's own outcome stands.
        completion.promise.then(
          () => call.deliver(undefined),
          () => call.deliver(undefined),
        );
      },
      (error: unknown) => {
        const rpcError =
          error instanceof RpcError ? error : new RpcError("INTERNAL", `${method.path}: a client interceptor failed: ${messageOf(error)}`, { cause: error });
        if (!call.done) call.cancel(rpcError);
        call.deliver(rpcError);
      },
    );
    return call;
  }

  async #read(): Promise<void> {
    let failure: RpcError;
    try {
      const turns = new EventLoopTurns(READ_TURN);
      for (;;) {
        // A lone unary call waits for its one reply with receive(): a round trip over @ipc/unix measured 5 %
        // (unpinned) to 20 % (split-core) slower reading with receiveBatch() (docs/benchmarks.md, "Issue 17 —
        // RPC"). With more in flight, or a stream, the batch path: everything received with one call.
        if (this.#streaming === 0 && this.#calls.size <= 1) {
          const frame = await this.connection.receive();
          if (frame === undefined) break;
          this.#dispatch(frame);
          const turn = turns.next();
          if (turn !== undefined) await turn;
          continue;
        }
        const frames = await this.connection.receiveBatch();
        if (frames === undefined) break;
        for (const frame of frames) {
          this.#dispatch(frame);
          const turn = turns.next();
          if (turn !== undefined) await turn;
        }
      }
      failure = new RpcError("UNAVAILABLE", `the server closed the connection${where(this.connection)}`);
    } catch (error) {
      failure = new RpcError("UNAVAILABLE", `the connection to the server failed${where(this.connection)}: ${messageOf(error)}`, { cause: error });
    }
    this.#failAll(failure);
  }

  #dispatch(frame: Uint8Array): void {
    let envelope;
    try {
      envelope = decodeEnvelope(frame);
    } catch (error) {
      // A server that sends what is not an envelope cannot be trusted with the other calls either.
      this.connection.abort(error as Error);
      return;
    }
    switch (envelope.kind) {
      case "response":
        this.#calls.get(envelope.id)?.onResponse(envelope);
        return;
      case "message":
        this.#calls.get(envelope.id)?.onStreamMessage(envelope.payload);
        return;
      case "window":
        this.#calls.get(envelope.id)?.onWindow(envelope.credit);
        return;
      default:
      // A client is sent responses, stream messages and windows only; the rest is ignored (docs/wire.md §7.6).
    }
  }

  #failAll(error: RpcError): void {
    // After close(), new calls keep hearing that the client is closed; otherwise, why the connection went.
    if (this.#state !== State.Closing || this.#unavailable === undefined) this.#unavailable = error;
    this.#state = State.Closed;
    for (const call of [...this.#calls.values()]) call.abandon(error);
    this.#calls.clear();
    this.#streaming = 0;
    this.#idle?.resolve();
    this.#idle = undefined;
  }
}

function where(connection: Connection): string {
  return connection.remoteAddress ? ` (${connection.remoteAddress})` : "";
}

/**
 * A client of `service` over `connection`: one method per rpc (`client.add({ a, b })` for `rpc Add`), each
 * taking `{ signal, timeout, deadline, metadata }`. The client owns the connection from now on (it is the
 * only reader; closing the client closes it). Throws `InvalidArgumentError` on bad options.
 */
export function createClient<M extends Methods>(service: Service<M>, connection: Connection, options?: ClientOptions): Client<M> {
  if (typeof (service as Service<Methods> | undefined)?.methods !== "object") {
    throw new InvalidArgumentError("createClient() takes a service from loadService()");
  }
  if (typeof connection?.send !== "function" || typeof connection[Symbol.asyncIterator] !== "function") {
    throw new InvalidArgumentError("createClient() takes a Connection");
  }
  const resolved = resolveClientOptions(options, connection);
  return new RpcClient(service as Service<Methods>, connection, resolved) as unknown as Client<M>;
}
