/**
 * The sending side: frames go out in batches. Small messages are copied, header and payload together,
 * into a slab, so the sends of one tick leave in one `write()` (or one per 64 KiB); large ones are not
 * copied but written with their header in the same `writev` (cork/uncork). The bytes accepted and not yet written are
 * bounded by the high-water mark: beyond it, `send()` waits, in order, and a send whose deadline expires
 * while waiting is withdrawn (never sent). `sendBatch()` is the same path for many messages at once: all of
 * them are framed in one loop when there is room, or the whole batch waits as one entry, and is accepted or
 * withdrawn whole.
 */
import type { Writable } from "node:stream";
import { wait, type SendOptions } from "@ipc/core";
import { HEADER_SIZE, writeHeader } from "./encoder.js";

// Sizes are read as `length` (a Uint8Array's byte length; the checks in @ipc/core's ConnectionBase passed):
// on Node 20 (V8 11) the `byteLength` getter is not inlined, 12–17 ns a read against 1 ns.

/** Messages up to this size are copied into the batch; larger ones are written from the caller's array. */
const COPY_LIMIT = 16 * 1024;
/** The size of a batch slab: the usual unit of one `write()`. */
const SLAB_SIZE = 64 * 1024;
/** Written-out slabs kept for reuse (allocating one per 64 KiB sent costs a GC share of several %). */
const FREE_SLABS = 4;

const RESOLVED = Promise.resolve();

/** A slab and the regions of it given to `write()` whose callbacks have not come yet. */
interface Slab {
  readonly bytes: Buffer;
  pending: number;
  /** True once the writer moved on to another slab: it is reused when `pending` drops to 0. */
  retired: boolean;
}

interface WaitingSend {
  /** The message of a `send()`; `undefined` for a batch. */
  readonly message: Uint8Array | undefined;
  /** The messages of a `sendBatch()`, accepted together. */
  readonly batch: readonly Uint8Array[] | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

/** Writes frames to a Node `Writable`, batching small ones and honouring its backpressure. */
export class FrameWriter {
  readonly #writable: Writable;
  readonly #highWaterMark: number;
  #slab: Slab = { bytes: Buffer.alloc(0), pending: 0, retired: false };
  #slabStart = 0;
  #slabEnd = 0;
  #freeSlabs: Slab[] = [];
  /** Pieces of the current batch before the open slab region: cut slab regions and large payloads. */
  #chunks: Uint8Array[] = [];
  /** The slab of each slab region in the current batch (one entry per region). */
  #batchSlabs: Slab[] = [];
  /** Bytes in the current batch (not yet given to `write()`). */
  #batchBytes = 0;
  /** Bytes given to `write()` whose callback has not come yet. */
  #inFlight = 0;
  #waiting: WaitingSend[] = [];
  #scheduled = false;
  #ending = false;
  #endCallback: ((error?: Error | null) => void) | undefined;
  #error: unknown = undefined;
  readonly #flushTask = (): void => this.flush();

  constructor(writable: Writable, highWaterMark: number) {
    this.#writable = writable;
    this.#highWaterMark = highWaterMark;
  }

  /** Bytes accepted and not yet written to the OS. */
  get bufferedBytes(): number {
    return this.#batchBytes + this.#inFlight;
  }

  /**
   * Frames `message` (already checked against the size limit) into the batch. Resolves once accepted:
   * at once while the buffered bytes are under the high-water mark, otherwise when room is made, in
   * order. An accepted message is always written unless the connection fails; a large one is read from
   * the caller's array until then.
   */
  send(message: Uint8Array, options: SendOptions | undefined): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#waiting.length === 0 && this.#batchBytes + this.#inFlight < this.#highWaterMark) {
      this.#append(message);
      return RESOLVED;
    }
    return this.#wait(message, undefined, options);
  }

  /**
   * Frames every message of `messages` (non-empty, each already checked), in order after every earlier
   * send. While there is room (nothing waits and the buffered bytes are under the high-water mark) the whole
   * batch is framed at once — small messages packed into the slabs, a write per full 64 KiB slab, large ones
   * written from the caller's arrays — and it resolves at once; otherwise the batch waits as one entry, is
   * accepted whole when room is made, and is withdrawn whole if the wait ends first. Like {@link send}, the
   * caller's arrays may be read until they are written.
   */
  sendBatch(messages: readonly Uint8Array[], options: SendOptions | undefined): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#waiting.length === 0 && this.#batchBytes + this.#inFlight < this.#highWaterMark) {
      this.#appendBatch(messages);
      return RESOLVED;
    }
    return this.#wait(undefined, messages, options);
  }

  #wait(message: Uint8Array | undefined, batch: readonly Uint8Array[] | undefined, options: SendOptions | undefined): Promise<void> {
    return wait<void>("send", options, (resolve, reject) => {
      const entry: WaitingSend = { message, batch, resolve, reject };
      this.#waiting.push(entry);
      return () => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        this.#endIfDone();
      };
    });
  }

  /**
   * Ends the stream once every accepted and waiting message is written; `callback` runs when the
   * writable has finished (or failed).
   */
  end(callback: (error?: Error | null) => void): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#endCallback = callback;
    this.#endIfDone();
  }

  /** Fails every waiting send with `error` and drops the batch. */
  fail(error: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    for (const entry of this.#waiting.splice(0)) entry.reject(error);
    this.#chunks = [];
    this.#batchBytes = 0;
    this.#slabStart = this.#slabEnd;
  }

  /** Writes the current batch now (normally it goes at the end of the tick). */
  flush(): void {
    this.#scheduled = false;
    if (this.#error !== undefined) return;
    this.#cut();
    const chunks = this.#chunks;
    if (chunks.length === 0) return;
    this.#chunks = [];
    const slabs = this.#batchSlabs;
    this.#batchSlabs = [];
    const bytes = this.#batchBytes;
    this.#batchBytes = 0;
    this.#inFlight += bytes;
    const done = (error?: Error | null): void => {
      this.#inFlight -= bytes;
      // On error, the stream's 'error' event (or the abort that caused it) fails the connection.
      if (error) return;
      for (const slab of slabs) this.#release(slab);
      this.#pump();
    };
    const writable = this.#writable;
    if (chunks.length === 1) {
      writable.write(chunks[0], done);
      return;
    }
    writable.cork();
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) writable.write(chunks[i]);
    writable.write(chunks[last], done);
    writable.uncork();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(this.#flushTask);
  }

  #append(message: Uint8Array): void {
    if (message.length > COPY_LIMIT) this.#appendLarge(message);
    else this.#appendSmall(message);
    // A full slab goes out now rather than at the end of the tick, so the OS and the reader work
    // while this side goes on producing (a sender and its reader overlap instead of taking turns).
    if (this.#batchBytes >= SLAB_SIZE) this.flush();
  }

  /**
   * The batch loop: the shape of a plain packing loop (header, then payload, into a 64 KiB buffer, written
   * when full), with the slab state in locals. A full slab is written at once (see #append); the rest goes at
   * the end of the tick.
   */
  #appendBatch(messages: readonly Uint8Array[]): void {
    const count = messages.length;
    let bytes = this.#slab.bytes;
    let capacity = bytes.length;
    // The run of frames packed since `start` in the current slab is added to the batch's bytes in one go.
    let start = this.#slabEnd;
    let end = start;
    for (let i = 0; i < count; i++) {
      const message = messages[i]!;
      const size = message.length;
      const next = end + HEADER_SIZE + size;
      if (next <= capacity && size <= COPY_LIMIT) {
        bytes[end] = size >>> 24;
        bytes[end + 1] = (size >>> 16) & 0xff;
        bytes[end + 2] = (size >>> 8) & 0xff;
        bytes[end + 3] = size & 0xff;
        bytes.set(message, end + HEADER_SIZE);
        end = next;
        continue;
      }
      // The slab is full, or the message is large: settle the state, take the ordinary path, reload. A
      // full slab is written now, alone (one write per 64 KiB, as a plain packing loop does).
      this.#slabEnd = end;
      this.#batchBytes += end - start;
      if (size <= COPY_LIMIT && this.#batchBytes > 0) this.flush();
      this.#append(message);
      bytes = this.#slab.bytes;
      capacity = bytes.length;
      start = this.#slabEnd;
      end = start;
    }
    this.#slabEnd = end;
    this.#batchBytes += end - start;
    if (this.#batchBytes >= SLAB_SIZE) this.flush();
    else this.#schedule();
  }

  #appendSmall(message: Uint8Array): void {
    const size = message.length;
    const need = HEADER_SIZE + size;
    if (this.#slab.bytes.byteLength - this.#slabEnd < need) this.#newSlab(need);
    const slab = this.#slab.bytes;
    const at = this.#slabEnd;
    writeHeader(slab, at, size);
    slab.set(message, at + HEADER_SIZE);
    this.#slabEnd = at + need;
    this.#batchBytes += need;
    this.#schedule();
  }

  #appendLarge(message: Uint8Array): void {
    if (this.#slab.bytes.byteLength - this.#slabEnd < HEADER_SIZE) this.#newSlab(HEADER_SIZE);
    writeHeader(this.#slab.bytes, this.#slabEnd, message.length);
    this.#slabEnd += HEADER_SIZE;
    this.#cut();
    this.#chunks.push(message);
    this.#batchBytes += HEADER_SIZE + message.length;
    this.#schedule();
  }

  /** Moves the open slab region into the batch's chunks. */
  #cut(): void {
    if (this.#slabEnd > this.#slabStart) {
      const slab = this.#slab;
      this.#chunks.push(slab.bytes.subarray(this.#slabStart, this.#slabEnd));
      slab.pending++;
      this.#batchSlabs.push(slab);
      this.#slabStart = this.#slabEnd;
    }
  }

  /**
   * Moves on to another slab: a written-out one if there is one, else a new one. The old slab's bytes
   * stay untouched until every region given to `write()` is written.
   */
  #newSlab(need: number): void {
    this.#cut();
    const old = this.#slab;
    old.retired = true;
    if (old.pending === 0) this.#recycle(old);
    const reuse = need <= SLAB_SIZE ? this.#freeSlabs.pop() : undefined;
    if (reuse !== undefined) reuse.retired = false;
    this.#slab = reuse ?? { bytes: Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, need)), pending: 0, retired: false };
    this.#slabStart = 0;
    this.#slabEnd = 0;
  }

  /** One region of `slab` has been written. */
  #release(slab: Slab): void {
    slab.pending--;
    if (slab.pending === 0 && slab.retired) this.#recycle(slab);
  }

  #recycle(slab: Slab): void {
    if (slab.bytes.byteLength === SLAB_SIZE && this.#freeSlabs.length < FREE_SLABS) this.#freeSlabs.push(slab);
  }

  /** Accepts waiting sends while there is room. */
  #pump(): void {
    while (this.#waiting.length > 0 && this.#error === undefined && this.bufferedBytes < this.#highWaterMark) {
      const entry = this.#waiting.shift()!;
      if (entry.message !== undefined) this.#append(entry.message);
      else this.#appendBatch(entry.batch!);
      entry.resolve();
    }
    this.#endIfDone();
  }

  #endIfDone(): void {
    if (!this.#ending || this.#waiting.length > 0 || this.#endCallback === undefined) return;
    const callback = this.#endCallback;
    this.#endCallback = undefined;
    this.flush();
    if (this.#error !== undefined) {
      callback(this.#error as Error);
      return;
    }
    this.#writable.end(callback);
  }
}
