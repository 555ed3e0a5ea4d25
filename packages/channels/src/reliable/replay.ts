/**
 * The replay buffer: every message sent and not yet acknowledged, in id order, with its cost in bytes
 * (length + {@link MESSAGE_OVERHEAD}), so that the session can bound it and replay from any id. A ring:
 * pushing and releasing are O(1) per message, without copying the array.
 */
import type { UnacknowledgedMessage } from "./errors.js";
import { MESSAGE_OVERHEAD } from "./options.js";

export class ReplayBuffer {
  #ring: Uint8Array[] = new Array<Uint8Array>(64).fill(EMPTY);
  /** Index in `#ring` of the oldest message. */
  #head = 0;
  #length = 0;
  /** The id of the oldest unacknowledged message (the one at `#head`). */
  #firstId = 1;
  #cost = 0;

  /** The id the next pushed message gets. */
  get nextId(): number {
    return this.#firstId + this.#length;
  }

  /** Messages held. */
  get length(): number {
    return this.#length;
  }

  /** Their cost in bytes (length + 64 each). */
  get cost(): number {
    return this.#cost;
  }

  /** Adds `message`; returns its id. */
  push(message: Uint8Array): number {
    if (this.#length === this.#ring.length) this.#grow();
    this.#ring[(this.#head + this.#length) & (this.#ring.length - 1)] = message;
    this.#length++;
    this.#cost += message.byteLength + MESSAGE_OVERHEAD;
    return this.#firstId + this.#length - 1;
  }

  /**
   * Adds `messages[0..count)`, whose costs add up to `cost` (the caller summed them to check its limits);
   * returns the id of the first.
   */
  pushAll(messages: readonly Uint8Array[], count: number, cost: number): number {
    const first = this.#firstId + this.#length;
    while (this.#length + count > this.#ring.length) this.#grow();
    const ring = this.#ring;
    const mask = ring.length - 1;
    let at = this.#head + this.#length;
    for (let i = 0; i < count; i++) ring[at++ & mask] = messages[i]!;
    this.#length += count;
    this.#cost += cost;
    return first;
  }

  /** The messages with an id above `id`, oldest first (the ids follow on from `id + 1`). */
  after(id: number): Uint8Array[] {
    const result: Uint8Array[] = [];
    this.forEachAfter(id, (_, message) => result.push(message));
    return result;
  }

  /** Drops every message with an id up to `id`; returns how many. */
  release(id: number): number {
    const count = Math.min(this.#length, id - this.#firstId + 1);
    if (count <= 0) return 0;
    const ring = this.#ring;
    const mask = ring.length - 1;
    let head = this.#head;
    let cost = 0;
    for (let i = 0; i < count; i++) {
      cost += ring[head]!.length + MESSAGE_OVERHEAD;
      ring[head] = EMPTY;
      head = (head + 1) & mask;
    }
    this.#head = head;
    this.#length -= count;
    this.#firstId += count;
    this.#cost -= cost;
    return count;
  }

  /** Calls `fn` for each message with an id above `id`, oldest first. */
  forEachAfter(id: number, fn: (id: number, message: Uint8Array) => void): void {
    const mask = this.#ring.length - 1;
    for (let i = Math.max(0, id + 1 - this.#firstId); i < this.#length; i++) {
      fn(this.#firstId + i, this.#ring[(this.#head + i) & mask]!);
    }
  }

  /** Every message held, for `SessionLostError.unacknowledged`. */
  all(): UnacknowledgedMessage[] {
    const result: UnacknowledgedMessage[] = [];
    this.forEachAfter(0, (id, message) => result.push({ id, message }));
    return result;
  }

  /** Doubles the ring (its size stays a power of two), oldest message first. */
  #grow(): void {
    const ring = new Array<Uint8Array>(this.#ring.length * 2).fill(EMPTY);
    for (let i = 0; i < this.#length; i++) ring[i] = this.#ring[(this.#head + i) & (this.#ring.length - 1)]!;
    this.#ring = ring;
    this.#head = 0;
  }
}

const EMPTY = new Uint8Array(0);
