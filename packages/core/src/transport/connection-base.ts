/**
 * The rules every {@link Connection} shares, written once: what `send()` refuses and with which error, the
 * already-aborted signal, what a send is told after `close()`, the peer's close, `abort()` or a failure,
 * idempotent `close()`/`abort()`, a `closed` that is never an unhandled rejection, `await using`, and
 * receiving through the {@link Inbox}. A transport or layer supplies its I/O through the protected hooks.
 */
import { abortError, race } from "../deadline.js";
import { Deferred, settledOf } from "../deferred.js";
import { publishClose, watchingBackpressure } from "../diagnostics-publish.js";
import { AbortError, ClosedError, InvalidArgumentError, MessageTooLargeError } from "../errors.js";
import { batchBounds, type Inbox } from "../inbox.js";
import { BATCH_MESSAGE_OVERHEAD, DEFAULT_HIGH_WATER_MARK } from "../options.js";
import type { CloseOptions, Connection, Peer, ReceiveBatchOptions, ReceiveOptions, SendOptions } from "../types.js";

const OPEN = 0;
/** This side or the peer began to close: no more sends; what was accepted still goes out. */
const CLOSING = 1;
/** `closed` has settled, cleanly or with the failure. */
const CLOSED = 2;
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The checked bounds of a `receiveBatch()` for a connection that reads without an inbox: `maxMessages`
 * (default unlimited) and `maxBytes` (default `defaultMaxBytes`, 256 KiB unless given). Throws
 * `InvalidArgumentError` for a bound that is not a positive integer.
 */
export function checkedBatchBounds(
  options: ReceiveBatchOptions | undefined,
  defaultMaxBytes = DEFAULT_HIGH_WATER_MARK,
): { maxMessages: number; maxBytes: number } {
  return batchBounds(options, defaultMaxBytes);
}

/**
 * A connection's shared behaviour. Subclasses implement the hooks `write`, `endSending` and `onFail` (and
 * `onAbort`, `read`, `dropUnread`, `describe` where theirs differ), and report what their transport sees with
 * `closedByPeer()`, `finishClose()` and `fail()`. `write` only ever gets a message that passed every check.
 */
export abstract class ConnectionBase implements Connection {
  abstract readonly localAddress: string;
  abstract readonly remoteAddress: string;
  abstract readonly peer: Peer | undefined;
  abstract readonly maxMessageSize: number;
  /** Where received messages wait; `undefined` for a connection that implements `read()` instead. */
  protected abstract readonly inbox: Inbox | undefined;
  readonly #closed = new Deferred();
  #state = OPEN;
  #byPeer = false;
  #error: Error | undefined;
  /** True while `abort()` fails the connection: its close reason is `abort` unless the error says more. */
  #aborting = false;

  constructor() {
    // The subclass sets `inbox` after this constructor returns: name this connection as its owner in
    // `ipc:backpressure` messages once it has (before any I/O can fill it). Only while someone subscribes:
    // otherwise a connection costs nothing more (a microtask each made in-memory connects 14 % slower).
    if (watchingBackpressure()) {
      queueMicrotask(() => {
        const inbox = this.inbox;
        if (inbox !== undefined) inbox.owner = this;
      });
    }
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** True until either side begins to close or the connection fails: sends are accepted. */
  protected get isOpen(): boolean {
    return this.#state === OPEN;
  }

  /** True once `closed` has settled. */
  protected get isClosed(): boolean {
    return this.#state === CLOSED;
  }

  /** The error that ended the connection, if it failed or was aborted. */
  protected get failure(): Error | undefined {
    return this.#error;
  }

  /** Checks the message (type, size), then the state and the signal; a refusal rejects, never throws. */
  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    const refused = this.#checkMessage(message) ?? this.#checkSending(options);
    return refused === undefined ? this.write(message, options) : Promise.reject(refused);
  }

  /**
   * Checks every message and the batch's total cost (`Connection.sendBatch`), then the state and the signal,
   * and hands the batch to `writeBatch`; an empty batch resolves at once while open.
   */
  sendBatch(messages: readonly Uint8Array[], options?: SendOptions): Promise<void> {
    const refused = this.#checkBatch(messages) ?? this.#checkSending(options);
    if (refused !== undefined) return Promise.reject(refused);
    return messages.length === 0 ? Promise.resolve() : this.writeBatch(messages, options);
  }

  /** An already-aborted signal rejects at once, leaving the next message for the next call. */
  receive(options?: ReceiveOptions): Promise<Uint8Array | undefined> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, "receive"));
    const inbox = this.inbox;
    return inbox === undefined ? this.read(options) : inbox.receive(options);
  }

  /** Like `receive()`: an already-aborted signal rejects at once; bounds are checked before any wait. */
  receiveBatch(options?: ReceiveBatchOptions): Promise<Uint8Array[] | undefined> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, "receive"));
    const inbox = this.inbox;
    return inbox === undefined ? this.readBatch(options) : inbox.receiveBatch(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.inbox !== undefined) return this.inbox[Symbol.asyncIterator]();
    return {
      next: () => this.read(undefined).then((value) => (value === undefined ? DONE : { done: false, value })),
      // Leaving a loop early leaves the connection open: iterate again to go on.
      return: () => Promise.resolve(DONE),
    };
  }

  /** Begins this side's close (once); a timeout or abort of the wait aborts the connection with its error. */
  async close(options?: CloseOptions): Promise<void> {
    this.#beginClose(false);
    try {
      await race("close", settledOf(this.#closed.promise), options);
    } catch (error) {
      this.abort(error as Error);
    }
  }

  /** Tells the peer (`onAbort`) and fails with `reason`, dropping what is unread; once over, only drops that. */
  abort(reason?: Error): void {
    const error = reason ?? new AbortError(`${this.describe()} was aborted on this side`);
    if (this.#state === CLOSED) return this.dropUnread(this.#error ?? error);
    this.onAbort(error);
    this.#aborting = true;
    this.fail(error, true);
    this.#aborting = false;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Takes a checked message: resolves once the transport accepted it (into its bounded buffer, the OS, the
   * ring), or waits under `options` for room, withdrawing it if the wait ends first.
   */
  protected abstract write(message: Uint8Array, options: SendOptions | undefined): Promise<void>;

  /**
   * Takes a checked, non-empty batch (`Connection.sendBatch`): in order after every earlier write, accepted
   * whole once there is room (one wait), or withdrawn whole if the wait ends first. Each transport and layer
   * implements it natively (one write of all frames, one doorbell, one credit check), not as a loop of `write`.
   */
  protected abstract writeBatch(messages: readonly Uint8Array[], options: SendOptions | undefined): Promise<void>;

  /** The next message, for a connection without an inbox (the signal is checked already). */
  protected read(options: ReceiveOptions | undefined): Promise<Uint8Array | undefined> {
    return this.inbox!.receive(options);
  }

  /**
   * A batch of messages, for a connection without an inbox (the signal is checked already; the bounds are
   * not: see {@link checkedBatchBounds}).
   */
  protected readBatch(options: ReceiveBatchOptions | undefined): Promise<Uint8Array[] | undefined> {
    return this.inbox!.receiveBatch(options);
  }

  /** This side's graceful close begins (once, from `close()` or `closedByPeer()`): deliver, then tell the peer. */
  protected abstract endSending(): void;

  /** `abort()` of a live connection: tell the peer now (a reset), before it fails. */
  protected onAbort(_reason: Error): void {}

  /** The connection failed (once; `closed` is rejected): release resources, reject sends waiting for room. */
  protected abstract onFail(error: Error): void;

  /** Drops what was received and not read: readers get `error`. */
  protected dropUnread(error: Error): void {
    this.inbox?.destroy(error);
  }

  /** Names the connection in messages. */
  protected describe(): string {
    return this.remoteAddress === "" ? "connection" : `connection to ${this.remoteAddress}`;
  }

  /** The peer's end arrived: sends are refused ("closed by the peer") and this side's close begins. */
  protected closedByPeer(): void {
    this.#beginClose(true);
  }

  /** Both ends closed gracefully: `closed` resolves. Ignored once settled. */
  protected finishClose(): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.#closed.resolve();
    publishClose(this, undefined, false);
  }

  /**
   * Ends the connection with `error`: sends and `closed` reject with it, readers get it after the messages
   * already received (at once if `discard`). Ignored once settled.
   */
  protected fail(error: Error, discard = false): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.#error = error;
    if (discard) this.dropUnread(error);
    else this.inbox?.fail(error);
    this.#closed.reject(error);
    this.onFail(error);
    publishClose(this, error, this.#aborting);
  }

  #beginClose(byPeer: boolean): void {
    if (this.#state !== OPEN) return;
    this.#state = CLOSING;
    this.#byPeer = byPeer;
    this.endSending();
  }

  #checkMessage(message: Uint8Array): Error | undefined {
    if (!(message instanceof Uint8Array)) return new InvalidArgumentError("send() takes a Uint8Array");
    // `length` is a Uint8Array's byte length: on Node 20 (V8 11) the `byteLength` getter is not inlined (12–17 ns a read, against 1 ns).
    if (message.length > this.maxMessageSize) return new MessageTooLargeError(message.length, this.maxMessageSize);
    return undefined;
  }

  /** One pass over the batch: each message's type and size (as `send()` checks them), and the batch's cost. */
  #checkBatch(messages: readonly Uint8Array[]): Error | undefined {
    if (!Array.isArray(messages)) return new InvalidArgumentError("sendBatch() takes an array of Uint8Array");
    const max = this.maxMessageSize;
    let bytes = 0;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      if (!(message instanceof Uint8Array)) return new InvalidArgumentError(`sendBatch() takes an array of Uint8Array; element ${i} is not one`);
      const size = message.length; // see #checkMessage
      if (size > max) return new MessageTooLargeError(size, max);
      bytes += size;
    }
    const cost = bytes + messages.length * BATCH_MESSAGE_OVERHEAD;
    if (cost > max + BATCH_MESSAGE_OVERHEAD && messages.length > 1) {
      return new MessageTooLargeError(cost, max, { batch: messages.length });
    }
    return undefined;
  }

  #checkSending(options: SendOptions | undefined): Error | undefined {
    if (this.#state !== OPEN) {
      const by = this.#byPeer ? "the peer" : "this side";
      return this.#error ?? new ClosedError(`${this.describe()}: closed by ${by}; no more messages can be sent`);
    }
    const signal = options?.signal;
    return signal?.aborted === true ? abortError(signal, "send") : undefined;
  }
}
