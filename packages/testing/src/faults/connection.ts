/**
 * Message-level faults: a {@link Connection} (or every connection of a listener, or of a connect
 * function) that drops itself after N messages or at random, corrupts messages, and delays or stalls
 * what it receives. The underlying connection really breaks: the peer sees a reset, and what was in
 * flight is lost, as when a cable is pulled.
 */
import {
  abortError,
  ConnectionResetError,
  type CloseOptions,
  type Connection,
  type Listener,
  type Peer,
  type ReceiveBatchOptions,
  type ReceiveOptions,
  type SendOptions,
  type WaitOptions,
} from "@ipc/core";
import { Deferred, Inbox } from "@ipc/core/transport";
import { draw, flipByte, randomSource, sleep, type Amount } from "./random.js";

/** What to inject into messages. Every fault is off by default. */
export interface MessageFaults {
  /** Seed of the random choices (which message, which byte). Default: 1. */
  readonly seed?: number | undefined;
  /** Break the connection once this many messages (both directions together) went through. Default: never. */
  readonly dropAfterMessages?: Amount | undefined;
  /** Break the connection once this many bytes of messages went through. Default: never. */
  readonly dropAfterBytes?: Amount | undefined;
  /** Probability (0–1), per message, of breaking the connection instead of passing it. Default: 0. */
  readonly dropProbability?: number | undefined;
  /** Probability (0–1), per message received, of inverting one of its bytes. Default: 0. */
  readonly flipProbability?: number | undefined;
  /** Milliseconds each received message is held before it is delivered. Default: 0. */
  readonly delay?: Amount | undefined;
  /** Stop delivering for `ms` milliseconds after every `every` messages received. Default: never. */
  readonly stall?: { readonly every: number; readonly ms: number } | undefined;
}

/** What a faulty connection did. */
export interface FaultStats {
  messages: number;
  bytes: number;
  flipped: number;
  /** Why the connection was broken, if it was. */
  dropped: string | undefined;
}

/** A connection with faults injected, and what they did. */
export interface FaultyConnection extends Connection {
  readonly faults: FaultStats;
  /** Breaks the connection now, as a fault would. */
  drop(why?: string): void;
  /** Stops delivering received messages (a peer that hangs without closing) until {@link FaultyConnection.thaw}. */
  freeze(): void;
  thaw(): void;
}

let serial = 0;

/** Wraps `connection` so that the faults of `plan` happen to it. */
export function faultyConnection(connection: Connection, plan: MessageFaults = {}): FaultyConnection {
  return new Faulty(connection, plan);
}

/** Wraps every connection `connect` opens; each draws its own limits from the plan's random source. */
export function faultyConnect<A extends unknown[]>(
  connect: (...args: A) => Promise<Connection>,
  plan: MessageFaults,
): (...args: A) => Promise<FaultyConnection> {
  let count = 0;
  return async (...args: A) => faultyConnection(await connect(...args), { ...plan, seed: (plan.seed ?? 1) + ++count * 7919 });
}

/** A listener whose accepted connections are faulty. */
export function faultyListener(listener: Listener, plan: MessageFaults): Listener {
  let count = 0;
  const wrap = (c: Connection | undefined): FaultyConnection | undefined =>
    c === undefined ? undefined : faultyConnection(c, { ...plan, seed: (plan.seed ?? 1) + ++count * 104_729 });
  return {
    get address() {
      return listener.address;
    },
    accept: async (options?: WaitOptions) => wrap(await listener.accept(options)),
    close: () => listener.close(),
    [Symbol.asyncDispose]: () => listener.close(),
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const c = wrap(await listener.accept());
        return c === undefined ? { done: true, value: undefined } : { done: false, value: c };
      },
      return: async () => ({ done: true, value: undefined }),
    }),
  };
}

class Faulty implements FaultyConnection {
  readonly faults: FaultStats = { messages: 0, bytes: 0, flipped: 0, dropped: undefined };
  readonly #inner: Connection;
  readonly #plan: MessageFaults;
  readonly #random: () => number;
  readonly #inbox: Inbox;
  readonly #closed = new Deferred();
  readonly #dropAfterMessages: number;
  readonly #dropAfterBytes: number;
  #drained: Deferred | undefined;
  #frozen: Deferred | undefined;
  readonly #id = ++serial;

  constructor(inner: Connection, plan: MessageFaults) {
    this.#inner = inner;
    this.#plan = plan;
    this.#random = randomSource(plan.seed ?? 1);
    this.#dropAfterMessages = plan.dropAfterMessages === undefined ? Infinity : draw(plan.dropAfterMessages, this.#random);
    this.#dropAfterBytes = plan.dropAfterBytes === undefined ? Infinity : draw(plan.dropAfterBytes, this.#random);
    this.#inbox = new Inbox({ highWaterMark: 256 * 1024, onDrain: () => this.#drained?.resolve() });
    inner.closed.then(
      () => this.#closed.resolve(),
      (error) => this.#closed.reject(this.faults.dropped === undefined ? error : this.#dropError()),
    );
    void this.#pump();
  }

  get localAddress(): string {
    return this.#inner.localAddress;
  }
  get remoteAddress(): string {
    return this.#inner.remoteAddress;
  }
  get peer(): Peer | undefined {
    return this.#inner.peer;
  }
  get maxMessageSize(): number {
    return this.#inner.maxMessageSize;
  }
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    if (this.faults.dropped !== undefined) return Promise.reject(this.#dropError());
    // What is not a message is the inner connection's to refuse (with its InvalidArgumentError).
    if (!(message instanceof Uint8Array)) return this.#inner.send(message, options);
    if (this.#count(message)) return Promise.reject(this.#dropError());
    return this.#inner.send(message, options);
  }

  /** Counts each message of the batch like `send()`; a drop inside the batch fails it whole (nothing sent). */
  sendBatch(messages: readonly Uint8Array[], options?: SendOptions): Promise<void> {
    if (this.faults.dropped !== undefined) return Promise.reject(this.#dropError());
    if (!Array.isArray(messages) || !messages.every((message) => message instanceof Uint8Array)) return this.#inner.sendBatch(messages, options);
    for (const message of messages) if (this.#count(message)) return Promise.reject(this.#dropError());
    return this.#inner.sendBatch(messages, options);
  }

  receive(options?: ReceiveOptions): Promise<Uint8Array | undefined> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, "receive"));
    return this.#inbox.receive(options);
  }

  receiveBatch(options?: ReceiveBatchOptions): Promise<Uint8Array[] | undefined> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, "receive"));
    return this.#inbox.receiveBatch(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  close(options?: CloseOptions): Promise<void> {
    return this.#inner.close(options);
  }

  abort(reason?: Error): void {
    this.thaw();
    this.#inner.abort(reason);
    this.#inbox.destroy(reason ?? new ConnectionResetError("the connection was aborted"));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  drop(why = "dropped on request"): void {
    if (this.faults.dropped !== undefined) return;
    this.faults.dropped = why;
    this.thaw();
    const error = this.#dropError();
    this.#inner.abort(error);
    this.#inbox.destroy(error);
  }

  freeze(): void {
    this.#frozen ??= new Deferred();
  }

  thaw(): void {
    this.#frozen?.resolve();
    this.#frozen = undefined;
  }

  /** Counts one message; drops the connection (and returns true) when a limit or the dice say so. */
  #count(message: Uint8Array): boolean {
    this.faults.messages++;
    this.faults.bytes += message.byteLength;
    if (this.faults.messages > this.#dropAfterMessages) this.drop(`after ${this.#dropAfterMessages} messages`);
    else if (this.faults.bytes > this.#dropAfterBytes) this.drop(`after ${this.#dropAfterBytes} bytes`);
    else if ((this.#plan.dropProbability ?? 0) > 0 && this.#random() < this.#plan.dropProbability!) this.drop("at random");
    return this.faults.dropped !== undefined;
  }

  async #pump(): Promise<void> {
    const { flipProbability = 0, delay, stall } = this.#plan;
    let received = 0;
    try {
      // A batch at a time, so a receiveBatch() on this side still gets what arrived together.
      for (let batch = await this.#inner.receiveBatch(); batch !== undefined; batch = await this.#inner.receiveBatch()) {
        for (let message of batch) {
          if (this.#count(message)) return;
          if (flipProbability > 0 && this.#random() < flipProbability) {
            message = flipByte(message, this.#random);
            this.faults.flipped++;
          }
          if (delay !== undefined) await sleep(draw(delay, this.#random));
          if (stall !== undefined && ++received % stall.every === 0) await sleep(stall.ms);
          while (this.#frozen !== undefined) await this.#frozen.promise;
          if (this.faults.dropped !== undefined) return;
          this.#inbox.push(message);
        }
        if (!this.#inbox.hasRoom) {
          this.#drained = new Deferred();
          await this.#drained.promise;
        }
      }
      this.#inbox.end();
    } catch (error) {
      this.#inbox.fail(this.faults.dropped === undefined ? error : this.#dropError());
    }
  }

  #dropError(): ConnectionResetError {
    return new ConnectionResetError(`fault injected: connection #${this.#id} to ${this.remoteAddress} dropped ${this.faults.dropped}`);
  }
}
