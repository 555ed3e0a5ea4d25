/**
 * One call on the server: its context (signal, deadline, peer, metadata), its handler run inside the
 * interceptors, its streams with their credit, and exactly one ending — a response, or none when the
 * client cancelled or the connection went.
 */
import { MessageTooLargeError, type Connection, type Peer, type RpcCall } from "@ipc/core";
import { publishRpcCallEnd, publishRpcCallStart } from "@ipc/core/transport";
import { setDeadlineTimer } from "./deadline.js";
import { EventLoopTurns, InboundStream, SendCredit, STREAM_TURN, costOf } from "./flow.js";
import type { AnyMethod, MethodInfo } from "./method.js";
import { RPC_STATUS_CODES, RpcError, messageOf, type RpcErrorStatus } from "./status.js";
import type { CallContext, ServerInterceptor } from "./types.js";
import type { EnvelopeWriter } from "./encode.js";
import type { CallId, RequestEnvelope } from "./wire.js";

/** What a call needs from its connection. */
export interface CallOwner {
  /** The connection the calls travel on (named in diagnostics events). */
  readonly connection: Connection;
  readonly writer: EnvelopeWriter;
  readonly peer: Peer | undefined;
  readonly interceptors: readonly ServerInterceptor[];
  readonly maxMessageSize: number;
  readonly streamWindow: number;
  /** Sends a frame (after every frame given to `sendSoon`); resolves once the connection accepted it. */
  send(frame: Uint8Array): Promise<void>;
  /**
   * Sends a stream message with the others of this burst: one `sendBatch()` when the running code yields to
   * the event loop (or before the next `send`). A failed send fails the connection, which ends the call.
   */
  sendSoon(frame: Uint8Array): void;
  /**
   * Undefined while the connection takes what it is given; otherwise a promise that resolves once the
   * responses it has not taken yet drained (streams wait on it rather than on each send).
   */
  backlog(): Promise<void> | undefined;
  /** The call has its outcome: stop routing its id. */
  settled(call: ServerCall): void;
  /** The call's handler returned (its slot is free). */
  released(call: ServerCall): void;
}

type Handler = (input: unknown, context: CallContext) => unknown;

const NO_METADATA: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

/** The status and message a handler's error becomes. */
export function statusOf(error: unknown, path: string): RpcError {
  if (error instanceof RpcError) return error;
  const message = (error as Error)?.message ?? String(error);
  return new RpcError("INTERNAL", `${path} failed: ${message}`, { cause: error });
}

export class ServerCall implements CallContext {
  readonly id: CallId;
  readonly method: MethodInfo;
  readonly metadata: Readonly<Record<string, string>>;
  readonly deadline: Date | undefined;
  readonly peer: Peer | undefined;
  readonly #definition: AnyMethod;
  readonly #owner: CallOwner;
  readonly #handler: Handler;
  /** The decoded request of a unary or server-streaming call. */
  readonly #request: unknown;
  readonly #credit: SendCredit | undefined;
  #requests: InboundStream<unknown> | undefined;
  #requestsEnded = false;
  #controller: AbortController | undefined;
  #abortReason: RpcError | undefined;
  #timer: { clear(): void } | undefined;
  #started = false;
  #done = false;
  #result: unknown;
  #failure: unknown = undefined;
  #failed = false;
  /** The call as `ipc:rpc:call:start` published it, for its end; `undefined` when nobody subscribed. */
  readonly #diagnostic: RpcCall | undefined;

  constructor(
    owner: CallOwner,
    id: CallId,
    definition: AnyMethod,
    info: MethodInfo,
    handler: Handler,
    request: unknown,
    envelope: Pick<RequestEnvelope, "timeoutMs" | "metadata" | "window">,
  ) {
    this.#owner = owner;
    this.id = id;
    this.#definition = definition;
    this.method = info;
    this.#handler = handler;
    this.#request = request;
    this.metadata = envelope.metadata === undefined ? NO_METADATA : Object.freeze(envelope.metadata);
    this.peer = owner.peer;
    this.#diagnostic = publishRpcCallStart("server", info.path, definition.kind, owner.connection);
    const kind = definition.kind;
    this.#credit = kind === "server-stream" || kind === "bidi" ? new SendCredit(envelope.window) : undefined;
    if (envelope.timeoutMs > 0) {
      const deadline = Date.now() + envelope.timeoutMs;
      this.deadline = new Date(deadline);
      this.#timer = setDeadlineTimer(deadline, () => this.#onDeadline());
    } else {
      this.deadline = undefined;
    }
  }

  /** Created on first use: most handlers never look at it. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** True once the call has its outcome (responded, cancelled, or its connection went). */
  get done(): boolean {
    return this.#done;
  }

  /** True once the handler was started (the call left the queue, if it waited in it). */
  get started(): boolean {
    return this.#started;
  }

  /**
   * Runs the handler inside the interceptors; the response goes out when they are done. The caller has
   * taken a slot for it, given back through `released()` when the handler returns.
   */
  start(): void {
    this.#started = true;
    if (this.#done) {
      this.#owner.released(this);
      return;
    }
    const kind = this.#definition.kind;
    if (kind === "client-stream" || kind === "bidi") this.#openRequests();
    const interceptors = this.#owner.interceptors;
    if (interceptors.length === 0 && kind === "unary") {
      this.#runUnary();
      return;
    }
    if (interceptors.length === 0) {
      this.#runHandler().then(
        () => this.#respond(),
        (error) => this.#respond(error),
      );
      return;
    }
    let ran = false;
    const run = (index: number): Promise<void> => {
      if (index < interceptors.length) {
        try {
          return Promise.resolve(interceptors[index]!(this, () => run(index + 1)));
        } catch (error) {
          return Promise.reject(error);
        }
      }
      if (ran) return Promise.reject(this.#error("INTERNAL", "a server interceptor called next() twice"));
      ran = true;
      return this.#runHandler();
    };
    run(0).then(
      () => this.#respond(ran ? undefined : this.#error("INTERNAL", "a server interceptor returned without calling next()")),
      (error) => this.#respond(error),
    );
  }

  onStreamMessage(payload: Uint8Array): void {
    if (this.#done) return;
    const path = this.method.path;
    if (this.#definition.kind === "unary" || this.#definition.kind === "server-stream") {
      this.#end(this.#error("INVALID_ARGUMENT", `the client sent a stream message on a ${this.#definition.kind} call`));
      return;
    }
    const requests = this.#requests;
    if (requests === undefined) {
      this.#end(this.#error("RESOURCE_EXHAUSTED", "the client sent a request before the server granted it a window"));
      return;
    }
    if (payload.byteLength > this.#owner.maxMessageSize) {
      this.#end(tooLarge(path, payload.byteLength, this.#owner.maxMessageSize));
      return;
    }
    let value: unknown;
    try {
      value = this.#definition.requestType.decode(payload);
    } catch (error) {
      this.#end(undecodable(this.#definition, error));
      return;
    }
    if (!requests.push(value, costOf(payload.byteLength))) {
      this.#end(this.#error("RESOURCE_EXHAUSTED", "the client sent more than the call's flow-control window"));
    }
  }

  onEnd(): void {
    if (this.#done) return;
    this.#requestsEnded = true;
    this.#requests?.end();
  }

  onWindow(credit: number): void {
    this.#credit?.add(credit);
  }

  /** The client gave up: abort the handler, send nothing. */
  onCancel(status: number): void {
    const why: RpcErrorStatus = status === RPC_STATUS_CODES.DEADLINE_EXCEEDED ? "DEADLINE_EXCEEDED" : "CANCELLED";
    this.#stop(this.#error(why, why === "CANCELLED" ? "the client cancelled the call" : "the client passed its deadline"));
  }

  /** Ends the call without a response (the connection went); the handler's signal aborts with `reason`. */
  abandon(reason: RpcError): void {
    this.#stop(reason);
  }

  /** Ends the call with `error` as its status (shutdown, limits): the handler's signal aborts too. */
  fail(error: RpcError): void {
    this.#end(error);
  }

  /** The common case without an `async` frame: a unary handler and no interceptors. */
  #runUnary(): void {
    let output: unknown;
    try {
      output = this.#handler(this.#request, this);
    } catch (error) {
      this.#owner.released(this);
      this.#respond(error ?? new RpcError("INTERNAL", `${this.method.path} threw ${String(error)}`));
      return;
    }
    if (!isPromiseLike(output)) {
      this.#owner.released(this);
      this.#result = output;
      this.#respond();
      return;
    }
    output.then(
      (result) => {
        this.#owner.released(this);
        this.#result = result;
        this.#respond();
      },
      (error: unknown) => {
        this.#owner.released(this);
        this.#respond(error ?? new RpcError("INTERNAL", `${this.method.path} rejected with ${String(error)}`));
      },
    );
  }

  /** Runs the handler and, for streams, sends every response; settles when the handler is done. */
  async #runHandler(): Promise<void> {
    try {
      const kind = this.#definition.kind;
      const input = kind === "unary" || kind === "server-stream" ? this.#request : this.#requests;
      const output = this.#handler(input, this);
      if (kind === "unary" || kind === "client-stream") this.#result = isPromiseLike(output) ? await output : output;
      else await this.#sendStream(output);
    } catch (error) {
      this.#failed = true;
      this.#failure = error;
      throw error;
    } finally {
      this.#owner.released(this);
    }
  }

  async #sendStream(output: unknown): Promise<void> {
    const iterable = output;
    if (!isIterable(iterable)) {
      throw this.#error("INTERNAL", "the handler returned no iterable of responses (use an async function*)");
    }
    const credit = this.#credit!;
    const owner = this.#owner;
    const definition = this.#definition;
    const turns = new EventLoopTurns(STREAM_TURN);
    for await (const item of iterable) {
      if (this.#done) return;
      const turn = turns.next();
      if (turn !== undefined) await turn;
      const ready = credit.ready();
      if (ready !== undefined) await ready;
      const frame = owner.writer.streamMessage(this.id, definition.responseType, item);
      const size = owner.writer.payloadSize;
      if (size > owner.maxMessageSize) throw tooLarge(this.method.path, size, owner.maxMessageSize, "response");
      credit.spend(size);
      // Not awaited: a failed send fails the connection, which ends this call; backpressure comes from
      // the call's credit and the connection's backlog. The messages of one burst go in one sendBatch().
      owner.sendSoon(frame);
      const backlog = owner.backlog();
      if (backlog !== undefined) await backlog;
      if (this.#done) return;
    }
  }

  #openRequests(): void {
    const window = this.#owner.streamWindow;
    const grant = (credit: number): void => {
      if (!this.#done) void this.#owner.send(this.#owner.writer.window(this.id, credit)).catch(ignore);
    };
    this.#requests = new InboundStream(window, grant, ignore);
    if (this.#requestsEnded) this.#requests.end();
    grant(window);
  }

  /** Sends the response the handler (and the interceptors) settled on. */
  #respond(error?: unknown): void {
    if (this.#done) return;
    const failure = error ?? (this.#failed ? this.#failure : undefined);
    if (failure !== undefined || this.#failed) {
      this.#end(statusOf(failure, this.method.path));
      return;
    }
    const owner = this.#owner;
    const definition = this.#definition;
    const single = definition.kind === "unary" || definition.kind === "client-stream";
    let frame: Uint8Array;
    try {
      const encoder = single ? definition.responseType : undefined;
      frame = owner.writer.response(this.id, 0, "", undefined, encoder, this.#result);
    } catch (encodeError) {
      const type = definition.responseTypeName;
      this.#end(this.#error("INTERNAL", `the response does not encode as ${type}: ${messageOf(encodeError)}`, encodeError));
      return;
    }
    if (owner.writer.payloadSize > owner.maxMessageSize) {
      this.#end(tooLarge(this.method.path, owner.writer.payloadSize, owner.maxMessageSize, "response"));
      return;
    }
    this.#settle(undefined);
    owner.send(frame).catch((sendError: unknown) => {
      // Over the connection's own frame limit: the client still deserves a status.
      if (sendError instanceof MessageTooLargeError) {
        owner.send(failureFrame(owner.writer, this.id, this.#error("RESOURCE_EXHAUSTED", sendError.message))).catch(ignore);
      }
    });
  }

  /** Ends the call with status `error`: the client gets it, the handler's signal aborts. */
  #end(error: RpcError): void {
    if (this.#done) return;
    this.#settle(error);
    this.#owner.send(failureFrame(this.#owner.writer, this.id, error)).catch(ignore);
  }

  #stop(reason: RpcError): void {
    if (this.#done) return;
    this.#settle(reason);
  }

  /** An error about this call: its path, then `text`. */
  #error(status: RpcErrorStatus, text: string, cause?: unknown): RpcError {
    return new RpcError(status, `${this.method.path}: ${text}`, cause === undefined ? undefined : { cause });
  }

  #onDeadline(): void {
    this.#timer = undefined;
    this.#end(new RpcError("DEADLINE_EXCEEDED", `${this.method.path} passed its deadline, ${this.deadline!.toISOString()}`));
  }

  /** Marks the outcome decided; on failure, aborts the handler's signal and streams. */
  #settle(error: RpcError | undefined): void {
    this.#done = true;
    publishRpcCallEnd(this.#diagnostic, error?.status ?? "OK", error);
    this.#timer?.clear();
    this.#timer = undefined;
    if (error !== undefined) {
      this.#abortReason = error;
      this.#controller?.abort(error);
      this.#requests?.destroy(error);
      this.#credit?.fail(error);
    }
    this.#owner.settled(this);
  }
}

/** The response that ends a call with `error`'s status. */
export function failureFrame(writer: EnvelopeWriter, id: CallId, error: RpcError): Uint8Array {
  return writer.response(id, RPC_STATUS_CODES[error.status], error.message, error.details, undefined, undefined);
}

function isIterable(value: unknown): value is AsyncIterable<unknown> | Iterable<unknown> {
  if (value === null || typeof value !== "object") return false;
  return typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function" || typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

function ignore(): void {}

function tooLarge(path: string, size: number, limit: number, what = "request"): RpcError {
  return new RpcError("RESOURCE_EXHAUSTED", `${path}: the ${what} is ${size} bytes, over the server's maxMessageSize of ${limit} bytes`);
}

/** The status of a request that does not decode. */
export function undecodable(method: AnyMethod, error: unknown): RpcError {
  return new RpcError("INVALID_ARGUMENT", `${method.path}: the request does not decode as ${method.requestTypeName}: ${messageOf(error)}`, { cause: error });
}
