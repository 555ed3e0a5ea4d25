/**
 * One call of a client, any shape: it sends the request (or pulls the request stream as credit allows),
 * takes the server's messages for its id, and ends exactly once — with the server's response, or at once
 * on this side (deadline, cancellation, a failed connection).
 */
import { BATCH_MESSAGE_OVERHEAD, MessageTooLargeError, type Connection, type RpcCall } from "@ipc/core";
import { publishRpcCallEnd, publishRpcCallStart } from "@ipc/core/transport";
import { setDeadlineTimer, timeoutMsUntil } from "./deadline.js";
import { EventLoopTurns, InboundStream, SendCredit, STREAM_TURN, costOf } from "./flow.js";
import type { AnyMethod } from "./method.js";
import type { ResolvedClientOptions } from "./options.js";
import { RPC_STATUS_CODES, RpcError, messageOf, statusName, type RpcErrorStatus } from "./status.js";
import type { RequestSource } from "./types.js";
import { entrySize, type EnvelopeWriter } from "./encode.js";
import { MAX_METADATA_BYTES, MAX_METADATA_ENTRIES, type CallId, type ResponseEnvelope } from "./wire.js";

/** Settled with a call's outcome before the caller sees it, when interceptors run around the call. */
export interface Completion {
  resolve(): void;
  reject(error: unknown): void;
}

/** What a call needs from its client. */
export interface CallHost {
  readonly connection: Connection;
  readonly options: ResolvedClientOptions;
  readonly writer: EnvelopeWriter;
  /** Gives the call an id and routes that id's messages to it; throws `UNAVAILABLE` once closed. */
  register(call: ClientCall): CallId;
  unregister(id: CallId): void;
}

/** The status a failed `send()` gives a call. */
export function sendFailure(error: unknown, what: string): RpcError {
  if (error instanceof MessageTooLargeError) {
    return new RpcError("RESOURCE_EXHAUSTED", `${what}: ${error.message}`, { cause: error });
  }
  return new RpcError("UNAVAILABLE", `${what}: the connection failed (${messageOf(error)})`, { cause: error });
}

/** Bytes of request stream frames (with their batch overhead) after which the pump sends and waits. */
const BURST_BYTES = 64 * 1024;

function iteratorOf(source: RequestSource<unknown>): Iterator<unknown> | AsyncIterator<unknown> {
  const asyncIterator = (source as AsyncIterable<unknown>)?.[Symbol.asyncIterator];
  if (typeof asyncIterator === "function") return asyncIterator.call(source);
  const iterator = (source as Iterable<unknown>)?.[Symbol.iterator];
  if (typeof iterator === "function") return iterator.call(source);
  throw new RpcError("INVALID_ARGUMENT", "a streaming call takes an iterable or async iterable of requests");
}

export class ClientCall {
  id: CallId = 0;
  readonly method: AnyMethod;
  /** Settles with the response of a unary or client-streaming call. */
  readonly promise: Promise<unknown> | undefined;
  /** The responses of a server-streaming or bidirectional call. */
  readonly responses: InboundStream<unknown> | undefined;
  readonly #host: CallHost;
  /** The method's path, UTF-8 encoded once per client. */
  readonly #path: Uint8Array;
  readonly #deadline: number | undefined;
  readonly #credit: SendCredit | undefined;
  #timer: { clear(): void } | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #registered = false;
  #done = false;
  /** With interceptors: the outcome settles this first, and reaches the caller through {@link deliver}. */
  readonly #completion: Completion | undefined;
  /** The outcome, kept for {@link deliver}. */
  #value: unknown = undefined;
  #abrupt = true;
  /** The call as `ipc:rpc:call:start` published it, for its end; `undefined` when nobody subscribed. */
  readonly #diagnostic: RpcCall | undefined;
  /** Request stream frames of this burst, sent together by {@link #flush} (one `sendBatch()`). */
  #burst: Uint8Array[] = [];
  /** The burst's cost against the connection's batch bound (`BATCH_MESSAGE_OVERHEAD` a frame). */
  #burstCost = 0;

  constructor(
    host: CallHost,
    method: AnyMethod,
    path: Uint8Array,
    deadline: number | undefined,
    signal: AbortSignal | undefined,
    completion: Completion | undefined,
  ) {
    this.#host = host;
    this.#path = path;
    this.#completion = completion;
    this.method = method;
    this.#deadline = deadline;
    this.#diagnostic = publishRpcCallStart("client", method.path, method.kind, host.connection);
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
        host.options.streamWindow,
        (credit) => this.#sendControl(() => host.writer.window(this.id, credit)),
        () => this.#giveUp("CANCELLED", this.#error("CANCELLED", "the caller stopped reading the responses")),
      );
    }
    this.#credit = kind === "client-stream" || kind === "bidi" ? new SendCredit(0) : undefined;
    if (signal !== undefined) this.#watch(signal);
    if (deadline !== undefined && !this.#done) {
      if (deadline <= Date.now()) this.#onDeadline();
      else this.#timer = setDeadlineTimer(deadline, () => this.#onDeadline());
    }
  }

  /** True once the call has ended (for the caller, or for the interceptors). */
  get done(): boolean {
    return this.#done;
  }

  /** Sends the request (and starts pulling the request stream). Does nothing if the call already ended. */
  start(metadata: Readonly<Record<string, string>> | undefined, input: unknown): void {
    if (this.#done) return;
    const host = this.#host;
    const method = this.method;
    const kind = method.kind;
    const single = kind === "unary" || kind === "server-stream";
    let frame: Uint8Array;
    try {
      checkMetadata(metadata);
      this.id = host.register(this);
      this.#registered = true;
      const window = this.responses === undefined ? 0 : host.options.streamWindow;
      const timeout = timeoutMsUntil(this.#deadline);
      const encoder = single ? method.requestType : undefined;
      frame = host.writer.request(this.id, this.#path, timeout, metadata, encoder, input, window);
    } catch (error) {
      this.#finish(error instanceof RpcError ? error : encodeFailure(method, error), undefined, true);
      return;
    }
    const { maxMessageSize } = host.options;
    if (single && host.writer.payloadSize > maxMessageSize) {
      this.#finish(tooLarge(method.path, "request", host.writer.payloadSize, maxMessageSize), undefined, true);
      return;
    }
    if (frame.byteLength > host.connection.maxMessageSize) {
      const error = new MessageTooLargeError(frame.byteLength, host.connection.maxMessageSize);
      this.#finish(sendFailure(error, method.path), undefined, true);
      return;
    }
    // Any other failure to send is the connection's: the read loop sees it and fails every call.
    host.connection.send(frame).then(undefined, ignore);
    if (!single) void this.#pump(input as RequestSource<unknown>);
  }

  onResponse(envelope: ResponseEnvelope): void {
    if (this.#done) return;
    const status = statusName(envelope.status);
    if (status !== "OK") {
      const message = envelope.message || `${this.method.path} failed with ${status}`;
      this.#finish(new RpcError(status, message, { details: envelope.details }), undefined, false);
      return;
    }
    if (this.responses !== undefined) {
      this.#finish(undefined, undefined, false);
      return;
    }
    const value = this.#decode(envelope.payload);
    if (value !== FAILED) this.#finish(undefined, value, false);
  }

  onStreamMessage(payload: Uint8Array): void {
    if (this.#done) return;
    const responses = this.responses;
    if (responses === undefined) {
      this.#fail(this.#error("INTERNAL", `the server sent a stream message on a ${this.method.kind} call`));
      return;
    }
    const value = this.#decode(payload);
    if (value === FAILED) return;
    if (!responses.push(value, costOf(payload.byteLength))) {
      this.#fail(this.#error("INTERNAL", "the server sent more than the call's flow-control window"));
    }
  }

  onWindow(credit: number): void {
    this.#credit?.add(credit);
  }

  /** The connection is gone: ends the call at once, sending nothing. */
  abandon(error: RpcError): void {
    this.#finish(error, undefined, true);
  }

  /** Gives up on the call from this side (cancellation, deadline) and tells the server. */
  cancel(error: RpcError): void {
    this.#giveUp(error.status === "DEADLINE_EXCEEDED" ? "DEADLINE_EXCEEDED" : "CANCELLED", error);
  }

  /** Tells the caller the outcome the interceptors settled on. */
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

  #decode(payload: Uint8Array): unknown {
    const { maxMessageSize } = this.#host.options;
    if (payload.byteLength > maxMessageSize) {
      this.#fail(tooLarge(this.method.path, "response", payload.byteLength, maxMessageSize));
      return FAILED;
    }
    try {
      return this.method.responseType.decode(payload);
    } catch (error) {
      const type = this.method.responseTypeName;
      this.#fail(this.#error("INTERNAL", `the response does not decode as ${type}: ${messageOf(error)}`, error));
      return FAILED;
    }
  }

  /**
   * Pulls the request stream while the server grants credit, until it ends or the call does. The messages
   * the source yields in one burst go out together: queued by {@link #queue} and sent with one `sendBatch()`
   * in the next tick (after the microtasks that a generator yielding at once runs on), before the pump waits
   * for credit or the event loop, or once the burst reaches {@link BURST_BYTES} — there the pump waits for the
   * connection to accept it, so a slow connection slows the stream (the call's credit bounds what is queued
   * in any case).
   */
  async #pump(source: RequestSource<unknown>): Promise<void> {
    const host = this.#host;
    const credit = this.#credit!;
    let iterator: Iterator<unknown> | AsyncIterator<unknown>;
    try {
      iterator = iteratorOf(source);
    } catch (error) {
      this.#fail(error as RpcError);
      return;
    }
    let finished = false;
    const turns = new EventLoopTurns(STREAM_TURN);
    try {
      for (;;) {
        const ready = credit.ready();
        if (ready !== undefined) {
          this.#flushSoon();
          await ready;
        }
        const turn = turns.next();
        if (turn !== undefined) {
          this.#flushSoon();
          await turn;
        }
        if (this.#done) return;
        let next: IteratorResult<unknown>;
        try {
          next = await iterator.next();
        } catch (error) {
          finished = true;
          this.#fail(this.#error("CANCELLED", `the request stream failed: ${messageOf(error)}`, error));
          return;
        }
        if (this.#done) return;
        if (next.done) {
          finished = true;
          await this.#flush();
          await host.connection.send(host.writer.end(this.id));
          return;
        }
        const full = this.#queue(next.value);
        if (full) await this.#flush();
      }
    } catch (error) {
      if (!this.#done) this.#fail(error instanceof RpcError ? error : sendFailure(error, this.method.path));
    } finally {
      if (!finished) void closeIterator(iterator);
    }
  }

  /** Encodes a stream message into the burst, spending its credit; true when the burst should be sent now. */
  #queue(message: unknown): boolean {
    const host = this.#host;
    let frame: Uint8Array;
    try {
      frame = host.writer.streamMessage(this.id, this.method.requestType, message);
    } catch (error) {
      throw encodeFailure(this.method, error);
    }
    const size = host.writer.payloadSize;
    const { maxMessageSize } = host.options;
    if (size > maxMessageSize) throw tooLarge(this.method.path, "request", size, maxMessageSize);
    this.#credit!.spend(size);
    const cost = frame.byteLength + BATCH_MESSAGE_OVERHEAD;
    // The batch bound (the connection's maxMessageSize + one overhead): a frame that would pass it goes in a
    // burst of its own (and one over the connection's limit is refused by it alone, as a send() would be).
    if (this.#burst.length > 0 && this.#burstCost + cost > host.connection.maxMessageSize + BATCH_MESSAGE_OVERHEAD) {
      this.#flushSoon();
    }
    if (this.#burst.length === 0) process.nextTick(this.#onTick);
    this.#burst.push(frame);
    this.#burstCost += cost;
    return this.#burstCost >= BURST_BYTES;
  }

  /** Sends the burst; resolves when the connection accepted it (rejects as `send()` would). */
  #flush(): Promise<void> {
    const frames = this.#burst;
    if (frames.length === 0) return Promise.resolve();
    this.#burst = [];
    this.#burstCost = 0;
    const connection = this.#host.connection;
    return frames.length === 1 ? connection.send(frames[0]!) : connection.sendBatch(frames);
  }

  readonly #onTick = (): void => this.#flushSoon();

  /** Sends the burst without waiting: a refusal fails the call (the pump sees `done` and stops). */
  #flushSoon(): void {
    if (this.#burst.length === 0) return;
    this.#flush().then(undefined, (error: unknown) => {
      if (!this.#done) this.#fail(sendFailure(error, this.method.path));
    });
  }

  #watch(signal: AbortSignal): void {
    const onAbort = (): void => {
      this.#giveUp("CANCELLED", new RpcError("CANCELLED", `${this.method.path} was cancelled by its AbortSignal`, { cause: signal.reason }));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    this.#signal = signal;
    this.#onAbort = onAbort;
    signal.addEventListener("abort", onAbort, { once: true });
  }

  #onDeadline(): void {
    this.#timer = undefined;
    const deadline = new Date(this.#deadline!).toISOString();
    this.#giveUp("DEADLINE_EXCEEDED", new RpcError("DEADLINE_EXCEEDED", `${this.method.path} passed its deadline, ${deadline}`));
  }

  /** An error about this call: its path, then `text`. */
  #error(status: RpcErrorStatus, text: string, cause?: unknown): RpcError {
    return new RpcError(status, `${this.method.path}: ${text}`, cause === undefined ? undefined : { cause });
  }

  /** Ends the call from this side because of something the server or the encoder did. */
  #fail(error: RpcError): void {
    this.#giveUp("CANCELLED", error);
  }

  #giveUp(wireStatus: "CANCELLED" | "DEADLINE_EXCEEDED", error: RpcError): void {
    if (this.#done) return;
    const registered = this.#registered;
    this.#finish(error, undefined, true);
    if (registered) this.#sendControl(() => this.#host.writer.cancel(this.id, RPC_STATUS_CODES[wireStatus]));
  }

  /** Sends a control frame; if it fails, so does the connection, and every call hears of it from there. */
  #sendControl(encode: () => Uint8Array): void {
    this.#host.connection.send(encode()).then(undefined, ignore);
  }

  #finish(error: RpcError | undefined, value: unknown, abrupt: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#timer?.clear();
    this.#timer = undefined;
    if (this.#onAbort !== undefined) this.#signal!.removeEventListener("abort", this.#onAbort);
    this.#signal = undefined;
    this.#onAbort = undefined;
    if (this.#registered) this.#host.unregister(this.id);
    this.#credit?.fail(error ?? FINISHED);
    publishRpcCallEnd(this.#diagnostic, error?.status ?? "OK", error);
    this.#value = value;
    this.#abrupt = abrupt;
    const completion = this.#completion;
    if (completion === undefined) this.deliver(error);
    else if (error === undefined) completion.resolve();
    else completion.reject(error);
  }
}

/** Marks a payload that failed to decode (the call has already failed). */
const FAILED = Symbol("failed");
/** What a pump waiting for credit sees when the call succeeded. */
const FINISHED = new RpcError("CANCELLED", "the call is over");

function ignore(): void {}

async function closeIterator(iterator: Iterator<unknown> | AsyncIterator<unknown>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // The caller's generator failed while being closed: the call's outcome is already decided.
  }
}

function tooLarge(path: string, what: string, size: number, limit: number): RpcError {
  return new RpcError("RESOURCE_EXHAUSTED", `${path}: the ${what} is ${size} bytes, over this client's maxMessageSize of ${limit} bytes`);
}

function encodeFailure(method: AnyMethod, error: unknown): RpcError {
  return new RpcError("INVALID_ARGUMENT", `${method.path}: the request does not encode as ${method.requestTypeName}: ${messageOf(error)}`, { cause: error });
}

function checkMetadata(metadata: Readonly<Record<string, string>> | undefined): void {
  if (metadata === undefined) return;
  if (typeof metadata !== "object" || metadata === null) {
    throw new RpcError("INVALID_ARGUMENT", "metadata must be an object of strings");
  }
  let entries = 0;
  let bytes = 0;
  for (const name in metadata) {
    const value = metadata[name];
    if (typeof value !== "string") {
      throw new RpcError("INVALID_ARGUMENT", `metadata '${name}' must be a string, got ${typeof value}`);
    }
    entries++;
    bytes += entrySize(name, value);
  }
  if (entries > MAX_METADATA_ENTRIES || bytes > MAX_METADATA_BYTES) {
    const limits = `${MAX_METADATA_ENTRIES} entries and ${MAX_METADATA_BYTES} bytes`;
    throw new RpcError("RESOURCE_EXHAUSTED", `the metadata (${entries} entries, ${bytes} bytes) is over the limits of ${limits}`);
  }
}
