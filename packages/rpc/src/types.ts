/**
 * The types of the API: what a caller passes and gets, what a handler receives and returns, and the
 * interceptors around both.
 */
import type { Connection, Peer, WaitOptions } from "@ipc/core";
import type { Message, Method, MethodInfo, Methods } from "./method.js";

/** Options of one call. */
export interface CallOptions {
  /**
   * Cancels the call: it rejects at once with `CANCELLED` (the signal's reason as `cause`), and the server
   * is told, so the handler's own signal aborts. Default: none.
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Milliseconds the call may take. When they pass, the call rejects at once with `DEADLINE_EXCEEDED`; the
   * server knows the deadline too (it travels with the request) and aborts the handler. Default: none.
   */
  readonly timeout?: number | undefined;
  /** The same as `timeout`, as a point in time; with both, the earlier wins. Default: none. */
  readonly deadline?: Date | undefined;
  /**
   * Sent with the request, for the handler and the server's interceptors: at most 256 entries of 64 KiB
   * together (more fails with `RESOURCE_EXHAUSTED` before it is sent). Default: none.
   */
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/** A stream of responses: iterate it to the end, or break out of the loop (which cancels the call). */
export type ResponseStream<T> = AsyncIterable<T>;

/** Requests to stream to the server: pulled one at a time, as the server's flow-control window allows. */
export type RequestSource<T> = AsyncIterable<T> | Iterable<T>;

/** A client method of a unary rpc. */
export type UnaryCall<RequestInit, Response> = (request: RequestInit, options?: CallOptions) => Promise<Response>;
/** A client method of a server-streaming rpc. */
export type ServerStreamCall<RequestInit, Response> = (request: RequestInit, options?: CallOptions) => ResponseStream<Response>;
/** A client method of a client-streaming rpc. */
export type ClientStreamCall<RequestInit, Response> = (requests: RequestSource<RequestInit>, options?: CallOptions) => Promise<Response>;
/** A client method of a bidirectional-streaming rpc. */
export type BidiCall<RequestInit, Response> = (requests: RequestSource<RequestInit>, options?: CallOptions) => ResponseStream<Response>;
/**
 * A client method whose call shape is known only at run time (a service loaded from a .proto file
 * without declared types): it returns a promise for unary and client-streaming rpcs, a stream otherwise.
 */
export type DynamicCall = (request: Message | RequestSource<Message>, options?: CallOptions) => Promise<Message> | ResponseStream<Message>;

/** The client method of rpc `M`. */
export type ClientMethod<M> =
  M extends Method<unknown, infer Response, infer Kind, infer RequestInit, unknown>
    ? [Kind] extends ["unary"]
      ? UnaryCall<RequestInit, Response>
      : [Kind] extends ["server-stream"]
        ? ServerStreamCall<RequestInit, Response>
        : [Kind] extends ["client-stream"]
          ? ClientStreamCall<RequestInit, Response>
          : [Kind] extends ["bidi"]
            ? BidiCall<RequestInit, Response>
            : DynamicCall
    : never;

/** The client's own members, next to one method per rpc. */
export interface ClientHandle extends AsyncDisposable {
  /** The connection the client owns. */
  readonly connection: Connection;
  /**
   * Stops new calls (they reject with `UNAVAILABLE`), waits for the calls in flight, then closes the
   * connection. When `timeout` passes (or `signal` aborts) first, the calls still in flight are cancelled
   * (`CANCELLED`) and the connection is closed, given at most 1 s more to deliver the cancels. Default: no
   * time limit.
   */
  close(options?: WaitOptions): Promise<void>;
  /** Fails every call in flight with `UNAVAILABLE` (`cause`: `reason`) and aborts the connection. */
  abort(reason?: Error): void;
  /** Settles when the connection is gone (see `Connection.closed`). */
  readonly closed: Promise<void>;
}

/** A client of service methods `M`: one method per rpc (`client.add(…)` for `rpc Add`), and its own members. */
export type Client<M extends Methods> = { readonly [K in keyof M]: ClientMethod<M[K]> } & ClientHandle;

/** What a handler (and a server interceptor) knows about its call. */
export interface CallContext {
  /**
   * Aborts when the call is over for the caller: the client cancelled, the deadline passed, the connection
   * closed, or the server shut down. Its `reason` is an `RpcError` saying which (`CANCELLED`,
   * `DEADLINE_EXCEEDED`, `UNAVAILABLE`). Pass it on to whatever the handler waits for.
   */
  readonly signal: AbortSignal;
  /** When the caller gives up, or undefined when the call has no deadline. */
  readonly deadline: Date | undefined;
  /** The client process, where the transport can tell (Unix sockets, pipes, shared memory). */
  readonly peer: Peer | undefined;
  /** The request's metadata (empty when none was sent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The method being called. */
  readonly method: MethodInfo;
}

/** A handler of a unary rpc: returns the response (or a promise of it), or throws. */
export type UnaryHandler<Request, ResponseInit> = (request: Request, context: CallContext) => ResponseInit | PromiseLike<ResponseInit>;
/** A handler of a server-streaming rpc: returns (usually as an `async function*`) the responses. */
export type ServerStreamHandler<Request, ResponseInit> = (request: Request, context: CallContext) => AsyncIterable<ResponseInit> | Iterable<ResponseInit>;
/** A handler of a client-streaming rpc: reads the requests, returns the response. */
export type ClientStreamHandler<Request, ResponseInit> = (requests: AsyncIterable<Request>, context: CallContext) => ResponseInit | PromiseLike<ResponseInit>;
/** A handler of a bidirectional-streaming rpc: reads the requests while it returns the responses. */
export type BidiHandler<Request, ResponseInit> = (
  requests: AsyncIterable<Request>,
  context: CallContext,
) => AsyncIterable<ResponseInit> | Iterable<ResponseInit>;
/** A handler of an rpc whose call shape is known only at run time. */
export type DynamicHandler = {
  // A method signature, so that a handler of any one shape is accepted.
  handle(request: Message & AsyncIterable<Message>, context: CallContext): unknown;
}["handle"];

/** The handler of rpc `M`. */
export type Handler<M> =
  M extends Method<infer Request, unknown, infer Kind, unknown, infer ResponseInit>
    ? [Kind] extends ["unary"]
      ? UnaryHandler<Request, ResponseInit>
      : [Kind] extends ["server-stream"]
        ? ServerStreamHandler<Request, ResponseInit>
        : [Kind] extends ["client-stream"]
          ? ClientStreamHandler<Request, ResponseInit>
          : [Kind] extends ["bidi"]
            ? BidiHandler<Request, ResponseInit>
            : DynamicHandler
    : never;

/** The handlers of a service: one per rpc, by the same names as the client's methods. */
export type Implementation<M extends Methods> = { readonly [K in keyof M]: Handler<M[K]> };

/**
 * Wraps the calls a server runs. `next()` runs the interceptors after this one and then the handler, and
 * settles when the handler is done (for a stream: when its last response is sent); it rejects with what
 * the handler threw. Throwing (an `RpcError` to choose the status) fails the call; before `next()`, the
 * handler never runs (authorization). An interceptor cannot turn a failed call into a successful one.
 */
export type ServerInterceptor = (context: CallContext, next: () => Promise<void>) => Promise<void>;

/** What a client interceptor knows about a call, and may change before it starts. */
export interface ClientCallContext {
  /** The method being called. */
  readonly method: MethodInfo;
  /** The metadata to send: add or change entries before calling `next()` (authorization, tracing). */
  readonly metadata: Record<string, string>;
  /** When the call gives up, or undefined. */
  readonly deadline: Date | undefined;
  /** Aborts when the call is cancelled, fails or times out. */
  readonly signal: AbortSignal;
}

/**
 * Wraps the calls a client makes. `next()` runs the interceptors after this one and then sends the call,
 * and settles when the call is over: it resolves when it succeeded (for a stream: when its last response
 * arrived), and rejects with its `RpcError` otherwise. Throwing fails the call; before `next()`, the call is
 * never sent. An error that is not an `RpcError` reaches the caller as `INTERNAL`, with it as `cause`.
 */
export type ClientInterceptor = (context: ClientCallContext, next: () => Promise<void>) => Promise<void>;
