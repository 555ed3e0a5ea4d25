/**
 * A pool of connections to one server (docs/guide.md#reconnecting-and-pools,
 * docs/guide.md#reusing-connections): a connection whose peer died is noticed (its `closed` settles when the
 * socket ends) and dropped, never lent out; borrowers queue in order; `acquire()` is bounded; idle connections
 * above `min` are closed after `idleTimeout`.
 */
import {
  ClosedError,
  InvalidArgumentError,
  wait,
  type CloseOptions,
  type Connection,
  type ReceiveBatchOptions,
  type ReceiveOptions,
  type SendOptions,
  type WaitOptions,
} from "@ipc/core";
import type { TcpConnectOptions } from "./options.js";
import type { TcpConnection } from "./socket.js";

/** Options of {@link pool}: the connect options of every connection, plus these. */
export interface PoolOptions extends TcpConnectOptions {
  /** Connections kept open even when idle (opened at start, reopened when lost). Default: 0. */
  readonly min?: number | undefined;
  /** Connections open at most (lent out or idle). Default: 10. */
  readonly max?: number | undefined;
  /** Milliseconds `acquire()` waits for a connection before `TimeoutError`. Default: no limit. */
  readonly acquireTimeout?: number | undefined;
  /** Milliseconds an idle connection above `min` stays open. Default: 30 000. */
  readonly idleTimeout?: number | undefined;
  /**
   * Checks a connection that sat idle before lending it again (a ping, say); one failing it is closed and
   * another one tried. New connections and ones handed straight from a borrower to a waiter are not
   * checked; connections whose peer closed or died are dropped without it. Default: none.
   */
  readonly validate?: ((connection: Connection) => boolean | Promise<boolean>) | undefined;
}

/** A borrowed connection: `release()` (or `await using`) gives it back; after that it is unusable. */
export interface PooledConnection extends Connection {
  /** Returns the connection to the pool (or drops it, if it broke). Safe to call more than once. */
  release(): void;
}

/** A connection pool. */
export interface Pool extends AsyncDisposable {
  /** Lends a connection: an idle one, a new one while under `max`, or the next released one (in order). */
  acquire(options?: WaitOptions): Promise<PooledConnection>;
  /** Connections open (lent out and idle). */
  readonly size: number;
  /** Idle connections. */
  readonly idle: number;
  /** Callers waiting in `acquire()`. */
  readonly pending: number;
  /** Stops lending, waits for every borrowed connection to come back, and closes them all. */
  drain(options?: WaitOptions): Promise<void>;
  /** Closes everything now: idle connections, borrowed ones (aborted), and waiting `acquire()`s fail. */
  close(): Promise<void>;
}

interface Idle {
  readonly connection: TcpConnection;
  timer: NodeJS.Timeout | undefined;
}

interface Waiter {
  resolve(connection: TcpConnection): void;
  reject(error: unknown): void;
}

class ConnectionPool implements Pool {
  readonly #dial: () => Promise<TcpConnection>;
  readonly #options: PoolOptions;
  readonly #min: number;
  readonly #max: number;
  readonly #idle: Idle[] = [];
  readonly #lent = new Set<TcpConnection>();
  readonly #waiters: Waiter[] = [];
  #opening = 0;
  #closed = false;
  #drained: (() => void) | undefined;

  constructor(dial: () => Promise<TcpConnection>, options: PoolOptions) {
    this.#dial = dial;
    this.#options = options;
    this.#min = options.min ?? 0;
    this.#max = options.max ?? 10;
    if (!Number.isInteger(this.#max) || this.#max < 1) throw new InvalidArgumentError(`max must be an integer ≥ 1, got ${this.#max}`);
    if (!Number.isInteger(this.#min) || this.#min < 0 || this.#min > this.#max) {
      throw new InvalidArgumentError(`min must be an integer from 0 to max (${this.#max}), got ${this.#min}`);
    }
    this.#fill();
  }

  get size(): number {
    return this.#idle.length + this.#lent.size + this.#opening;
  }

  get idle(): number {
    return this.#idle.length;
  }

  get pending(): number {
    return this.#waiters.length;
  }

  async acquire(options?: WaitOptions): Promise<PooledConnection> {
    const deadline = options ?? { timeout: this.#options.acquireTimeout };
    for (;;) {
      if (this.#closed) throw new ClosedError("the pool is closed");
      const { connection, wasIdle } = await this.#take(deadline);
      if (wasIdle ? await this.#usable(connection) : !isGone(connection)) return this.#lend(connection);
      connection.abort();
    }
  }

  async drain(options?: WaitOptions): Promise<void> {
    this.#closed = true;
    this.#failWaiters(new ClosedError("the pool is draining"));
    if (this.#lent.size > 0) {
      await wait<void>("drain", options, (resolve) => {
        this.#drained = resolve;
        return () => (this.#drained = undefined);
      });
    }
    await this.close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failWaiters(new ClosedError("the pool is closed"));
    for (const connection of this.#lent) connection.abort(new ClosedError("the pool was closed"));
    this.#lent.clear();
    await Promise.all(this.#idle.splice(0).map((entry) => (clearTimeout(entry.timer), entry.connection.close())));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** An idle connection (to be validated), or a new one or the next one released (in use just now). */
  async #take(options: WaitOptions): Promise<{ connection: TcpConnection; wasIdle: boolean }> {
    const entry = this.#idle.pop();
    if (entry !== undefined) {
      clearTimeout(entry.timer);
      return { connection: entry.connection, wasIdle: true };
    }
    const waiting = wait<TcpConnection>("acquire a pooled connection", options, (resolve, reject) => {
      const waiter = { resolve, reject };
      this.#waiters.push(waiter);
      return () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
      };
    });
    if (this.size < this.#max) this.#open();
    return { connection: await waiting, wasIdle: false };
  }

  async #usable(connection: TcpConnection): Promise<boolean> {
    if (isGone(connection)) return false;
    if (this.#options.validate === undefined) return true;
    try {
      return (await this.#options.validate(connection)) === true && !isGone(connection);
    } catch {
      return false;
    }
  }

  #open(): void {
    this.#opening++;
    this.#dial().then(
      (connection) => {
        this.#opening--;
        // A peer that closes or dies, lent out or idle: the connection is marked, and dropped if idle.
        void connection.closed
          .catch(() => undefined)
          .finally(() => {
            gone.add(connection);
            const entry = this.#idle.find((e) => e.connection === connection);
            if (entry !== undefined) this.#retire(entry);
          });
        this.#giveBack(connection);
      },
      (error: unknown) => {
        this.#opening--;
        // Only one waiter learns of this failure; the others keep waiting for a connection.
        this.#waiters.shift()?.reject(error);
      },
    );
  }

  /** Hands a connection to the first waiter, or keeps it idle. */
  #giveBack(connection: TcpConnection): void {
    if (this.#closed) return void connection.close();
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) return waiter.resolve(connection);
    const entry: Idle = { connection, timer: undefined };
    if (this.#idle.length + this.#lent.size >= this.#min) {
      entry.timer = setTimeout(() => this.#retire(entry), this.#options.idleTimeout ?? 30_000);
      entry.timer.unref();
    }
    this.#idle.push(entry);
  }

  #retire(entry: Idle): void {
    const i = this.#idle.indexOf(entry);
    if (i < 0) return;
    this.#idle.splice(i, 1);
    clearTimeout(entry.timer);
    void entry.connection.close();
    this.#fill();
  }

  /** Opens connections up to `min`. */
  #fill(): void {
    while (!this.#closed && this.size < this.#min) this.#open();
  }

  #lend(connection: TcpConnection): PooledConnection {
    this.#lent.add(connection);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#lent.delete(connection);
      if (isGone(connection)) {
        connection.abort();
        this.#fill();
        if (this.#waiters.length > 0 && this.size < this.#max) this.#open();
      } else {
        this.#giveBack(connection);
      }
      if (this.#lent.size === 0) this.#drained?.();
    };
    return new Lease(connection, release, () => released);
  }

  #failWaiters(error: Error): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }
}

/** Connections whose `closed` settled: their peer closed or died, or they failed. */
const gone = new WeakSet<Connection>();

function isGone(connection: Connection): boolean {
  return gone.has(connection);
}

/** One borrowing of a connection: delegates until released, then refuses. */
class Lease implements PooledConnection {
  readonly #connection: TcpConnection;
  readonly #release: () => void;
  readonly #released: () => boolean;

  constructor(connection: TcpConnection, release: () => void, released: () => boolean) {
    this.#connection = connection;
    this.#release = release;
    this.#released = released;
  }

  get localAddress(): string {
    return this.#connection.localAddress;
  }
  get remoteAddress(): string {
    return this.#connection.remoteAddress;
  }
  get peer(): TcpConnection["peer"] {
    return this.#connection.peer;
  }
  get maxMessageSize(): number {
    return this.#connection.maxMessageSize;
  }
  get closed(): Promise<void> {
    return this.#connection.closed;
  }

  #live(): TcpConnection {
    if (this.#released()) throw new ClosedError("this pooled connection was released");
    return this.#connection;
  }

  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    try {
      return this.#live().send(message, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  sendBatch(messages: readonly Uint8Array[], options?: SendOptions): Promise<void> {
    try {
      return this.#live().sendBatch(messages, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  receive(options?: ReceiveOptions): Promise<Uint8Array | undefined> {
    try {
      return this.#live().receive(options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  receiveBatch(options?: ReceiveBatchOptions): Promise<Uint8Array[] | undefined> {
    try {
      return this.#live().receiveBatch(options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#live()[Symbol.asyncIterator]();
  }

  /** Closes the connection itself (it is then dropped from the pool). */
  async close(options?: CloseOptions): Promise<void> {
    await this.#live().close(options);
    this.release();
  }

  abort(reason?: Error): void {
    if (!this.#released()) this.#connection.abort(reason);
    this.release();
  }

  release(): void {
    this.#release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }
}

/** Makes a pool whose connections come from `dial`. */
export function createPool(dial: () => Promise<TcpConnection>, options: PoolOptions): Pool {
  return new ConnectionPool(dial, options);
}
