/**
 * One call of a NATS client, any shape (docs/wire.md §9.4): the request goes to the method's subject with
 * a reply subject of the client's inbox; the server's messages come back there, and, for streams, the
 * client sends to the subject the server named in `Ipc-Call`. The call ends exactly once.
 */
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { RpcError, type CallOptions, type MethodInfo, type RequestSource, type RpcErrorStatus } from "@ipc/rpc";
import { EventLoopTurns, InboundStream, STREAM_TURN, SendCredit, costOf, messageOf, timeoutMsUntil, type AnyMethod } from "@ipc/rpc/carrier";
import { setDeadline } from "./deadlines.js";
import { EMPTY, publish, publishQuietly } from "./publish.js";
import { H_CANCEL, H_END, H_REPLY, H_WINDOW, controlHeaders, readReplyHead, requestHeaders, statusError } from "./wire.js";

/** What a call needs from its client. */
export interface CallHost {
  readonly nats: NatsConnection;
  readonly streamWindow: number;
  /** The largest request sent and response accepted; undefined: the server's `max_payload`. */
  readonly maxMessageSize: number | undefined;
  /** Gives the call its reply subject and routes messages on it to the call; throws `UNAVAILABLE` once closed. */
  register(call: NatsClientCall): string;
  unregister(call: NatsClientCall): void;
  /** Where to cancel a call whose server is not known yet. */
  readonly cancelSubject: string;
}

/** Settled with a call's outcome before the caller sees it, when interceptors run around the call. */
export interface Completion {
  resolve(): void;
  reject(error: unknown): void;
}

const CANCELLED = "1";
const DEADLINE_EXCEEDED = "4";

export class NatsClientCall {
  readonly method: AnyMethod;
  readonly info: MethodInfo;
  readonly subject: string;
  readonly promise: Promise<unknown> | undefined;
  readonly responses: InboundStream<unknown> | undefined;
  /** The reply subject: the call's identity on the wire. */
  reply = "";
  /** The number that ends the reply subject: the call's key in its client. */
  token = 0;
  /** True once the server answered in any way (accepted, streamed, or ended the call). */
  answered = false;
  readonly #host: CallHost;
  readonly #deadline: number | undefined;
  readonly #credit: SendCredit | undefined;
  readonly #completion: Completion | undefined;
  #metadata: Readonly<Record<string, string>> | undefined;
  #request: Uint8Array = EMPTY;
  #input: unknown;
  #server: string | undefined;
  #pumping = false;
  #timer: { clear(): void } | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #registered = false;
  #done = false;
  #value: unknown;
  #abrupt = true;

  constructor(
    host: CallHost,
    method: AnyMethod,
    info: MethodInfo,
    subject: string,
    options: CallOptions | undefined,
    deadline: number | undefined,
    completion: Completion | undefined,
  ) {
    this.#host = host;
    this.method = method;
    this.info = info;
    this.subject = subject;
    this.#deadline = deadline;
    this.#completion = completion;
    const kind = method.kind;
    if (kind === "unary" || kind === "client-stream") {
      this.promise = new Promise((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      });
      this.responses = undefined;
    } else {
      this.promise = undefined;
      this.responses = new InboundStream(
        host.streamWindow,
        (credit) => this.#toServer(controlHeaders(H_WINDOW, String(credit))),
        () => this.#giveUp(CANCELLED, this.#error("CANCELLED", "the caller stopped reading the responses")),
      );
    }
    this.#credit = kind === "client-stream" || kind === "bidi" ? new SendCredit(0) : undefined;
    const signal = options?.signal;
    if (signal !== undefined) this.#watch(signal);
    if (deadline !== undefined && !this.#done) {
      if (deadline <= Date.now()) this.#onDeadline();
      else this.#timer = setDeadline(deadline, () => this.#onDeadline());
    }
  }

  get done(): boolean {
    return this.#done;
  }

  /** True for calls that may be sent again after a reconnect: nothing of them has come back yet. */
  get resendable(): boolean {
    return !this.#done && !this.answered && (this.method.kind === "unary" || this.method.kind === "server-stream");
  }

  /** Encodes and sends the request (and, for request streams, starts pulling them once the server accepts). */
  start(metadata: Readonly<Record<string, string>> | undefined, input: unknown): void {
    if (this.#done) return;
    const kind = this.method.kind;
    try {
      this.#metadata = metadata;
      if (kind === "unary" || kind === "server-stream") {
        try {
          this.#request = this.method.requestType.encode(input as never).finish();
        } catch (error) {
          throw new RpcError("INVALID_ARGUMENT", `${this.info.path}: the request does not encode as ${this.method.requestTypeName}: ${messageOf(error)}`, {
            cause: error,
          });
        }
        this.#checkSize(this.#request.byteLength, "request");
      } else {
        this.#input = input;
      }
      this.reply = this.#host.register(this);
      this.#registered = true;
      this.send();
    } catch (error) {
      this.#finish(error instanceof RpcError ? error : new RpcError("INTERNAL", messageOf(error), { cause: error }), undefined);
    }
  }

  /** (Re)sends the request, with the time left until the deadline. Throws an `RpcError` if NATS refuses it. */
  send(): void {
    const window = this.responses === undefined ? 0 : this.#host.streamWindow;
    const headers = requestHeaders(timeoutMsUntil(this.#deadline), window, this.#metadata);
    publish(this.#host.nats, this.subject, this.#request, { reply: this.reply, headers }, this.info.path, true);
  }

  /** A message on the call's reply subject. */
  onMessage(msg: Msg): void {
    if (this.#done) return;
    const head = readReplyHead(msg.headers);
    if (head?.natsCode === 503) {
      this.#finish(new RpcError("UNAVAILABLE", `${this.info.path}: no server serves ${this.subject} (NATS: no responders)`), undefined);
      return;
    }
    this.answered = true;
    if (head?.status !== undefined) {
      if (head.status !== 0) return this.#finish(statusError(head, this.info.path), undefined, false);
      if (this.responses !== undefined) return this.#finish(undefined, undefined, false);
      const value = this.#decode(msg.data);
      if (value !== FAILED) this.#finish(undefined, value, false);
      return;
    }
    if (head !== undefined && (head.call !== undefined || head.window > 0)) {
      if (head.call !== undefined) this.#server ??= head.call;
      if (head.window > 0) this.#credit?.add(head.window);
      if (this.#credit !== undefined && !this.#pumping && this.#server !== undefined) {
        this.#pumping = true;
        void this.#pump(this.#input as RequestSource<unknown>);
      }
      return;
    }
    const responses = this.responses;
    if (responses === undefined) {
      // A single response without headers: the call succeeded (docs/wire.md §9.4).
      const value = this.#decode(msg.data);
      if (value !== FAILED) this.#finish(undefined, value, false);
      return;
    }
    const value = this.#decode(msg.data);
    if (value === FAILED) return;
    if (!responses.push(value, costOf(msg.data.byteLength))) {
      this.#giveUp(CANCELLED, this.#error("INTERNAL", "the server sent more than the call's flow-control window"));
    }
  }

  /** The client or its connection is gone: ends the call at once, sending nothing. */
  abandon(error: RpcError): void {
    this.#finish(error, undefined);
  }

  /** Gives up on the call from this side and tells the server. */
  cancel(error: RpcError): void {
    this.#giveUp(error.status === "DEADLINE_EXCEEDED" ? DEADLINE_EXCEEDED : CANCELLED, error);
  }

  /** Tells the caller the outcome (directly, or once the interceptors settled on it). */
  deliver(error: RpcError | undefined): void {
    if (error !== undefined) {
      if (this.#reject !== undefined) this.#reject(error);
      else if (this.#abrupt) this.responses!.destroy(error);
      else this.responses!.fail(error);
    } else if (this.#resolve !== undefined) {
      this.#resolve(this.#value);
    } else {
      this.responses!.end();
    }
  }

  #checkSize(size: number, what: string): void {
    const limit = this.#host.maxMessageSize;
    if (limit !== undefined && size > limit) {
      throw new RpcError("RESOURCE_EXHAUSTED", `${this.info.path}: the ${what} is ${size} bytes, over this client's maxMessageSize of ${limit} bytes`);
    }
  }

  #decode(payload: Uint8Array): unknown {
    try {
      this.#checkSize(payload.byteLength, "response");
      return this.method.responseType.decode(payload);
    } catch (error) {
      const failure =
        error instanceof RpcError
          ? error
          : this.#error("INTERNAL", `the response does not decode as ${this.method.responseTypeName}: ${messageOf(error)}`, error);
      this.#giveUp(CANCELLED, failure);
      return FAILED;
    }
  }

  /** Sends a control message to the server's subject for this call (or, before it is known, nowhere). */
  #toServer(headers: ReturnType<typeof controlHeaders>): void {
    if (this.#server !== undefined) publishQuietly(this.#host.nats, this.#server, EMPTY, { headers });
  }

  async #pump(source: RequestSource<unknown>): Promise<void> {
    const credit = this.#credit!;
    let iterator: Iterator<unknown> | AsyncIterator<unknown>;
    try {
      iterator = iteratorOf(source);
    } catch (error) {
      this.#giveUp(CANCELLED, error as RpcError);
      return;
    }
    let finished = false;
    const turns = new EventLoopTurns(STREAM_TURN);
    try {
      for (;;) {
        const ready = credit.ready();
        if (ready !== undefined) await ready;
        const turn = turns.next();
        if (turn !== undefined) await turn;
        if (this.#done) return;
        let next: IteratorResult<unknown>;
        try {
          next = await iterator.next();
        } catch (error) {
          finished = true;
          this.#giveUp(CANCELLED, this.#error("CANCELLED", `the request stream failed: ${messageOf(error)}`, error));
          return;
        }
        if (this.#done) return;
        if (next.done) {
          finished = true;
          publish(this.#host.nats, this.#server!, EMPTY, { headers: controlHeaders(H_END, "1") }, this.info.path);
          return;
        }
        let data: Uint8Array;
        try {
          data = this.method.requestType.encode(next.value as never).finish();
        } catch (error) {
          throw new RpcError("INVALID_ARGUMENT", `${this.info.path}: a request does not encode as ${this.method.requestTypeName}: ${messageOf(error)}`, {
            cause: error,
          });
        }
        this.#checkSize(data.byteLength, "request");
        credit.spend(data.byteLength);
        publish(this.#host.nats, this.#server!, data, undefined, this.info.path);
      }
    } catch (error) {
      if (!this.#done) this.#giveUp(CANCELLED, error instanceof RpcError ? error : this.#error("UNAVAILABLE", messageOf(error), error));
    } finally {
      if (!finished) void closeIterator(iterator);
    }
  }

  #watch(signal: AbortSignal): void {
    const onAbort = (): void => {
      this.#giveUp(CANCELLED, new RpcError("CANCELLED", `${this.info.path} was cancelled by its AbortSignal`, { cause: signal.reason }));
    };
    if (signal.aborted) return onAbort();
    this.#signal = signal;
    this.#onAbort = onAbort;
    signal.addEventListener("abort", onAbort, { once: true });
  }

  #onDeadline(): void {
    this.#timer = undefined;
    const deadline = new Date(this.#deadline!).toISOString();
    this.#giveUp(DEADLINE_EXCEEDED, new RpcError("DEADLINE_EXCEEDED", `${this.info.path} passed its deadline, ${deadline}`));
  }

  #error(status: RpcErrorStatus, text: string, cause?: unknown): RpcError {
    return new RpcError(status, `${this.info.path}: ${text}`, cause === undefined ? undefined : { cause });
  }

  #giveUp(wireStatus: string, error: RpcError): void {
    if (this.#done) return;
    const registered = this.#registered;
    this.#finish(error, undefined);
    if (!registered) return;
    const headers = controlHeaders(H_CANCEL, wireStatus);
    if (this.#server !== undefined) {
      publishQuietly(this.#host.nats, this.#server, EMPTY, { headers });
    } else {
      headers.set(H_REPLY, this.reply);
      publishQuietly(this.#host.nats, this.#host.cancelSubject, EMPTY, { headers });
    }
  }

  #finish(error: RpcError | undefined, value: unknown, abrupt = true): void {
    if (this.#done) return;
    this.#done = true;
    this.#timer?.clear();
    this.#timer = undefined;
    if (this.#onAbort !== undefined) this.#signal!.removeEventListener("abort", this.#onAbort);
    this.#signal = undefined;
    this.#onAbort = undefined;
    if (this.#registered) this.#host.unregister(this);
    this.#credit?.fail(error ?? FINISHED);
    this.#value = value;
    this.#abrupt = abrupt;
    this.#input = undefined;
    const completion = this.#completion;
    if (completion === undefined) this.deliver(error);
    else if (error === undefined) completion.resolve();
    else completion.reject(error);
  }
}

const FAILED = Symbol("failed");
const FINISHED = new RpcError("CANCELLED", "the call is over");

function iteratorOf(source: RequestSource<unknown>): Iterator<unknown> | AsyncIterator<unknown> {
  const asyncIterator = (source as AsyncIterable<unknown>)?.[Symbol.asyncIterator];
  if (typeof asyncIterator === "function") return asyncIterator.call(source);
  const iterator = (source as Iterable<unknown>)?.[Symbol.iterator];
  if (typeof iterator === "function") return iterator.call(source);
  throw new RpcError("INVALID_ARGUMENT", "a streaming call takes an iterable or async iterable of requests");
}

async function closeIterator(iterator: Iterator<unknown> | AsyncIterator<unknown>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // The caller's generator failed while being closed: the call's outcome is already decided.
  }
}
