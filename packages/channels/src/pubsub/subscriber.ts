/**
 * `subscribe(connection, { topics, prefixes, history })`: the subscribing end of pub/sub, over a
 * connection to a `publisher()`'s listener.
 */
import { noop } from "@ipc/core/transport";
import {
  ConnectionResetError,
  InvalidArgumentError,
  ProtocolError,
  throwIfAborted,
  type CloseOptions,
  type Connection,
  type ReceiveOptions,
  type WaitOptions,
} from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { decodePubSubFrame, encodeSubscribe } from "./codec.js";
import { SlowSubscriberError } from "./errors.js";

/** What to subscribe to; `signal` and `timeout` bound sending the request (default: none). */
export interface SubscribeOptions extends WaitOptions {
  /** Topics matched exactly. Default: none. */
  readonly topics?: readonly string[] | undefined;
  /** Topic prefixes (`"orders."` matches `"orders.eu"`; `""` matches every topic). Default: none. */
  readonly prefixes?: readonly string[] | undefined;
  /**
   * Receive first the last `history` messages the publisher kept of each matching topic (a late joiner
   * catching up), in publish order. At most the publisher's own `history`. Default: 0.
   */
  readonly history?: number | undefined;
}

/** One message received by a subscriber. */
export interface Publication {
  readonly topic: string;
  readonly message: Uint8Array;
  /** Messages of this subscription the publisher dropped (policy `drop-oldest`) just before this one. */
  readonly dropped: number;
}

/** A subscription: the publications, in publish order, until the publisher closes. */
export interface Subscription extends AsyncIterable<Publication>, AsyncDisposable {
  /** The connection underneath. */
  readonly connection: Connection;
  /** Publications dropped for this subscriber so far, as the publisher reported them. */
  readonly dropped: number;
  /**
   * The next publication; `undefined` once the publisher closed. Rejects with `SlowSubscriberError` if the
   * publisher disconnected this subscriber for being slow, `ProtocolError` on bytes that are not pub/sub.
   */
  receive(options?: ReceiveOptions): Promise<Publication | undefined>;
  /** Subscribes to more topics or prefixes on the same connection. */
  add(options: SubscribeOptions): Promise<void>;
  close(options?: CloseOptions): Promise<void>;
  readonly closed: Promise<void>;
}

/** Subscribes over `connection` (to a publisher's listener); resolves once the request is sent. */
export async function subscribe(connection: Connection, options: SubscribeOptions): Promise<Subscription> {
  const subscription = new Subscriber(connection);
  await subscription.add(options);
  return subscription;
}

class Subscriber implements Subscription {
  readonly connection: Connection;
  #dropped = 0;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  get dropped(): number {
    return this.#dropped;
  }

  get closed(): Promise<void> {
    return this.connection.closed;
  }

  add(options: SubscribeOptions): Promise<void> {
    const topics = options.topics ?? [];
    const prefixes = options.prefixes ?? [];
    const history = options.history ?? 0;
    if (![...topics, ...prefixes].every((t) => typeof t === "string") || !Number.isInteger(history) || history < 0) {
      return Promise.reject(new InvalidArgumentError("subscribe() takes string topics and prefixes, and a history count ≥ 0"));
    }
    return this.connection.send(encodeSubscribe({ topics, prefixes, history }), { signal: options.signal, timeout: options.timeout });
  }

  async receive(options?: ReceiveOptions): Promise<Publication | undefined> {
    // Messages the iterator already took in its last batch come first.
    if (this.#head < this.#buffered.length) {
      throwIfAborted(options?.signal, "receive");
      return this.#publication(this.#next());
    }
    const bytes = await this.connection.receive(options);
    if (bytes === undefined) return undefined;
    return this.#publication(bytes);
  }

  /** The batch the iterator took with one `receiveBatch()`, and how far it got. */
  #buffered: Uint8Array[] = [];
  #head = 0;

  #next(): Uint8Array {
    const bytes = this.#buffered[this.#head++]!;
    if (this.#head === this.#buffered.length) {
      this.#buffered = [];
      this.#head = 0;
    }
    return bytes;
  }

  #publication(bytes: Uint8Array): Publication {
    let frame;
    try {
      frame = decodePubSubFrame(bytes, "subscriber");
    } catch (error) {
      this.#buffered = [];
      this.#head = 0;
      this.connection.abort(error as Error);
      throw error;
    }
    if (frame.kind === "publish") {
      this.#dropped += frame.dropped;
      return { topic: frame.topic, message: frame.payload, dropped: frame.dropped };
    }
    const error =
      frame.kind === "goodbye" && frame.reason === ipc.Goodbye.Reason.REASON_TOO_SLOW
        ? new SlowSubscriberError(`the publisher disconnected this subscriber: ${frame.message}`)
        : frame.kind === "goodbye"
          ? new ConnectionResetError(`the publisher ended this subscription: ${frame.message || "no reason given"}`)
          : new ProtocolError("the publisher sent Subscribe, which only subscribers send");
    this.#buffered = [];
    this.#head = 0;
    this.connection.abort(error);
    void this.connection.closed.catch(noop);
    throw error;
  }

  /** Reads the connection with `receiveBatch()`: one call for everything that has arrived. */
  async *[Symbol.asyncIterator](): AsyncIterator<Publication> {
    for (;;) {
      if (this.#head === this.#buffered.length) {
        const batch = await this.connection.receiveBatch();
        if (batch === undefined) return;
        this.#buffered = batch;
        this.#head = 0;
      }
      yield this.#publication(this.#next());
    }
  }

  close(options?: CloseOptions): Promise<void> {
    return this.connection.close(options);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
