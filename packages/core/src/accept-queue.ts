/**
 * The queue between a listener's source of connections and `accept()` / `for await`. Bounded by the
 * listener's `backlog`: transports that can make a client wait do so while it is full (see
 * {@link AcceptQueue.waitForRoom}); the others refuse the client.
 */
import { ClosedError } from "./errors.js";
import { wait } from "./deadline.js";
import { removeItem } from "./send-queue.js";
import type { Connection, WaitOptions } from "./types.js";

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Accepted connections waiting to be handed out by a listener. */
export class AcceptQueue implements AsyncIterable<Connection> {
  readonly #backlog: number;
  #queue: Connection[] = [];
  #acceptors: Waiter<Connection | undefined>[] = [];
  #roomWaiters: Waiter<void>[] = [];
  #closed = false;

  constructor(backlog: number) {
    this.#backlog = backlog;
  }

  /** True while fewer than `backlog` connections wait to be accepted. */
  get hasRoom(): boolean {
    return this.#queue.length < this.#backlog;
  }

  /** True once {@link AcceptQueue.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Hands `connection` to a waiting `accept()`, or queues it. A closed queue aborts it instead. */
  push(connection: Connection): void {
    if (this.#closed) {
      connection.abort(new ClosedError("the listener closed before accepting this connection"));
      return;
    }
    const acceptor = this.#acceptors.shift();
    if (acceptor !== undefined) acceptor.resolve(connection);
    else this.#queue.push(connection);
  }

  /** Resolves when there is room for one more connection; rejects with `ClosedError` once closed. */
  waitForRoom(options?: WaitOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError("the listener is closed"));
    if (this.hasRoom) return Promise.resolve();
    return wait<void>("connect", options, (resolve, reject) => {
      const waiter = { resolve, reject };
      this.#roomWaiters.push(waiter);
      return () => removeItem(this.#roomWaiters, waiter);
    });
  }

  /** The next connection, or `undefined` once the queue is closed. */
  accept(options?: WaitOptions): Promise<Connection | undefined> {
    const connection = this.#queue.shift();
    if (connection !== undefined) {
      this.#roomWaiters.shift()?.resolve();
      return Promise.resolve(connection);
    }
    if (this.#closed) return Promise.resolve(undefined);
    return wait<Connection | undefined>("accept", options, (resolve, reject) => {
      const waiter = { resolve, reject };
      this.#acceptors.push(waiter);
      return () => removeItem(this.#acceptors, waiter);
    });
  }

  /**
   * Closes the queue: `accept()` resolves `undefined`, clients waiting for room are refused, and the
   * connections not handed out yet are aborted (nobody would ever read them; their clients see the
   * connection reset).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const acceptor of this.#acceptors.splice(0)) acceptor.resolve(undefined);
    for (const waiter of this.#roomWaiters.splice(0)) waiter.reject(new ClosedError("the listener closed"));
    for (const connection of this.#queue.splice(0)) {
      connection.abort(new ClosedError("the listener closed before accepting this connection"));
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection, undefined> {
    return {
      next: () => this.accept().then((c) => (c === undefined ? DONE : { done: false, value: c })),
      return: () => Promise.resolve(DONE),
    };
  }
}
