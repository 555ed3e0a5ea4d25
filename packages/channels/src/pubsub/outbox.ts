/**
 * One subscriber, as the publisher sees it: what it subscribed to, and its bounded queue of messages
 * with the writer that moves them onto its connection, a batch at a time (one `sendBatch()` for what is
 * queued, up to {@link FLUSH_BYTES}), under the connection's own backpressure.
 */
import { noop } from "@ipc/core/transport";
import { ipc } from "@ipc/core/proto";
import { BATCH_MESSAGE_OVERHEAD, type Connection } from "@ipc/core";
import { encodeGoodbye, encodePublish } from "./codec.js";
import type { ResolvedPublisherOptions } from "./options.js";

/** A message as queued: its encoded frame (with `dropped` = 0) and what is needed to re-encode it. */
export interface Queued {
  readonly frame: Uint8Array;
  readonly topic: string;
  readonly payload: Uint8Array;
}

/** Counters of one subscriber. */
export interface SubscriberStats {
  /** A number for this subscriber, unique within its publisher. */
  readonly id: number;
  readonly topics: readonly string[];
  readonly prefixes: readonly string[];
  /** Messages and bytes waiting in its queue now (at most `queueMessages` / `queueBytes`). */
  readonly queued: number;
  readonly queuedBytes: number;
  /** Messages handed to its connection. */
  readonly delivered: number;
  /** Messages dropped for it (`drop-oldest`). */
  readonly dropped: number;
}

/**
 * The most a flush takes out of the queue at once, in bytes of frames (plus 128 each, as a batch counts them):
 * enough to pay one call for many small messages, small against the queue, which the slow-subscriber policy
 * bounds (what a flush took is in flight, no longer queued).
 */
const FLUSH_BYTES = 64 * 1024;

export class Outbox {
  readonly id: number;
  readonly connection: Connection;
  readonly topics = new Set<string>();
  readonly prefixes: string[] = [];
  readonly #options: ResolvedPublisherOptions;
  readonly #onRoom: () => void;
  #queue: Queued[] = [];
  #bytes = 0;
  #delivered = 0;
  #dropped = 0;
  /** Dropped since the last message delivered: the next one carries it. */
  #missed = 0;
  #writing = false;
  #gone = false;
  #drained: (() => void) | undefined;

  constructor(id: number, connection: Connection, options: ResolvedPublisherOptions, onRoom: () => void) {
    this.id = id;
    this.connection = connection;
    this.#options = options;
    this.#onRoom = onRoom;
  }

  get gone(): boolean {
    return this.#gone;
  }

  get stats(): SubscriberStats {
    return {
      id: this.id,
      topics: [...this.topics],
      prefixes: [...this.prefixes],
      queued: this.#queue.length,
      queuedBytes: this.#bytes,
      delivered: this.#delivered,
      dropped: this.#dropped,
    };
  }

  /** True if one more message of `bytes` fits in the queue. */
  hasRoom(bytes: number): boolean {
    return this.#queue.length === 0 || (this.#queue.length < this.#options.queueMessages && this.#bytes + bytes <= this.#options.queueBytes);
  }

  matches(topic: string): boolean {
    if (this.topics.has(topic)) return true;
    for (const prefix of this.prefixes) if (topic.startsWith(prefix)) return true;
    return false;
  }

  /**
   * Queues `message`, applying the policy if the queue is full (`block` callers check room first);
   * `force` queues it regardless (history, which has its own bounds).
   */
  offer(message: Queued, force = false): void {
    if (this.#gone) return;
    const bytes = message.payload.byteLength;
    if (!force && !this.hasRoom(bytes)) {
      if (this.#options.policy === "disconnect") return this.disconnect();
      while (!this.hasRoom(bytes)) {
        const oldest = this.#queue.shift()!;
        this.#bytes -= oldest.payload.byteLength;
        this.#dropped++;
        this.#missed++;
      }
    }
    this.#queue.push(message);
    this.#bytes += bytes;
    if (!this.#writing) void this.#write();
  }

  /** Tells the subscriber it was too slow, then closes its connection (aborting it if it does not read). */
  disconnect(): void {
    if (this.#gone) return;
    this.#leave();
    const c = this.connection;
    const why = `this subscriber fell ${this.#options.queueMessages} messages / ${this.#options.queueBytes} bytes behind; disconnected (policy 'disconnect')`;
    c.send(encodeGoodbye(ipc.Goodbye.Reason.REASON_TOO_SLOW, why), { timeout: 1000 }).catch(noop);
    void c.close({ timeout: 1000 }).catch(noop);
  }

  /** Resolves once everything queued was handed to the connection (or the subscriber left). */
  drained(): Promise<void> {
    if (this.#queue.length === 0 && !this.#writing) return Promise.resolve();
    return new Promise((resolve) => (this.#drained = resolve));
  }

  /** The subscriber is gone: drop its queue, release waiting publishers. */
  leave(): void {
    if (!this.#gone) this.#leave();
  }

  #leave(): void {
    this.#gone = true;
    this.#queue = [];
    this.#bytes = 0;
    this.#drained?.();
    this.#onRoom();
  }

  async #write(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#gone) {
        const frames = this.#take();
        this.#onRoom();
        await (frames.length === 1 ? this.connection.send(frames[0]!) : this.connection.sendBatch(frames));
        this.#delivered += frames.length;
      }
    } catch {
      this.leave();
    } finally {
      this.#writing = false;
    }
    if (this.#queue.length === 0) this.#drained?.();
  }

  /** Takes the frames of the next flush off the queue: at least one, at most FLUSH_BYTES and the batch bound. */
  #take(): Uint8Array[] {
    const queue = this.#queue;
    const limit = Math.min(FLUSH_BYTES, this.connection.maxMessageSize + BATCH_MESSAGE_OVERHEAD);
    const frames: Uint8Array[] = [];
    let cost = 0;
    let count = 0;
    for (; count < queue.length; count++) {
      const message = queue[count]!;
      // The first message after drops says how many were missed.
      const frame = count === 0 && this.#missed > 0 ? encodePublish(message.topic, message.payload, this.#missed) : message.frame;
      cost += frame.byteLength + BATCH_MESSAGE_OVERHEAD;
      if (count > 0 && cost > limit) break;
      frames.push(frame);
      this.#bytes -= message.payload.byteLength;
    }
    this.#missed = 0;
    queue.splice(0, count);
    return frames;
  }
}
