/**
 * Per-call flow control, in bytes (docs/wire.md §7.5): the receiver of a call's stream grants its sender credit;
 * the sender sends while its credit is above zero, and each message costs its payload's length (at least
 * 1). So a slow reader holds at most its window plus one message per call, and one call's stream never
 * holds up another call on the same connection.
 */

/** Stream messages sent between two turns of the event loop. */
export const STREAM_TURN = 256;
/** Received messages handled between two turns of the event loop. */
export const READ_TURN = 64;

/**
 * Lets the event loop turn every `every` messages. Over a transport that answers within the same turn
 * (the memory transport), a stream whose reader keeps up would otherwise run on promise callbacks alone
 * and starve timers (deadlines included) and I/O until it ends. And a side that works through a burst of
 * messages gets what it has answered so far written out while it goes on, instead of at the end of the
 * burst, so the other process works meanwhile instead of waiting for the whole burst.
 */
export class EventLoopTurns {
  readonly #every: number;
  #count = 0;

  constructor(every: number) {
    this.#every = every;
  }

  /** Undefined most of the time; every `every` messages, a promise of the next turn. */
  next(): Promise<void> | undefined {
    if (++this.#count < this.#every) return undefined;
    this.#count = 0;
    return new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * What a stream message costs in credit: its payload's length plus a fixed 64 bytes (docs/wire.md §7.5),
 * so a window bounds the count of queued messages too, empty ones included.
 */
export function costOf(payloadSize: number): number {
  return payloadSize + MESSAGE_COST;
}

/** The fixed part of a message's cost (the same as reliable sessions' and mux streams', docs/wire.md §8). */
const MESSAGE_COST = 64;

/** The sending side: the credit the peer granted. */
export class SendCredit {
  #credit: number;
  #waiter: { resolve(): void; reject(error: unknown): void } | undefined;
  #error: unknown = undefined;

  constructor(initial: number) {
    this.#credit = initial;
  }

  /** Adds credit the peer granted (an RpcWindow). */
  add(credit: number): void {
    this.#credit += credit;
    if (this.#credit > 0 && this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve();
    }
  }

  /** Undefined when a message may be sent now; otherwise a promise that resolves when one may. */
  ready(): Promise<void> | undefined {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#credit > 0) return undefined;
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Takes the cost of a message being sent (the credit may go below zero). */
  spend(payloadSize: number): void {
    this.#credit -= costOf(payloadSize);
  }

  /** Ends the stream: a waiting or later `ready()` rejects with `error`. */
  fail(error: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }
}

interface Entry<T> {
  readonly value: T;
  readonly cost: number;
}

interface Reader<T> {
  resolve(result: IteratorResult<T, undefined>): void;
  reject(error: unknown): void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The receiving side: the messages that arrived and were not read yet, as an async iterable (one
 * iteration; a second loop goes on where the first stopped). Reading grants the sender more credit.
 */
export class InboundStream<T> implements AsyncIterable<T> {
  readonly #window: number;
  readonly #grant: (credit: number) => void;
  readonly #onReturn: () => void;
  #queue: Entry<T>[] = [];
  #head = 0;
  /** Total credit granted, bytes received and bytes read, since the call began. */
  #granted: number;
  #received = 0;
  #consumed = 0;
  #ended = false;
  #failed = false;
  #error: unknown = undefined;
  #readers: Reader<T>[] = [];

  /**
   * @param window the credit granted up front (and kept available as the reader goes on)
   * @param grant sends the sender more credit
   * @param onReturn called when the reader stops early (breaks out of its loop)
   */
  constructor(window: number, grant: (credit: number) => void, onReturn: () => void) {
    this.#window = window;
    this.#granted = window;
    this.#grant = grant;
    this.#onReturn = onReturn;
  }

  /** Bytes received and not read yet. */
  get bufferedBytes(): number {
    return this.#received - this.#consumed;
  }

  /** True once the stream ended, cleanly or not. */
  get finished(): boolean {
    return this.#ended || this.#failed;
  }

  /**
   * Queues a message that cost `cost`. Returns false, queueing nothing, when the sender had no credit
   * left for it (it broke the protocol).
   */
  push(value: T, cost: number): boolean {
    if (this.#ended || this.#failed) return true;
    if (this.#granted - this.#received <= 0) return false;
    this.#received += cost;
    const reader = this.#readers.shift();
    if (reader !== undefined) {
      this.#consume(cost);
      reader.resolve({ done: false, value });
    } else {
      this.#queue.push({ value, cost });
    }
    return true;
  }

  /** The sender finished: the reader gets what is queued, then the end. */
  end(): void {
    if (this.#ended || this.#failed) return;
    this.#ended = true;
    this.#settleReader();
  }

  /** The stream failed: the reader gets what is queued, then `error`. */
  fail(error: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#settleReader();
  }

  /** Fails the stream at once, dropping what is queued. */
  destroy(error: unknown): void {
    this.#queue = [];
    this.#head = 0;
    if (!this.#ended && !this.#failed) {
      this.#failed = true;
      this.#error = error;
    }
    this.#settleReader();
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return {
      next: () => this.#next(),
      return: () => {
        if (!this.#ended && !this.#failed) {
          this.destroy(undefined);
          this.#onReturn();
        }
        return Promise.resolve(DONE);
      },
    };
  }

  #next(): Promise<IteratorResult<T, undefined>> {
    if (this.#head < this.#queue.length) {
      const entry = this.#queue[this.#head]!;
      this.#queue[this.#head] = undefined as never;
      if (++this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      this.#consume(entry.cost);
      return Promise.resolve({ done: false, value: entry.value });
    }
    if (this.#failed) return this.#error === undefined ? Promise.resolve(DONE) : Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }));
  }

  /** Counts `cost` as read and tops the sender's credit up once half the window is used. */
  #consume(cost: number): void {
    this.#consumed += cost;
    if (this.#ended || this.#failed) return;
    const available = this.#granted - this.#consumed;
    if (available <= this.#window / 2) {
      const credit = this.#consumed + this.#window - this.#granted;
      this.#granted += credit;
      this.#grant(credit);
    }
  }

  #settleReader(): void {
    if (this.#head < this.#queue.length) return;
    for (const reader of this.#readers.splice(0)) {
      if (this.#failed && this.#error !== undefined) reader.reject(this.#error);
      else reader.resolve(DONE);
    }
  }
}
