/**
 * The read buffers of a connection that lends its messages (`receiveView()`, packages/framing/README.md): a
 * buffer the decoder reads into goes back to the pool once the decoder has moved past it and every message
 * lent from it was released, and the next read reuses it — so a steady stream of lent messages allocates
 * nothing per message, and the kernel copies into memory that is already mapped and cached.
 */

/** One pooled buffer's holders: the decoder while it reads into it, and each message in it not yet released. */
interface Holders {
  count: number;
}

/** Read buffers recycled by size, with a count of holders per buffer. */
export class ReadPool {
  /** Free buffers by exact size. */
  readonly #free = new Map<number, Uint8Array[]>();
  /** Holders of every buffer handed out and not yet free; a buffer dropped without release is simply collected. */
  readonly #holders = new WeakMap<ArrayBufferLike, Holders>();
  /** Bytes kept free at most: more is left to the garbage collector. */
  readonly #keep: number;
  #freeBytes = 0;

  /** @param keep the most bytes kept free between uses (a connection's high-water mark, at least 1 MiB: a few of the largest reads). */
  constructor(keep: number) {
    this.#keep = Math.max(keep, 1024 * 1024);
  }

  /** A buffer of exactly `size` bytes, held once (by the decoder): a free one of that size, or a new one. */
  take(size: number): Uint8Array {
    const free = this.#free.get(size);
    const reused = free?.pop();
    if (reused !== undefined) {
      this.#freeBytes -= size;
      this.#holders.get(reused.buffer)!.count = 1;
      return reused;
    }
    const buffer = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
    this.#holders.set(buffer.buffer, { count: 1 });
    return buffer;
  }

  /** True when `bytes` lies in a pooled buffer. */
  owns(bytes: Uint8Array): boolean {
    return this.#holders.has(bytes.buffer);
  }

  /** `count` more holders of the pooled buffer under `bytes` (messages lent from it). Ignored for other memory. */
  hold(bytes: Uint8Array, count = 1): void {
    const holders = this.#holders.get(bytes.buffer);
    if (holders !== undefined) holders.count += count;
  }

  /** One holder of the buffer under `bytes` lets go: at none, the buffer is free for the next read. */
  drop(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    const holders = this.#holders.get(buffer);
    if (holders === undefined || --holders.count > 0) return;
    const size = buffer.byteLength;
    if (this.#freeBytes + size > this.#keep) {
      this.#holders.delete(buffer);
      return;
    }
    const whole = new Uint8Array(buffer, 0, size);
    let free = this.#free.get(size);
    if (free === undefined) this.#free.set(size, (free = []));
    free.push(whole);
    this.#freeBytes += size;
  }

  /** A copy of `bytes` that stays valid, the pooled buffer under it dropped (for a plain `receive()`); other memory as is. */
  keep(bytes: Uint8Array): Uint8Array {
    if (!this.#holders.has(bytes.buffer)) return bytes;
    const copy = bytes.slice();
    this.drop(bytes);
    return copy;
  }

  /** Forgets every free buffer (the connection is gone). */
  clear(): void {
    this.#free.clear();
    this.#freeBytes = 0;
  }
}
