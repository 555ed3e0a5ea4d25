/**
 * A seqlock (docs/guide.md#torn-reads-and-the-seqlock; the bytes: docs/wire.md §5.4), for a shared struct: one
 * writer, many readers, and readers never block the writer. The writer makes the sequence number odd, updates,
 * and makes it even again; a reader copies the struct and keeps the copy only if the number was even and
 * unchanged across the copy.
 *
 * Layout: a u32 sequence number at offset 0, the struct at offset 8 (or at its alignment, if larger).
 */
import { ClosedError, InvalidArgumentError, TimeoutError, checkTimeout } from "@ipc/core";
import type { Fields, StructLayout, StructValue, StructView } from "./layout.js";
import type { SharedMemory } from "./segment.js";

/** Options of {@link SeqLock.read}. */
export interface SeqReadOptions {
  /**
   * Milliseconds to keep retrying while updates overlap the copy, before `TimeoutError` (a writer that
   * died mid-update leaves the lock odd forever). Default: 1 000.
   */
  readonly timeout?: number | undefined;
}

/** A struct guarded by a sequence number, in a segment. */
export class SeqLock<F extends Fields> {
  readonly #memory: SharedMemory;
  readonly #layout: StructLayout<F>;
  readonly #sequence: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #view: StructView<F>;
  readonly #copy: ArrayBuffer;

  /** Bytes a seqlock over `layout` takes in a segment. */
  static sizeOf(layout: StructLayout): number {
    return SeqLock.#dataOffset(layout) + layout.size;
  }

  static #dataOffset(layout: StructLayout): number {
    return Math.max(8, layout.align);
  }

  /** The seqlock at `byteOffset` of `memory`'s data (aligned to 8, or the struct's alignment). */
  constructor(memory: SharedMemory, byteOffset: number, layout: StructLayout<F>) {
    const data = SeqLock.#dataOffset(layout);
    if (byteOffset % data !== 0 || byteOffset + SeqLock.sizeOf(layout) > memory.size) {
      throw new InvalidArgumentError(`a seqlock over this struct needs ${SeqLock.sizeOf(layout)} bytes at a ${data}-byte aligned offset`);
    }
    this.#memory = memory;
    this.#layout = layout;
    this.#sequence = new Int32Array(memory.buffer, byteOffset, 1);
    this.#bytes = new Uint8Array(memory.buffer, byteOffset + data, layout.size);
    this.#view = layout.view(memory.buffer, byteOffset + data);
    this.#copy = new ArrayBuffer(layout.size);
  }

  /** Updates the struct (there must be one writer at a time: guard writers with a Mutex if there are several). */
  write(update: (view: StructView<F>) => void): void {
    this.#check();
    Atomics.add(this.#sequence, 0, 1); // odd: an update is in progress
    try {
      update(this.#view);
    } finally {
      Atomics.add(this.#sequence, 0, 1); // even again
    }
  }

  /** A consistent copy of the struct, taken without blocking the writer. */
  read(options?: SeqReadOptions): StructValue<F> {
    checkTimeout(options?.timeout, "seqlock read");
    const timeout = options?.timeout ?? 1000;
    const end = performance.now() + timeout;
    const copy = new Uint8Array(this.#copy);
    for (;;) {
      this.#check();
      const before = Atomics.load(this.#sequence, 0);
      if ((before & 1) === 0) {
        copy.set(this.#bytes);
        if (Atomics.load(this.#sequence, 0) === before) return this.#layout.view(this.#copy).snapshot();
      }
      if (performance.now() > end) {
        throw new TimeoutError(`seqlock read timed out after ${timeout} ms: an update never finished (did its writer die?)`, timeout);
      }
    }
  }

  /** The sequence number: how many updates started, times two (odd while one is in progress). */
  get sequence(): number {
    return Atomics.load(this.#sequence, 0) >>> 0;
  }

  #check(): void {
    if (this.#memory.closed) throw new ClosedError(`the seqlock's segment '${this.#memory.name}' is closed`);
  }
}
