/**
 * `publisher(listener)`: fans messages out by topic to every subscriber that connects to `listener`
 * (any transport). Each subscriber has a bounded queue; what happens when it is full is the policy.
 */
import { ClosedError, InvalidArgumentError, ProtocolError, race, wait, type CloseOptions, type Connection, type Listener, type WaitOptions } from "@ipc/core";
import { noop } from "@ipc/core/transport";
import { ipc } from "@ipc/core/proto";
import { decodePubSubFrame, encodeGoodbye, encodePublish, type SubscribeRequest } from "./codec.js";
import { History } from "./history.js";
import { resolvePublisherOptions, type PublisherOptions, type ResolvedPublisherOptions } from "./options.js";
import { Outbox, type Queued, type SubscriberStats } from "./outbox.js";

/** Counters of a publisher. */
export interface PublisherStats {
  /** Messages `publish()` accepted. */
  readonly published: number;
  /** Subscribers connected now. */
  readonly subscribers: number;
  /** Messages dropped for slow subscribers (`drop-oldest`), all subscribers together. */
  readonly dropped: number;
  /** Subscribers disconnected for being slow (`disconnect`). */
  readonly disconnected: number;
  /** Bytes queued for all subscribers now. */
  readonly queuedBytes: number;
  /** Bytes of history kept now (at most `historyBytes`). */
  readonly historyBytes: number;
  /** Each connected subscriber. */
  readonly perSubscriber: readonly SubscriberStats[];
}

/** The publishing end of pub/sub. */
export interface Publisher extends AsyncDisposable {
  /** The listener's address: subscribers connect there. */
  readonly address: string;
  readonly stats: PublisherStats;
  /**
   * Sends `message` to every subscriber of `topic`. Resolves once it is queued for each of them. Under
   * the `block` policy it waits (in order with other publishes) until each has room; a `TimeoutError` or
   * `AbortError` from the options means it was queued for none.
   */
  publish(topic: string, message: Uint8Array, options?: WaitOptions): Promise<void>;
  /**
   * Stops accepting subscribers, delivers what is queued, then closes every subscriber's connection. If
   * `timeout` expires or `signal` aborts first (a subscriber that reads nothing under `block`), the
   * remaining subscribers' connections are aborted and it rejects with that reason.
   */
  close(options?: CloseOptions): Promise<void>;
}

interface PendingPublish {
  readonly message: Queued;
  readonly targets: Outbox[];
  resolve(): void;
  reject(error: unknown): void;
}

/** Starts publishing to the subscribers that connect to `listener`. */
export function publisher(listener: Listener, options?: PublisherOptions): Publisher {
  return new Fanout(listener, resolvePublisherOptions(options));
}

class Fanout implements Publisher {
  readonly #listener: Listener;
  readonly #options: ResolvedPublisherOptions;
  readonly #subscribers = new Set<Outbox>();
  readonly #history: History;
  #pending: PendingPublish[] = [];
  #published = 0;
  #droppedByGone = 0;
  #disconnected = 0;
  #serial = 0;
  #closing = false;

  constructor(listener: Listener, options: ResolvedPublisherOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#history = new History(options.history, options.historyBytes);
    void this.#accept();
  }

  get address(): string {
    return this.#listener.address;
  }

  get stats(): PublisherStats {
    const perSubscriber = [...this.#subscribers].map((s) => s.stats);
    return {
      published: this.#published,
      subscribers: this.#subscribers.size,
      dropped: this.#droppedByGone + perSubscriber.reduce((n, s) => n + s.dropped, 0),
      disconnected: this.#disconnected,
      queuedBytes: perSubscriber.reduce((n, s) => n + s.queuedBytes, 0),
      historyBytes: this.#history.bytes,
      perSubscriber,
    };
  }

  publish(topic: string, message: Uint8Array, options?: WaitOptions): Promise<void> {
    if (typeof topic !== "string" || !(message instanceof Uint8Array)) {
      return Promise.reject(new InvalidArgumentError("publish() takes a topic string and a Uint8Array"));
    }
    if (Buffer.byteLength(topic) > this.#options.maxTopicLength) {
      return Promise.reject(new InvalidArgumentError(`topic is longer than maxTopicLength (${this.#options.maxTopicLength} bytes)`));
    }
    if (this.#closing) return Promise.reject(new ClosedError("the publisher is closed"));
    const queued: Queued = { frame: encodePublish(topic, message, 0), topic, payload: message };
    const targets = [...this.#subscribers].filter((s) => s.matches(topic));
    const mustWait = this.#options.policy === "block" && (this.#pending.length > 0 || targets.some((s) => !s.hasRoom(message.byteLength)));
    if (!mustWait) {
      this.#deliver(queued, targets);
      return Promise.resolve();
    }
    return wait<void>(`publish to ${topic}`, options, (resolve, reject) => {
      const entry: PendingPublish = { message: queued, targets, resolve, reject };
      this.#pending.push(entry);
      return () => {
        const i = this.#pending.indexOf(entry);
        if (i >= 0) this.#pending.splice(i, 1);
        this.#pump();
      };
    });
  }

  async close(options?: CloseOptions): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const entry of this.#pending.splice(0)) entry.reject(new ClosedError("the publisher closed before this message could be queued"));
    await this.#listener.close();
    const subscribers = [...this.#subscribers];
    const closing = Promise.all(
      subscribers.map(async (s) => {
        await s.drained();
        await s.connection.close({ signal: options?.signal, timeout: options?.timeout ?? 5000 }).catch(noop);
      }),
    );
    await race("close", closing, options, () => {
      for (const s of subscribers) s.connection.abort();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #deliver(message: Queued, targets: Outbox[]): void {
    this.#published++;
    this.#history.add(message);
    for (const subscriber of targets) {
      const before = subscriber.gone;
      subscriber.offer(message);
      if (!before && subscriber.gone) {
        this.#disconnected++;
        this.#subscribers.delete(subscriber);
      }
    }
  }

  /** Queues the waiting publishes, in order, while every one of their subscribers has room. */
  #pump(): void {
    while (this.#pending.length > 0) {
      const head = this.#pending[0]!;
      if (head.targets.some((s) => !s.gone && !s.hasRoom(head.message.payload.byteLength))) return;
      this.#pending.shift();
      this.#deliver(head.message, head.targets);
      head.resolve();
    }
  }

  async #accept(): Promise<void> {
    try {
      for await (const connection of this.#listener) {
        if (this.#closing) {
          void connection.close().catch(noop);
          continue;
        }
        void this.#serve(connection);
      }
    } catch {
      // The listener failed: no new subscribers; the connected ones go on.
    }
  }

  /** Reads one subscriber's requests until it leaves; a bad request ends that subscriber only. */
  async #serve(connection: Connection): Promise<void> {
    const subscriber = new Outbox(++this.#serial, connection, this.#options, () => this.#pump());
    this.#subscribers.add(subscriber);
    try {
      for await (const bytes of connection) {
        const frame = decodePubSubFrame(bytes, `subscriber #${subscriber.id}`);
        if (frame.kind !== "subscribe") throw new ProtocolError(`subscriber #${subscriber.id} sent ${frame.kind}; only Subscribe is expected`);
        this.#subscribe(subscriber, frame);
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        connection.send(encodeGoodbye(ipc.Goodbye.Reason.REASON_PROTOCOL, error.message)).catch(noop);
        void connection.close({ timeout: 1000 }).catch(noop);
      }
    } finally {
      this.#droppedByGone += subscriber.stats.dropped;
      subscriber.leave();
      this.#subscribers.delete(subscriber);
    }
  }

  #subscribe(subscriber: Outbox, request: SubscribeRequest): void {
    const count = subscriber.topics.size + subscriber.prefixes.length + request.topics.length + request.prefixes.length;
    if (count > this.#options.maxSubscriptions) {
      throw new ProtocolError(`subscriber #${subscriber.id} asked for ${count} subscriptions, over maxSubscriptions (${this.#options.maxSubscriptions})`);
    }
    for (const topic of [...request.topics, ...request.prefixes]) {
      if (Buffer.byteLength(topic) > this.#options.maxTopicLength) {
        throw new ProtocolError(`subscriber #${subscriber.id} sent a topic longer than maxTopicLength (${this.#options.maxTopicLength} bytes)`);
      }
    }
    const matches = (topic: string): boolean =>
      !subscriber.matches(topic) && (request.topics.includes(topic) || request.prefixes.some((p) => topic.startsWith(p)));
    const replay = request.history > 0 ? this.#history.replay(request.history, matches) : [];
    for (const topic of request.topics) subscriber.topics.add(topic);
    for (const prefix of request.prefixes) if (!subscriber.prefixes.includes(prefix)) subscriber.prefixes.push(prefix);
    // History is bounded by its own limits: it is queued whole, whatever the queue's bounds and policy.
    for (const message of replay) subscriber.offer(message, true);
  }
}
