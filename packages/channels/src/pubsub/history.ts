/**
 * The last messages of each topic, for late joiners: at most `history` per topic, and `historyBytes`
 * over all topics (the oldest message overall goes first).
 */
import type { Queued } from "./outbox.js";

interface Entry extends Queued {
  /** Publish order, to interleave topics correctly when a prefix matches several. */
  readonly seq: number;
}

export class History {
  readonly #perTopic: number;
  readonly #maxBytes: number;
  readonly #topics = new Map<string, Entry[]>();
  /** Every entry in publish order, for eviction by bytes (entries may already be gone from their topic). */
  #order: Entry[] = [];
  #head = 0;
  #bytes = 0;
  #seq = 0;
  readonly #live = new Set<Entry>();

  constructor(perTopic: number, maxBytes: number) {
    this.#perTopic = perTopic;
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  add(message: Queued): void {
    if (this.#perTopic === 0 || message.payload.byteLength > this.#maxBytes) return;
    const entry: Entry = { ...message, seq: ++this.#seq };
    let list = this.#topics.get(message.topic);
    if (list === undefined) this.#topics.set(message.topic, (list = []));
    list.push(entry);
    this.#live.add(entry);
    this.#order.push(entry);
    this.#bytes += message.payload.byteLength;
    if (list.length > this.#perTopic) this.#forget(list.shift()!);
    while (this.#bytes > this.#maxBytes) this.#evictOldest();
    // Entries dropped by the per-topic limit stay in #order until compacted here: keep it within 2× the live ones.
    if (this.#order.length - this.#head > 2 * this.#live.size + 1024) {
      this.#order = this.#order.slice(this.#head).filter((e) => this.#live.has(e));
      this.#head = 0;
    }
  }

  /** The last `count` messages of each topic `matches` accepts, in publish order. */
  replay(count: number, matches: (topic: string) => boolean): Queued[] {
    const found: Entry[] = [];
    for (const [topic, list] of this.#topics) if (matches(topic)) found.push(...list.slice(-count));
    return found.sort((a, b) => a.seq - b.seq);
  }

  #evictOldest(): void {
    while (this.#head < this.#order.length) {
      const entry = this.#order[this.#head++]!;
      if (!this.#live.has(entry)) continue;
      const list = this.#topics.get(entry.topic)!;
      list.splice(list.indexOf(entry), 1);
      this.#forget(entry);
      return;
    }
  }

  #forget(entry: Entry): void {
    this.#live.delete(entry);
    this.#bytes -= entry.payload.byteLength;
    const list = this.#topics.get(entry.topic);
    if (list !== undefined && list.length === 0) this.#topics.delete(entry.topic);
  }
}
