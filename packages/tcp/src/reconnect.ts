/**
 * `connect(url, { reconnect })`: one connection object over a succession of TCP connections, so that a
 * client survives the server restarting.
 *
 * What is guaranteed: while reconnecting, `send()` waits (bounded by its `timeout`/`signal`) and then
 * goes out on the new connection; messages are sent in the order of the `send()` calls; a `send()` that
 * rejects was not sent; messages are never duplicated. What is not: a message whose `send()` resolved
 * was accepted by the connection of that moment — if that connection breaks before the peer read it, it
 * is lost (TCP cannot tell which bytes the peer's application got). The reliable channel closes that gap.
 */
import {
  ClosedError,
  InvalidArgumentError,
  isIpcError,
  race,
  type CloseOptions,
  type Connection,
  type ReceiveBatchOptions,
  type ReceiveOptions,
  type SendOptions,
} from "@ipc/core";
import { Deferred, Inbox, resolveConnectionOptions, settledOf } from "@ipc/core/transport";
import type { TcpConnectOptions } from "./options.js";
import type { TcpConnection } from "./socket.js";

/** Where a reconnecting connection stands. */
export type ConnectionState = "connected" | "reconnecting" | "closed";

/** The `reconnect` option of `connect()`. */
export interface ReconnectOptions {
  /** Failed attempts in a row before giving up (the connection then fails with the last error). Default: Infinity. */
  readonly retries?: number | undefined;
  /** Milliseconds before the first retry; each retry doubles it. Default: 100. */
  readonly minDelay?: number | undefined;
  /** The longest wait between retries, in ms. Default: 5 000. */
  readonly maxDelay?: number | undefined;
  /** Each wait varies by up to ± this fraction (0–1), so clients do not return in lockstep. Default: 0.2. */
  readonly jitter?: number | undefined;
  /** Called on every change of state, with the error that caused a loss. Default: none. */
  readonly onStateChange?: ((state: ConnectionState, error?: Error) => void) | undefined;
}

/** A connection that reconnects: the core `Connection`, plus its state. */
export interface ReconnectingConnection extends Connection {
  /** `connected`, `reconnecting` (sends and receives wait), or `closed`. */
  readonly state: ConnectionState;
}

type Dial = (options: TcpConnectOptions) => Promise<TcpConnection>;

function checked(options: ReconnectOptions): Required<Omit<ReconnectOptions, "onStateChange">> {
  const retries = options.retries ?? Infinity;
  const minDelay = options.minDelay ?? 100;
  const maxDelay = options.maxDelay ?? 5000;
  const jitter = options.jitter ?? 0.2;
  if (!(retries >= 0)) throw new InvalidArgumentError(`reconnect.retries must be ≥ 0, got ${retries}`);
  if (!(minDelay >= 0) || !(maxDelay >= minDelay)) {
    throw new InvalidArgumentError(`reconnect delays must satisfy 0 ≤ minDelay ≤ maxDelay, got ${minDelay} and ${maxDelay}`);
  }
  if (!(jitter >= 0 && jitter <= 1)) throw new InvalidArgumentError(`reconnect.jitter must be from 0 to 1, got ${jitter}`);
  return { retries, minDelay, maxDelay, jitter };
}

class Reconnecting implements ReconnectingConnection {
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly maxMessageSize: number;
  readonly #dial: Dial;
  readonly #options: TcpConnectOptions;
  readonly #policy: Required<Omit<ReconnectOptions, "onStateChange">>;
  readonly #onStateChange: ReconnectOptions["onStateChange"];
  readonly #inbox: Inbox;
  readonly #closed = new Deferred();
  #current: TcpConnection | undefined;
  #state: ConnectionState = "reconnecting";
  /** Settles when connected again (or rejects when giving up); replaced at each loss. */
  #ready = new Deferred<TcpConnection>();
  #drained: Deferred | undefined;
  #closing = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(dial: Dial, remoteAddress: string, options: TcpConnectOptions, reconnect: ReconnectOptions) {
    this.#dial = dial;
    this.#options = options;
    this.#policy = checked(reconnect);
    this.#onStateChange = reconnect.onStateChange;
    this.remoteAddress = remoteAddress;
    this.localAddress = "";
    this.maxMessageSize = resolveConnectionOptions(options).maxMessageSize;
    this.#inbox = new Inbox({
      highWaterMark: resolveConnectionOptions(options).highWaterMark,
      onDrain: () => this.#drained?.resolve(),
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get peer(): undefined {
    return undefined;
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Connects for the first time, under the connect options' deadline; retries like a reconnect. */
  async start(): Promise<void> {
    this.#attempt(0);
    try {
      await race(`connect to ${this.remoteAddress}`, this.#ready.promise, { signal: this.#options.signal, timeout: this.#options.timeout });
    } catch (error) {
      this.abort(error as Error);
      throw error;
    }
  }

  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    return this.#onLive(options, (connection) => connection.send(message, options));
  }

  /** Like `send()`: a batch not accepted because its connection broke is sent whole on the next one. */
  sendBatch(messages: readonly Uint8Array[], options?: SendOptions): Promise<void> {
    return this.#onLive(options, (connection) => connection.sendBatch(messages, options));
  }

  /** Runs `write` on the live connection (waiting for one under `options`); again on the next one if it was lost. */
  async #onLive(options: SendOptions | undefined, write: (connection: TcpConnection) => Promise<void>): Promise<void> {
    for (;;) {
      if (this.#closing) throw new ClosedError(`connection to ${this.remoteAddress} is closed`);
      const connection = this.#state === "connected" && this.#current !== undefined ? this.#current : await race("send", this.#ready.promise, options);
      try {
        return await write(connection);
      } catch (error) {
        if (!isLoss(error) || this.#closing) throw error;
        // Not accepted because that connection broke: it was not sent. Let the loss be noticed (the
        // next connection is then awaited), and try again.
        await settledOf(connection.closed);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  receive(options?: ReceiveOptions): Promise<Uint8Array | undefined> {
    return this.#inbox.receive(options);
  }

  receiveBatch(options?: ReceiveBatchOptions): Promise<Uint8Array[] | undefined> {
    return this.#inbox.receiveBatch(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  async close(options?: CloseOptions): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      clearTimeout(this.#timer);
      const current = this.#current;
      if (current === undefined) this.#finish(undefined);
      else void current.close(options).then(() => this.#finish(undefined));
    }
    await settledOf(this.#closed.promise);
  }

  abort(reason?: Error): void {
    if (this.#state === "closed") return;
    this.#closing = true;
    clearTimeout(this.#timer);
    this.#current?.abort(reason);
    this.#finish(reason ?? new ClosedError(`connection to ${this.remoteAddress} was aborted`), true);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Dials; on success starts forwarding, on failure waits and retries (or gives up). */
  #attempt(failures: number): void {
    void this.#dial(this.#options).then(
      (connection) => {
        if (this.#closing) return void connection.close();
        this.#current = connection;
        this.#setState("connected");
        this.#ready.resolve(connection);
        void this.#forward(connection);
      },
      (error: Error) => {
        if (this.#closing) return;
        if (failures + 1 > this.#policy.retries) return this.#finish(error, true);
        this.#timer = setTimeout(() => this.#attempt(failures + 1), this.#delay(failures));
      },
    );
  }

  #delay(failures: number): number {
    const { minDelay, maxDelay, jitter } = this.#policy;
    const base = Math.min(maxDelay, minDelay * 2 ** Math.min(failures, 30));
    return Math.max(0, base * (1 + jitter * (2 * Math.random() - 1)));
  }

  /** Moves the messages of one connection into the inbox (with backpressure); reconnects when it ends. */
  async #forward(connection: TcpConnection): Promise<void> {
    let lost: Error | undefined;
    try {
      for await (const message of connection) {
        this.#inbox.push(message);
        if (!this.#inbox.hasRoom) {
          this.#drained = new Deferred();
          await this.#drained.promise;
        }
      }
    } catch (error) {
      lost = error as Error;
    }
    if (this.#closing) return;
    this.#current = undefined;
    this.#ready = new Deferred();
    this.#ready.promise.catch(() => undefined);
    this.#setState("reconnecting", lost);
    connection.abort();
    this.#attempt(0);
  }

  #setState(state: ConnectionState, error?: Error): void {
    this.#state = state;
    try {
      this.#onStateChange?.(state, error);
    } catch {
      // A throwing callback must not break the connection.
    }
  }

  #finish(error: Error | undefined, discard = false): void {
    if (this.#state === "closed" && this.#closed.settled) return;
    this.#closing = true;
    this.#setState("closed", error);
    if (error === undefined) {
      this.#inbox.end();
      this.#closed.resolve();
    } else {
      if (discard) this.#inbox.destroy(error);
      else this.#inbox.fail(error);
      this.#ready.reject(error);
      this.#closed.reject(error);
    }
    this.#drained?.resolve();
  }
}

/** Errors that mean the connection of the moment is gone (as opposed to a bad message or a deadline). */
function isLoss(error: unknown): boolean {
  return isIpcError(error, "IPC_ERR_CONNECTION_RESET") || isIpcError(error, "IPC_ERR_CLOSED");
}

/** Opens a reconnecting connection: resolves once the first connection is up. */
export async function connectReconnecting(
  dial: Dial,
  remoteAddress: string,
  options: TcpConnectOptions,
  reconnect: ReconnectOptions,
): Promise<ReconnectingConnection> {
  const connection = new Reconnecting(dial, remoteAddress, options, reconnect);
  await connection.start();
  return connection;
}
