/**
 * `natsSubscribe(nats, { topics })`: @ipc pub/sub on NATS subjects (docs/wire.md §9.5). Topics are subjects
 * (with `*` and `>`); each subscriber has a bounded queue between NATS and the application, and what
 * happens when it is full is the @ipc slow-subscriber policy, surfaced as `dropped` counts and
 * `SlowSubscriberError`.
 */
import type { Msg, NatsConnection, Subscription as RawSubscription } from "@nats-io/transport-node";
import { ClosedError, InvalidArgumentError, SlowSubscriberError, TimeoutError, AbortError, type ReceiveOptions } from "../deps.js";
import { checkTopics, subjectOf, topicOf } from "./subjects.js";

/** What a NATS subscriber does when its queue is full (core NATS cannot make a publisher wait). */
export type NatsSlowSubscriberPolicy = "drop-oldest" | "disconnect";

/** Options of {@link natsSubscribe}. */
export interface NatsSubscribeOptions {
  /**
   * Topics to receive: NATS subjects, with `*` for one token and `>` for the rest (`orders.*.created`,
   * `orders.>`). At least one.
   */
  readonly topics: readonly string[];
  /** Prepended (with a dot) to every topic to make its subject, as the publisher does. Default: none. */
  readonly prefix?: string | undefined;
  /** A NATS queue group: subscribers in the same group share the messages, each going to one. Default: none. */
  readonly queue?: string | undefined;
  /**
   * When the queue is full: `drop-oldest` drops the oldest queued message and the next one received says
   * how many were dropped; `disconnect` ends the subscription with `SlowSubscriberError`. (`block`, the
   * default of @ipc's own pub/sub, cannot exist on core NATS: use a durable channel for back-pressure.)
   * Default: `drop-oldest`.
   */
  readonly policy?: NatsSlowSubscriberPolicy | undefined;
  /** Messages queued before the policy applies. Default: 1024. */
  readonly queueMessages?: number | undefined;
  /** Bytes queued before the policy applies. Default: 1 MiB. */
  readonly queueBytes?: number | undefined;
}

/** One message received, as @ipc's `Publication`. */
export interface NatsPublication {
  readonly topic: string;
  readonly message: Uint8Array;
  /** Messages of this subscription dropped (policy `drop-oldest`) just before this one. */
  readonly dropped: number;
}

/** Counters of a subscription. */
export interface NatsSubscriberStats {
  /** Messages NATS delivered to it. */
  readonly received: number;
  /** Messages the application took. */
  readonly delivered: number;
  /** Messages dropped for being slow (`drop-oldest`). */
  readonly dropped: number;
  /** Messages and bytes queued now. */
  readonly queued: number;
  readonly queuedBytes: number;
}

/** A subscription: the publications, in the order NATS delivered them, until it is closed. */
export interface NatsSubscription extends AsyncIterable<NatsPublication>, AsyncDisposable {
  readonly topics: readonly string[];
  readonly stats: NatsSubscriberStats;
  /** The next publication; `undefined` once closed. Rejects with `SlowSubscriberError` under `disconnect`. */
  receive(options?: ReceiveOptions): Promise<NatsPublication | undefined>;
  /** Stops the subscription; what is queued is still received, then the end. */
  close(): Promise<void>;
  /** Resolves once the subscription ended (closed, or its connection closed); rejects with `SlowSubscriberError`. */
  readonly closed: Promise<void>;
}

interface Queued {
  readonly topic: string;
  readonly message: Uint8Array;
}

interface Reader {
  resolve(value: NatsPublication | undefined): void;
  reject(error: unknown): void;
}

class Subscriber implements NatsSubscription {
  readonly topics: readonly string[];
  readonly closed: Promise<void>;
  readonly #subscriptions: RawSubscription[];
  readonly #prefix: string | undefined;
  readonly #policy: NatsSlowSubscriberPolicy;
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  #queue: Queued[] = [];
  #head = 0;
  #bytes = 0;
  #received = 0;
  #delivered = 0;
  #dropped = 0;
  #missed = 0;
  #ended = false;
  #error: Error | undefined;
  #readers: Reader[] = [];
  #settle!: (error?: Error) => void;

  constructor(nats: NatsConnection, options: NatsSubscribeOptions) {
    this.topics = checkTopics(options.topics);
    this.#prefix = options.prefix;
    const policy = options.policy ?? "drop-oldest";
    if (policy !== "drop-oldest" && policy !== "disconnect") {
      throw new InvalidArgumentError(
        `policy must be 'drop-oldest' or 'disconnect' on NATS, got ${String(policy)} (core NATS cannot make a publisher wait: ` +
          `use a durable channel for back-pressure)`,
      );
    }
    this.#policy = policy;
    this.#maxMessages = positive("queueMessages", options.queueMessages, 1024);
    this.#maxBytes = positive("queueBytes", options.queueBytes, 1024 * 1024);
    this.closed = new Promise<void>((resolve, reject) => {
      this.#settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.closed.catch(() => undefined);
    const queue = options.queue;
    this.#subscriptions = this.topics.map((topic) =>
      nats.subscribe(subjectOf(this.#prefix, topic), { queue, callback: (error, msg) => this.#onMessage(error, msg) }),
    );
    void nats.closed().then(() => this.#end(undefined));
  }

  get stats(): NatsSubscriberStats {
    return {
      received: this.#received,
      delivered: this.#delivered,
      dropped: this.#dropped,
      queued: this.#queue.length - this.#head,
      queuedBytes: this.#bytes,
    };
  }

  receive(options?: ReceiveOptions): Promise<NatsPublication | undefined> {
    const next = this.#take();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const reader: Reader = { resolve, reject };
      this.#readers.push(reader);
      const signal = options?.signal;
      const timeout = options?.timeout;
      const cancel = (error: Error): void => {
        const i = this.#readers.indexOf(reader);
        if (i < 0) return;
        this.#readers.splice(i, 1);
        reject(error);
      };
      if (signal !== undefined) {
        if (signal.aborted) return cancel(new AbortError("receive was aborted", { cause: signal.reason }));
        signal.addEventListener("abort", () => cancel(new AbortError("receive was aborted", { cause: signal.reason })), { once: true });
      }
      if (timeout !== undefined && timeout !== Infinity) {
        const timer = setTimeout(() => cancel(new TimeoutError(`receive timed out after ${timeout} ms`, timeout)), timeout);
        const clear = (): void => clearTimeout(timer);
        reader.resolve = (value) => (clear(), resolve(value));
        reader.reject = (error) => (clear(), reject(error));
      }
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<NatsPublication> {
    for (;;) {
      const publication = await this.receive();
      if (publication === undefined) return;
      yield publication;
    }
  }

  async close(): Promise<void> {
    for (const subscription of this.#subscriptions) if (!subscription.isClosed()) subscription.unsubscribe();
    this.#end(undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onMessage(error: Error | null, msg: Msg): void {
    if (this.#ended) return;
    if (error !== null) return this.#end(new ClosedError(`the NATS subscription failed: ${error.message}`, { cause: error }));
    this.#received++;
    const queued: Queued = { topic: topicOf(this.#prefix, msg.subject), message: msg.data };
    const reader = this.#readers.shift();
    if (reader !== undefined) return reader.resolve(this.#publication(queued));
    const size = msg.data.byteLength;
    const length = this.#queue.length - this.#head;
    if (length > 0 && (length >= this.#maxMessages || this.#bytes + size > this.#maxBytes)) {
      if (this.#policy === "disconnect") {
        const why = `this subscriber fell ${this.#maxMessages} messages / ${this.#maxBytes} bytes behind; disconnected (policy 'disconnect')`;
        for (const subscription of this.#subscriptions) if (!subscription.isClosed()) subscription.unsubscribe();
        return this.#end(new SlowSubscriberError(why));
      }
      while (this.#queue.length - this.#head > 0 && (this.#queue.length - this.#head >= this.#maxMessages || this.#bytes + size > this.#maxBytes)) {
        const oldest = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined as never;
        this.#bytes -= oldest.message.byteLength;
        this.#dropped++;
        this.#missed++;
      }
    }
    this.#queue.push(queued);
    this.#bytes += size;
  }

  #take(): NatsPublication | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const queued = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as never;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#bytes -= queued.message.byteLength;
    return this.#publication(queued);
  }

  #publication(queued: Queued): NatsPublication {
    this.#delivered++;
    const dropped = this.#missed;
    this.#missed = 0;
    return { topic: queued.topic, message: queued.message, dropped };
  }

  /** Ends the subscription: readers get what is queued, then the end (or `error`). */
  #end(error: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    if (error !== undefined) {
      // Under `disconnect` nothing queued is delivered: the subscriber was too slow for it.
      this.#queue = [];
      this.#head = 0;
      this.#bytes = 0;
    }
    for (const reader of this.#readers.splice(0)) {
      if (error === undefined) reader.resolve(undefined);
      else reader.reject(error);
    }
    this.#settle(error);
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be an integer ≥ 1, got ${String(value)}`);
  return value;
}

/**
 * Subscribes to `options.topics` (NATS subjects, with `*` and `>`) on `nats`. Returns at once; call
 * `await nats.flush()` before publishing from elsewhere if the first messages matter (NATS delivers only
 * to subscriptions the server already knows). Throws `InvalidArgumentError` on bad topics or options.
 */
export function natsSubscribe(nats: NatsConnection, options: NatsSubscribeOptions): NatsSubscription {
  if (typeof nats?.subscribe !== "function") throw new InvalidArgumentError("natsSubscribe() takes a NatsConnection");
  return new Subscriber(nats, options);
}
