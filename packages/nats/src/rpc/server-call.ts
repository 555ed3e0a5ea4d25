/**
 * One call on a NATS server (docs/wire.md §9.4): its context, its handler inside the interceptors, its
 * streams with their credit, and exactly one ending — a message with `Ipc-Status` to the caller's reply
 * subject, or none when the caller cancelled.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { RPC_STATUS_CODES, RpcError, type CallContext, type MethodInfo, type RpcErrorStatus, type ServerInterceptor } from "@ipc/rpc";
import { EventLoopTurns, InboundStream, STREAM_TURN, SendCredit, costOf, messageOf, type AnyMethod } from "@ipc/rpc/carrier";
import type { Peer } from "../deps.js";
import { setDeadline } from "./deadlines.js";
import { fastPublish } from "./fast-publish.js";
import { EMPTY, publish, publishFailure, publishQuietly } from "./publish.js";
import { H_CALL, H_WINDOW, controlHeaders, statusHeaders, type RequestHead } from "./wire.js";

/** What a call needs from its server. */
export interface CallOwner {
  readonly nats: NatsConnection;
  readonly interceptors: readonly ServerInterceptor[];
  readonly maxMessageSize: number;
  readonly streamWindow: number;
  /** Gives a streaming call its own subject on this server, where its caller sends to it. */
  callSubject(call: NatsServerCall): string;
  /** The call has its outcome: stop routing messages to it. */
  settled(call: NatsServerCall): void;
  /** The call's handler returned (its slot is free). */
  released(call: NatsServerCall): void;
}

type Handler = (input: unknown, context: CallContext) => unknown;

const NO_METADATA: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

export class NatsServerCall implements CallContext {
  readonly reply: string;
  readonly method: MethodInfo;
  readonly metadata: Readonly<Record<string, string>>;
  readonly peer: Peer | undefined = undefined;
  /** The call's subject on this server, once it has one (streaming calls). */
  subject: string | undefined;
  readonly #owner: CallOwner;
  readonly #definition: AnyMethod;
  readonly #handler: Handler;
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
  /** The deadline in ms since the epoch, or 0: `deadline` makes its `Date` only when asked. */
  readonly #deadlineMs: number;
  #deadlineDate: Date | undefined;

  constructor(owner: CallOwner, reply: string, definition: AnyMethod, info: MethodInfo, handler: Handler, request: unknown, head: RequestHead) {
    this.#owner = owner;
    this.reply = reply;
    this.#definition = definition;
    this.method = info;
    this.#handler = handler;
    this.#request = request;
    this.metadata = head.metadata === undefined ? NO_METADATA : Object.freeze(head.metadata);
    const kind = definition.kind;
    this.#credit = kind === "server-stream" || kind === "bidi" ? new SendCredit(head.window) : undefined;
    if (head.timeoutMs > 0) {
      this.#deadlineMs = Date.now() + head.timeoutMs;
      this.#timer = setDeadline(this.#deadlineMs, () => this.#onDeadline());
    } else {
      this.#deadlineMs = 0;
    }
  }

  get deadline(): Date | undefined {
    if (this.#deadlineMs === 0) return undefined;
    return (this.#deadlineDate ??= new Date(this.#deadlineMs));
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  get done(): boolean {
    return this.#done;
  }

  get started(): boolean {
    return this.#started;
  }

  /**
   * Runs the handler inside the interceptors (the caller took a slot for it, given back by `released()`).
   * `inline`: a unary call without interceptors whose handler returns a value (not a promise) is answered
   * before `start()` returns, without the promise of an async step — for calls that arrive from NATS, not
   * for those started from the queue by another call's end (which would nest one call's end in another's).
   */
  start(inline = false): void {
    this.#started = true;
    if (this.#done) {
      this.#owner.released(this);
      return;
    }
    const kind = this.#definition.kind;
    if (kind !== "unary") this.#accept();
    const interceptors = this.#owner.interceptors;
    if (inline && kind === "unary" && interceptors.length === 0) {
      this.#runUnary();
      return;
    }
    if (interceptors.length === 0) {
      this.#runHandler().then(
        () => this.#respond(),
        (error: unknown) => this.#respond(error ?? new RpcError("INTERNAL", `${this.method.path} threw ${String(error)}`)),
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
      (error: unknown) => this.#respond(error ?? new RpcError("INTERNAL", `${this.method.path} failed`)),
    );
  }

  onStreamMessage(data: Uint8Array): void {
    if (this.#done) return;
    const requests = this.#requests;
    if (requests === undefined) {
      this.#end(this.#error("INVALID_ARGUMENT", `the client sent a stream message on a ${this.#definition.kind} call`));
      return;
    }
    if (data.byteLength > this.#owner.maxMessageSize) {
      this.#end(
        this.#error("RESOURCE_EXHAUSTED", `a request of ${data.byteLength} bytes is over the server's maxMessageSize of ${this.#owner.maxMessageSize} bytes`),
      );
      return;
    }
    let value: unknown;
    try {
      value = this.#definition.requestType.decode(data);
    } catch (error) {
      this.#end(this.#error("INVALID_ARGUMENT", `a request does not decode as ${this.#definition.requestTypeName}: ${messageOf(error)}`, error));
      return;
    }
    if (!requests.push(value, costOf(data.byteLength))) {
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

  /** The caller gave up: abort the handler, send nothing. */
  onCancel(status: number): void {
    const why: RpcErrorStatus = status === RPC_STATUS_CODES.DEADLINE_EXCEEDED ? "DEADLINE_EXCEEDED" : "CANCELLED";
    this.#stop(this.#error(why, why === "CANCELLED" ? "the client cancelled the call" : "the client passed its deadline"));
  }

  /** Ends the call without an answer (the server stops at once); the handler's signal aborts with `reason`. */
  abandon(reason: RpcError): void {
    this.#stop(reason);
  }

  /** Ends the call with `error` as its status (shutdown, limits): the handler's signal aborts too. */
  fail(error: RpcError): void {
    this.#end(error);
  }

  /** A unary handler without interceptors: as `#runHandler()` then `#respond()`, answered at once when it returns a value. */
  #runUnary(): void {
    let output: unknown;
    try {
      output = this.#handler(this.#request, this);
    } catch (error) {
      this.#owner.released(this);
      this.#respond(error ?? new RpcError("INTERNAL", `${this.method.path} threw ${String(error)}`));
      return;
    }
    if (isPromiseLike(output)) {
      Promise.resolve(output).then(
        (value) => {
          this.#result = value;
          this.#owner.released(this);
          this.#respond();
        },
        (error: unknown) => {
          this.#owner.released(this);
          this.#respond(error ?? new RpcError("INTERNAL", `${this.method.path} threw ${String(error)}`));
        },
      );
      return;
    }
    this.#result = output;
    this.#owner.released(this);
    this.#respond();
  }

  async #runHandler(): Promise<void> {
    try {
      const kind = this.#definition.kind;
      const input = kind === "unary" || kind === "server-stream" ? this.#request : this.#requests;
      const output = this.#handler(input, this);
      if (kind === "unary" || kind === "client-stream") this.#result = isPromiseLike(output) ? await output : output;
      else await this.#sendStream(output);
    } finally {
      this.#owner.released(this);
    }
  }

  /** Streaming calls: the caller learns this call's subject (and, with a request stream, its first credit). */
  #accept(): void {
    const headers = controlHeaders(H_CALL, (this.subject = this.#owner.callSubject(this)));
    const kind = this.#definition.kind;
    if (kind === "client-stream" || kind === "bidi") {
      const window = this.#owner.streamWindow;
      const grant = (credit: number): void => {
        if (!this.#done) publishQuietly(this.#owner.nats, this.reply, EMPTY, { headers: controlHeaders(H_WINDOW, String(credit)) });
      };
      this.#requests = new InboundStream(window, grant, () => undefined);
      if (this.#requestsEnded) this.#requests.end();
      headers.set(H_WINDOW, String(window));
    }
    publishQuietly(this.#owner.nats, this.reply, EMPTY, { headers });
  }

  async #sendStream(output: unknown): Promise<void> {
    if (!isIterable(output)) {
      throw this.#error("INTERNAL", "the handler returned no iterable of responses (use an async function*)");
    }
    const credit = this.#credit!;
    const owner = this.#owner;
    const turns = new EventLoopTurns(STREAM_TURN);
    for await (const item of output) {
      if (this.#done) return;
      const turn = turns.next();
      if (turn !== undefined) await turn;
      const ready = credit.ready();
      if (ready !== undefined) await ready;
      const data = this.#encode(item);
      credit.spend(data.byteLength);
      publish(owner.nats, this.reply, data, undefined, this.method.path);
      if (this.#done) return;
    }
  }

  #encode(value: unknown): Uint8Array {
    let data: Uint8Array;
    try {
      data = this.#definition.responseType.encode(value as never).finish();
    } catch (error) {
      throw this.#error("INTERNAL", `the response does not encode as ${this.#definition.responseTypeName}: ${messageOf(error)}`, error);
    }
    if (data.byteLength > this.#owner.maxMessageSize) {
      throw this.#error(
        "RESOURCE_EXHAUSTED",
        `the response is ${data.byteLength} bytes, over the server's maxMessageSize of ${this.#owner.maxMessageSize} bytes`,
      );
    }
    return data;
  }

  #respond(error?: unknown): void {
    if (this.#done) return;
    if (error !== undefined) {
      this.#end(statusOf(error, this.method.path));
      return;
    }
    const kind = this.#definition.kind;
    let data: Uint8Array = EMPTY;
    if (kind === "unary" || kind === "client-stream") {
      try {
        data = this.#encode(this.#result);
      } catch (encodeError) {
        this.#end(encodeError as RpcError);
        return;
      }
    }
    this.#settle(undefined);
    const nats = this.#owner.nats;
    try {
      // A single response that succeeded is the bare message (docs/wire.md §9.4); a stream ends with a status.
      if (kind === "unary" || kind === "client-stream") {
        if (!fastPublish(nats, this.reply, data, undefined, undefined, false)) nats.publish(this.reply, data);
      } else {
        nats.publish(this.reply, data, { headers: statusHeaders(undefined) });
      }
    } catch (publishError) {
      // Over NATS's max_payload: the caller still deserves a status.
      publishQuietly(nats, this.reply, EMPTY, {
        headers: statusHeaders(publishFailure(publishError, this.method.path, data.byteLength, nats.info?.max_payload)),
      });
    }
  }

  /** Ends the call with status `error`: the caller gets it, the handler's signal aborts. */
  #end(error: RpcError): void {
    if (this.#done) return;
    this.#settle(error);
    publishQuietly(this.#owner.nats, this.reply, EMPTY, { headers: statusHeaders(error) });
  }

  #stop(reason: RpcError): void {
    if (this.#done) return;
    this.#settle(reason);
  }

  #error(status: RpcErrorStatus, text: string, cause?: unknown): RpcError {
    return new RpcError(status, `${this.method.path}: ${text}`, cause === undefined ? undefined : { cause });
  }

  #onDeadline(): void {
    this.#timer = undefined;
    this.#end(new RpcError("DEADLINE_EXCEEDED", `${this.method.path} passed its deadline, ${this.deadline!.toISOString()}`));
  }

  #settle(error: RpcError | undefined): void {
    this.#done = true;
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

/** The status and message a handler's error becomes (as @ipc/rpc: anything but an `RpcError` is `INTERNAL`). */
export function statusOf(error: unknown, path: string): RpcError {
  if (error instanceof RpcError) return error;
  return new RpcError("INTERNAL", `${path} failed: ${messageOf(error)}`, { cause: error });
}

function isIterable(value: unknown): value is AsyncIterable<unknown> | Iterable<unknown> {
  if (value === null || typeof value !== "object") return false;
  return typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function" || typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}
