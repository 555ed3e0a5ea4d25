/** `natsPublisher(nats)`: publishes @ipc pub/sub messages on NATS subjects (docs/wire.md §9.5). */
import type { NatsConnection } from "@nats-io/transport-node";
import { ClosedError, InvalidArgumentError, MessageTooLargeError, type WaitOptions } from "../deps.js";
import { checkTopic, subjectOf } from "./subjects.js";

/** Options of {@link natsPublisher}. */
export interface NatsPublisherOptions {
  /** Prepended (with a dot) to every topic to make its subject; subscribers use the same. Default: none. */
  readonly prefix?: string | undefined;
}

/** Counters of a publisher. */
export interface NatsPublisherStats {
  /** Messages published. */
  readonly published: number;
  /** Bytes of their payloads. */
  readonly bytes: number;
}

/** The publishing end of pub/sub on NATS. */
export interface NatsPublisher extends AsyncDisposable {
  readonly stats: NatsPublisherStats;
  /**
   * Publishes `message` on `topic` (a subject, no wildcards) for every matching subscriber. Resolves once
   * NATS took it (core NATS: at most once, no waiting for subscribers). Rejects with
   * `MessageTooLargeError` over the server's `max_payload`, `ClosedError` once closed.
   */
  publish(topic: string, message: Uint8Array, options?: WaitOptions): Promise<void>;
  /** Resolves once the server has everything published so far (a NATS flush). */
  flush(): Promise<void>;
  /** Flushes, then refuses further publishes. The NATS connection stays open. */
  close(): Promise<void>;
}

class Publisher implements NatsPublisher {
  readonly #nats: NatsConnection;
  readonly #prefix: string | undefined;
  #published = 0;
  #bytes = 0;
  #closed = false;

  constructor(nats: NatsConnection, options: NatsPublisherOptions | undefined) {
    this.#nats = nats;
    this.#prefix = options?.prefix;
  }

  get stats(): NatsPublisherStats {
    return { published: this.#published, bytes: this.#bytes };
  }

  publish(topic: string, message: Uint8Array): Promise<void> {
    try {
      if (!(message instanceof Uint8Array)) throw new InvalidArgumentError("publish() takes a topic string and a Uint8Array");
      checkTopic(topic, false);
      if (this.#closed || this.#nats.isClosed()) throw new ClosedError("the publisher is closed");
      const limit = this.#nats.info?.max_payload;
      if (limit !== undefined && message.byteLength > limit) throw new MessageTooLargeError(message.byteLength, limit);
      this.#nats.publish(subjectOf(this.#prefix, topic), message);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#published++;
    this.#bytes += message.byteLength;
    return Promise.resolve();
  }

  async flush(): Promise<void> {
    await this.#nats.flush();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#nats.isClosed()) await this.#nats.flush();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Publishes on `nats`; topics become subjects (under `prefix`, if given). */
export function natsPublisher(nats: NatsConnection, options?: NatsPublisherOptions): NatsPublisher {
  if (typeof nats?.publish !== "function") throw new InvalidArgumentError("natsPublisher() takes a NatsConnection");
  return new Publisher(nats, options);
}
