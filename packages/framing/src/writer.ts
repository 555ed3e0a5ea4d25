/**
 * The sending side: frames go out in batches. Small messages are copied, header and payload together,
 * into a slab, so the sends of one tick leave in one `write()`; large ones are not copied but written
 * with their header in the same `writev` (cork/uncork). The bytes accepted and not yet written are
 * bounded by the high-water mark: beyond it, `send()` waits, in order, and a send whose deadline expires
 * while waiting is withdrawn (never sent).
 */
import type { Writable } from "node:stream";
import { wait, type SendOptions } from "@ipc/core";
import { HEADER_SIZE, writeHeader } from "./encoder.js";

/** Messages up to this size are copied into the batch; larger ones are written from the caller's array. */
const COPY_LIMIT = 16 * 1024;
/** The size of a batch slab: the usual unit of one `write()`. */
const SLAB_SIZE = 64 * 1024;

const RESOLVED = Promise.resolve();

interface WaitingSend {
  readonly message: Uint8Array;
  resolve(): void;
  reject(error: unknown): void;
}

/** Writes frames to a Node `Writable`, batching small ones and honouring its backpressure. */
export class FrameWriter {
  readonly #writable: Writable;
  readonly #highWaterMark: number;
  #slab: Uint8Array = new Uint8Array(0);
  #slabStart = 0;
  #slabEnd = 0;
  /** Pieces of the current batch before the open slab region: cut slab regions and large payloads. */
  #chunks: Uint8Array[] = [];
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
    return wait<void>("send", options, (resolve, reject) => {
      const entry: WaitingSend = { message, resolve, reject };
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
    const bytes = this.#batchBytes;
    this.#batchBytes = 0;
    this.#inFlight += bytes;
    const done = (error?: Error | null): void => {
      this.#inFlight -= bytes;
      // On error, the stream's 'error' event (or the abort that caused it) fails the connection.
      if (!error) this.#pump();
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
    if (message.byteLength > COPY_LIMIT) this.#appendLarge(message);
    else this.#appendSmall(message);
  }

  #appendSmall(message: Uint8Array): void {
    const size = message.byteLength;
    const need = HEADER_SIZE + size;
    if (this.#slab.byteLength - this.#slabEnd < need) this.#newSlab(need);
    const slab = this.#slab;
    const at = this.#slabEnd;
    writeHeader(slab, at, size);
    if (size <= 16) {
      for (let i = 0; i < size; i++) slab[at + HEADER_SIZE + i] = message[i]!;
    } else {
      slab.set(message, at + HEADER_SIZE);
    }
    this.#slabEnd = at + need;
    this.#batchBytes += need;
    this.#schedule();
  }

  #appendLarge(message: Uint8Array): void {
    if (this.#slab.byteLength - this.#slabEnd < HEADER_SIZE) this.#newSlab(HEADER_SIZE);
    writeHeader(this.#slab, this.#slabEnd, message.byteLength);
    this.#slabEnd += HEADER_SIZE;
    this.#cut();
    this.#chunks.push(message);
    this.#batchBytes += HEADER_SIZE + message.byteLength;
    this.#schedule();
  }

  /** Moves the open slab region into the batch's chunks. */
  #cut(): void {
    if (this.#slabEnd > this.#slabStart) {
      this.#chunks.push(this.#slab.subarray(this.#slabStart, this.#slabEnd));
      this.#slabStart = this.#slabEnd;
    }
  }

  /** Starts a fresh slab; the old one stays referenced by the batch until it is written. */
  #newSlab(need: number): void {
    this.#cut();
    this.#slab = new Uint8Array(Math.max(SLAB_SIZE, need));
    this.#slabStart = 0;
    this.#slabEnd = 0;
  }

  /** Accepts waiting sends while there is room. */
  #pump(): void {
    while (this.#waiting.length > 0 && this.#error === undefined && this.bufferedBytes < this.#highWaterMark) {
      const entry = this.#waiting.shift()!;
      this.#append(entry.message);
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
