/**
 * The receiving half of a connection: a queue of whole messages with byte accounting, so the source
 * can be paused when the consumer falls behind, and the end or the error that follows the last message.
 * Every Connection implementation in the toolkit receives through one.
 */
import { wait } from "./deadline.js";
import { publishBackpressure } from "./diagnostics-publish.js";
import { InvalidArgumentError } from "./errors.js";
import type { Connection, ReceiveBatchOptions, ReceiveOptions } from "./types.js";

/** Callbacks an {@link Inbox} uses to push back on its source. */
export interface InboxOptions {
  /** Bytes queued at which `onFull` is called. */
  readonly highWaterMark: number;
  /** Called once the queued bytes reach `highWaterMark`: stop reading from the source. */
  readonly onFull?: (() => void) | undefined;
  /** Called when the queued bytes fall to half of `highWaterMark` after `onFull`: read again. */
  readonly onDrain?: (() => void) | undefined;
  /**
   * Called with each message as it is handed to a reader (`receive()` or the iterator), before the
   * reader sees it: for layers that acknowledge or grant credit as their application takes messages.
   */
  readonly onTake?: ((message: Uint8Array) => void) | undefined;
  /**
   * Called once for each group of messages handed to a reader together — `messages[from..to)`, whose lengths sum
   * to `bytes` — before the reader sees them, so that a layer accounts once per `receiveBatch()` rather than once
   * per message. When given, a group of several messages is reported here and never to `onTake`; a message taken
   * alone (`receive()`, the iterator, a lone push to a waiting reader) goes to `onTake` if it is given, else here
   * as a group of one. Default: none.
   */
  readonly onTakeMany?: ((messages: readonly Uint8Array[], from: number, to: number, bytes: number) => void) | undefined;
  /**
   * The default `maxBytes` of `receiveBatch()`. Default: `highWaterMark`. A queue bounded by something else (a
   * layer's credit window, with an unbounded high-water mark) sets the usual 256 KiB here.
   */
  readonly batchBytes?: number | undefined;
}

/**
 * A waiting `receive()` (resolved with the message), iterator `next()` (with an iterator result) or
 * `receiveBatch()` (with an array).
 */
interface Reader {
  resolve(value: never): void;
  reject(error: unknown): void;
  /** True for an iterator's `next()`: it resolves with `{ done, value }` directly, saving a promise. */
  readonly iterating: boolean;
  /** The bounds of a `receiveBatch()`; `undefined` for a single-message reader. */
  readonly batch?: BatchBounds | undefined;
}

/** The checked bounds of one `receiveBatch()`. */
export interface BatchBounds {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(`receiveBatch(): ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks the bounds of {@link ReceiveBatchOptions} and applies their defaults (`maxBytes`: `defaultMaxBytes`,
 * the connection's high-water mark). Throws `InvalidArgumentError` for a bound that is not a positive integer.
 */
export function batchBounds(options: ReceiveBatchOptions | undefined, defaultMaxBytes: number): BatchBounds {
  return {
    maxMessages: positiveInteger("maxMessages", options?.maxMessages, Number.MAX_SAFE_INTEGER),
    maxBytes: positiveInteger("maxBytes", options?.maxBytes, defaultMaxBytes),
  };
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * What every queued message costs on top of its bytes: the array object, its queue slots and its frame
 * header, about what V8 and the framing spend on an empty message. So a flood of empty or tiny messages
 * fills the high-water mark and pauses the source like large ones do (docs/wire.md §1, "Limits").
 */
export const MESSAGE_OVERHEAD = 128;

/**
 * A bounded queue of received messages, read with `receive()` or `for await`. Sizes are read as `length`, which
 * is the byte length of a `Uint8Array`: on Node 20 (V8 11) the `byteLength` getter is not inlined and costs
 * 12–17 ns a read against 1 ns (docs/benchmarks.md, "Issue 17 — stream transports").
 */
export class Inbox implements AsyncIterable<Uint8Array> {
  readonly #highWaterMark: number;
  readonly #lowWaterMark: number;
  readonly #onFull: (() => void) | undefined;
  readonly #onDrain: (() => void) | undefined;
  readonly #onTake: ((message: Uint8Array) => void) | undefined;
  readonly #onTakeMany: ((messages: readonly Uint8Array[], from: number, to: number, bytes: number) => void) | undefined;
  readonly #batchBytes: number;
  #queue: Uint8Array[] = [];
  /** What each queued message is charged (its bytes or what it pins, plus MESSAGE_OVERHEAD). */
  #costs: number[] = [];
  #head = 0;
  #bytes = 0;
  #full = false;
  #ended = false;
  #error: unknown = undefined;
  #failed = false;
  #readers: Reader[] = [];
  /** The connection this queue belongs to, named in `ipc:backpressure` messages (set by `ConnectionBase`). */
  owner: Connection | undefined = undefined;

  constructor(options: InboxOptions) {
    this.#highWaterMark = options.highWaterMark;
    this.#lowWaterMark = Math.floor(options.highWaterMark / 2);
    this.#onFull = options.onFull;
    this.#onDrain = options.onDrain;
    this.#onTakeMany = options.onTakeMany;
    const onTakeMany = options.onTakeMany;
    // A single message is a group of one, unless the owner gave `onTake` for those too.
    this.#onTake = options.onTake ?? (onTakeMany !== undefined ? (message) => onTakeMany([message], 0, 1, message.length) : undefined);
    this.#batchBytes = options.batchBytes ?? options.highWaterMark;
  }

  /** Bytes charged for the messages queued and not yet received: each one's size (or what it pins) plus {@link MESSAGE_OVERHEAD}. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  /** Messages queued and not yet received. */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  /** Readers waiting for a message: `receive()`, `receiveBatch()` and iterator `next()` calls not yet settled. */
  get waiting(): number {
    return this.#readers.length;
  }

  /** True while the queued bytes are below the high-water mark. */
  get hasRoom(): boolean {
    return this.#bytes < this.#highWaterMark;
  }

  /** True once `end()`, `fail()` or `destroy()` was called: nothing more will be queued. */
  get finished(): boolean {
    return this.#ended || this.#failed;
  }

  /**
   * Queues a received message (or hands it straight to a waiting reader). Ignored once finished. `pinned`
   * is the memory the message keeps alive when that is more than its bytes (a view into a larger chunk);
   * it is charged that plus {@link MESSAGE_OVERHEAD} until received.
   */
  push(message: Uint8Array, pinned = message.length): void {
    if (this.#ended || this.#failed) return;
    if (this.#head === this.#queue.length) {
      // A batch handed out in this turn takes what follows in the same turn, within its bounds (a source
      // pushes every message of one read in one go), until its reader can see it (see #handOut).
      const open = this.#open;
      if (open !== undefined) {
        const size = open.bytes + message.length;
        if (open.batch.length < open.maxMessages && size <= open.maxBytes) {
          open.batch.push(message);
          open.bytes = size;
          this.#onTake?.(message);
          return;
        }
        this.#open = undefined;
      }
      if (this.#readers.length > 0) {
        this.#handOut(this.#readers.shift()!, message);
        return;
      }
    }
    const cost = Math.max(pinned, message.length) + MESSAGE_OVERHEAD;
    if (this.#readers.length > 0) this.#scheduleServe();
    this.#queue.push(message);
    this.#costs.push(cost);
    this.#bytes += cost;
    this.#checkFull();
  }

  /**
   * Queues the messages of one read, in order — the same as a `push()` of each (each charged its bytes plus
   * {@link MESSAGE_OVERHEAD}, waiting readers served first, a waiting `receiveBatch()` given all that fits its
   * bounds) — with one cost sum and one full check for them all, and the array itself handed to a waiting
   * `receiveBatch()` (or kept as the queue) instead of its messages moved one by one. The inbox owns
   * `messages` from now on: the caller must not touch the array again. `bytes`, if given, must be the sum of
   * their lengths (a source that knows it saves the inbox a pass over them). Ignored once finished.
   */
  pushMany(messages: Uint8Array[], bytes?: number): void {
    const count = messages.length;
    if (count === 0 || this.#ended || this.#failed) return;
    let i = 0;
    if (this.#head === this.#queue.length) {
      while (i < count && (this.#open !== undefined || this.#readers.length > 0)) {
        i = this.#open !== undefined ? this.#extendOpen(messages, i) : this.#handOutFrom(this.#readers.shift()!, messages, i, i === 0 ? bytes : undefined);
      }
      if (i === count) return;
    }
    if (this.#readers.length > 0) this.#scheduleServe();
    let cost = 0;
    if (this.#head === this.#queue.length) {
      // The queue is empty: the array becomes the queue (what waiting readers took is cleared from it).
      const costs: number[] = [];
      for (let j = 0; j < i; j++) {
        messages[j] = EMPTY;
        costs.push(0);
      }
      for (let j = i; j < count; j++) {
        const charge = messages[j]!.length + MESSAGE_OVERHEAD;
        costs.push(charge);
        cost += charge;
      }
      this.#queue = messages;
      this.#costs = costs;
      this.#head = i;
    } else {
      const queue = this.#queue;
      const costs = this.#costs;
      for (let j = i; j < count; j++) {
        const message = messages[j]!;
        const charge = message.length + MESSAGE_OVERHEAD;
        queue.push(message);
        costs.push(charge);
        cost += charge;
      }
    }
    this.#bytes += cost;
    this.#checkFull();
  }

  /** Appends `messages` from `from` to the open batch while they fit its bounds; closes it at the first that does not. */
  #extendOpen(messages: Uint8Array[], from: number): number {
    const open = this.#open!;
    const batch = open.batch;
    const onTake = this.#onTakeMany === undefined ? this.#onTake : undefined;
    const start = open.bytes;
    let bytes = start;
    let i = from;
    for (; i < messages.length; i++) {
      const message = messages[i]!;
      const size = bytes + message.length;
      if (batch.length >= open.maxMessages || size > open.maxBytes) break;
      batch.push(message);
      bytes = size;
      onTake?.(message);
    }
    if (i > from) this.#onTakeMany?.(messages, from, i, bytes - start);
    open.bytes = bytes;
    if (i < messages.length) this.#open = undefined;
    return i;
  }

  /**
   * Gives `reader` the message at `from` (a batch reader: the longest run from there within its bounds, the
   * array itself when that is all of it, left open as {@link #handOut} leaves it); returns the index after.
   * `total`: the bytes of all of `messages`, if known.
   */
  #handOutFrom(reader: Reader, messages: Uint8Array[], from: number, total: number | undefined): number {
    const bounds = reader.batch;
    if (bounds === undefined) {
      this.#handOut(reader, messages[from]!);
      return from + 1;
    }
    const count = messages.length;
    let bytes: number;
    let end: number;
    if (total !== undefined && total <= bounds.maxBytes && count <= bounds.maxMessages) {
      bytes = total;
      end = count;
    } else {
      const limit = Math.min(count, from + bounds.maxMessages);
      bytes = messages[from]!.length;
      end = from + 1;
      for (; end < limit; end++) {
        const size = bytes + messages[end]!.length;
        if (size > bounds.maxBytes) break;
        bytes = size;
      }
    }
    const batch = from === 0 && end === count ? messages : messages.slice(from, end);
    this.#tookBatch(batch, bytes);
    this.#open = { batch, bytes, maxMessages: bounds.maxMessages, maxBytes: bounds.maxBytes };
    queueMicrotask(this.#closeOpen);
    reader.resolve(batch as never);
    return end;
  }

  #checkFull(): void {
    if (!this.#full && this.#bytes >= this.#highWaterMark) {
      this.#full = true;
      publishBackpressure(this, true, this.#bytes, this.#highWaterMark);
      this.#onFull?.();
    }
  }

  /**
   * Charges `bytes` more to the last queued message (memory it pins that became known after it was
   * queued, such as the rest of its read chunk). Ignored when nothing is queued: the reader holds it then.
   */
  charge(bytes: number): void {
    const last = this.#costs.length - 1;
    if (last < this.#head || this.#ended || this.#failed) return;
    this.#costs[last]! += bytes;
    this.#bytes += bytes;
    this.#checkFull();
  }

  /** Marks a clean end: readers get `undefined` once the queue is empty. */
  end(): void {
    if (this.#ended || this.#failed) return;
    this.#ended = true;
    if (this.length === 0) this.#settleReaders();
  }

  /** Marks a failure: readers get `error` once the queued messages are received. */
  fail(error: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = error;
    if (this.length === 0) this.#settleReaders();
  }

  /** Drops the queued messages and fails every reader with `error` at once. */
  destroy(error: unknown): void {
    this.#open = undefined;
    this.#queue = [];
    this.#costs = [];
    this.#head = 0;
    this.#bytes = 0;
    if (!this.#failed) {
      this.#failed = true;
      this.#ended = false;
      this.#error = error;
    }
    this.#settleReaders();
  }

  /** The next message; `undefined` after a clean end; rejects with the failure. */
  receive(options?: ReceiveOptions): Promise<Uint8Array | undefined> {
    if (this.#head < this.#queue.length) {
      // Behind readers that wait for a scheduled hand-out, this one waits its turn too.
      if (this.#readers.length === 0) return Promise.resolve(this.#take());
    } else if (this.#failed) return Promise.reject(this.#error);
    else if (this.#ended) return Promise.resolve(undefined);
    if (options?.signal === undefined && options?.timeout === undefined) {
      return new Promise((resolve, reject) => this.#readers.push({ resolve, reject, iterating: false }));
    }
    return wait<Uint8Array | undefined>("receive", options, (resolve, reject) => {
      const reader: Reader = { resolve, reject, iterating: false };
      this.#readers.push(reader);
      return () => {
        const i = this.#readers.indexOf(reader);
        if (i >= 0) this.#readers.splice(i, 1);
      };
    });
  }

  /**
   * Waits for a message, then takes every queued message within `options`' bounds (see
   * {@link batchBounds}; `maxBytes` defaults to `batchBytes`, the high-water mark unless given). `undefined` after a clean end; rejects
   * with the failure once the queue is empty, or with `InvalidArgumentError` for bad bounds.
   */
  receiveBatch(options?: ReceiveBatchOptions): Promise<Uint8Array[] | undefined> {
    let bounds: BatchBounds;
    try {
      bounds = batchBounds(options, this.#batchBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#head < this.#queue.length) {
      if (this.#readers.length === 0) return Promise.resolve(this.#takeBatch(bounds));
    } else if (this.#failed) return Promise.reject(this.#error);
    else if (this.#ended) return Promise.resolve(undefined);
    // Without a deadline, a plain promise as receive() makes: wait()'s closures cost a waiting read ~50 ns
    // (285 → 230 ns a push and read in one process; docs/benchmarks.md, "Issue 17 — layers").
    if (options?.signal === undefined && options?.timeout === undefined) {
      return new Promise((resolve, reject) => this.#readers.push({ resolve, reject, iterating: false, batch: bounds }));
    }
    return wait<Uint8Array[] | undefined>("receive", options, (resolve, reject) => {
      const reader: Reader = { resolve, reject, iterating: false, batch: bounds };
      this.#readers.push(reader);
      return () => {
        const i = this.#readers.indexOf(reader);
        if (i >= 0) this.#readers.splice(i, 1);
      };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array, undefined> {
    return {
      next: (): Promise<IteratorResult<Uint8Array, undefined>> => {
        if (this.#head < this.#queue.length) {
          if (this.#readers.length === 0) return Promise.resolve({ done: false, value: this.#take() });
        } else if (this.#failed) return Promise.reject(this.#error);
        else if (this.#ended) return Promise.resolve(DONE);
        return new Promise((resolve, reject) => this.#readers.push({ resolve, reject, iterating: true }));
      },
      // Leaving a loop early leaves the connection open: iterate again to go on.
      return: (): Promise<IteratorResult<Uint8Array, undefined>> => Promise.resolve(DONE),
    };
  }

  #take(): Uint8Array {
    const message = this.#queue[this.#head]!;
    const cost = this.#costs[this.#head]!;
    this.#queue[this.#head] = EMPTY;
    this.#head++;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#costs.length = 0;
      this.#head = 0;
    } else this.#compact();
    this.#uncharge(cost);
    this.#onTake?.(message);
    return message;
  }

  /**
   * Takes the longest run of queued messages within `bounds` (at least one) in one step: one cost sum, one
   * drain check, and — when the run is the whole queue, the usual case — the queue array itself handed out.
   */
  #takeBatch(bounds: BatchBounds): Uint8Array[] {
    const queue = this.#queue;
    const costs = this.#costs;
    const head = this.#head;
    const limit = Math.min(queue.length, head + bounds.maxMessages);
    let bytes = queue[head]!.length;
    let cost = costs[head]!;
    let end = head + 1;
    for (; end < limit; end++) {
      const size = queue[end]!.length;
      if (bytes + size > bounds.maxBytes) break;
      bytes += size;
      cost += costs[end]!;
    }
    let batch: Uint8Array[];
    if (end === queue.length) {
      batch = head === 0 ? queue : queue.slice(head);
      this.#queue = [];
      this.#costs = [];
      this.#head = 0;
    } else {
      batch = queue.slice(head, end);
      for (let i = head; i < end; i++) queue[i] = EMPTY;
      this.#head = end;
      this.#compact();
    }
    this.#uncharge(cost);
    this.#tookBatch(batch, bytes);
    return batch;
  }

  /** The take hooks for `batch` (whose lengths sum to `bytes`): one call of `onTakeMany`, or `onTake` for each. */
  #tookBatch(batch: Uint8Array[], bytes: number): void {
    const onTakeMany = this.#onTakeMany;
    if (onTakeMany !== undefined) onTakeMany(batch, 0, batch.length, bytes);
    else {
      const onTake = this.#onTake;
      if (onTake !== undefined) for (const message of batch) onTake(message);
    }
  }

  /** Drops the taken slots at the front once they are at least half the queue (and 1024 or more). */
  #compact(): void {
    if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#costs = this.#costs.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Releases `cost` of the queued bytes: at half the high-water mark after `onFull`, the source may read again. */
  #uncharge(cost: number): void {
    this.#bytes -= cost;
    if (this.#full && this.#bytes <= this.#lowWaterMark) {
      this.#full = false;
      publishBackpressure(this, false, this.#bytes, this.#highWaterMark);
      this.#onDrain?.();
    }
  }

  /** The batch last handed to a waiting `receiveBatch()` while its reader cannot have seen it yet. */
  #open: { readonly batch: Uint8Array[]; bytes: number; readonly maxMessages: number; readonly maxBytes: number } | undefined;
  readonly #closeOpen = (): void => {
    this.#open = undefined;
  };

  /**
   * Gives `message` to a waiting reader at once. A batch reader's array stays open to the messages pushed in
   * the rest of this turn: it is closed by a microtask queued before the reader is resolved, so it runs
   * before the reader's continuation can look at the array.
   */
  #handOut(reader: Reader, message: Uint8Array): void {
    this.#onTake?.(message);
    const bounds = reader.batch;
    if (bounds === undefined) {
      reader.resolve((reader.iterating ? { done: false, value: message } : message) as never);
      return;
    }
    const batch = [message];
    this.#open = { batch, bytes: message.length, maxMessages: bounds.maxMessages, maxBytes: bounds.maxBytes };
    queueMicrotask(this.#closeOpen);
    reader.resolve(batch as never);
  }

  #serveScheduled = false;
  readonly #serveTask = (): void => this.#serve();

  #scheduleServe(): void {
    if (this.#serveScheduled) return;
    this.#serveScheduled = true;
    queueMicrotask(this.#serveTask);
  }

  /** Hands queued messages to waiting readers, in order (a batch reader takes a batch). */
  #serve(): void {
    this.#serveScheduled = false;
    while (this.#readers.length > 0 && this.#head < this.#queue.length) {
      const reader = this.#readers.shift()!;
      if (reader.batch !== undefined) reader.resolve(this.#takeBatch(reader.batch) as never);
      else {
        const message = this.#take();
        reader.resolve((reader.iterating ? { done: false, value: message } : message) as never);
      }
    }
    if (this.#head === this.#queue.length && (this.#ended || this.#failed)) this.#settleReaders();
  }

  #settleReaders(): void {
    const readers = this.#readers;
    if (readers.length === 0) return;
    this.#readers = [];
    for (const reader of readers) {
      if (this.#failed) reader.reject(this.#error);
      else reader.resolve((reader.iterating ? DONE : undefined) as never);
    }
  }
}

const EMPTY = new Uint8Array(0);
