/**
 * A single-producer, single-consumer ring of variable-length messages across processes
 * (docs/guide.md#the-message-ring-and-futex-wake-ups; the bytes: docs/wire.md §5.5). Pure JavaScript over the
 * mapping — no system call per message. docs/wire.md specifies every byte, so a C program can produce into or
 * consume from it.
 *
 * The control words before the data: ring-layout.ts. After them, `capacity` bytes of records:
 * A record starts 8-aligned: u32 payload length, u32 flags (1 = padding to the end of the data, skip it;
 * 2 = a chunk, more of the message follows; 4 = the producer finished), the payload, zero padding to 8.
 * A record (header included) is at most capacity/2 bytes; longer messages are chunked. The head moves
 * only after a record is complete, so a consumer never sees a torn one.
 *
 * The other side is not trusted (docs/wire.md §5.5, "What a side checks"): every word read from the ring —
 * the header at open, each head or tail the peer publishes, each record's length and flags — is checked
 * against what the protocol allows, and a violation fails this ring with a ProtocolError for good.
 */
import { ClosedError, InvalidArgumentError, MessageTooLargeError, ProtocolError, TimeoutError, abortError, checkTimeout } from "@ipc/core";
import { NotFoundError, PeerDiedError } from "./errors.js";
import { HEADER_VERSION, SegmentKind } from "./header.js";
import { alive } from "./liveness.js";
import * as native from "./native.js";
import {
  CAPACITY,
  CONSUMER_ASLEEP,
  CONSUMER_DONE,
  CONSUMER_PID,
  HEAD,
  PRODUCER_ASLEEP,
  PRODUCER_DONE,
  PRODUCER_PID,
  RING_HEADER,
  RING_VERSION,
  TAIL,
  VERSION,
  checkHeader,
  isCapacity,
  ringSize,
} from "./ring-layout.js";
import {
  FutexDoorbell,
  MISSES_BEFORE_BACKOFF,
  PROBE_ODDS,
  PROBE_STRETCH,
  type Doorbell,
  type RingWaitOptions,
  untilAborted,
  whileQueued,
} from "./ring-wait.js";
import { SharedMemory } from "./segment.js";

export { RING_HEADER, ringSize } from "./ring-layout.js";
export { FutexDoorbell, type Doorbell, type RingWaitOptions } from "./ring-wait.js";

const PAD = 1;
const MORE = 2;
const END = 4;

const align8 = (n: number): number => (n + 7) & ~7;
const RESOLVED = Promise.resolve();

/** Where a batch's writing stands: the next message, and the bytes of it already written (a chunked one). */
interface Cursor {
  index: number;
  at: number;
}

/** The caller of writeBatch(), told once its batch is accepted (or withdrawn). */
interface Acceptance {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Messages lent by {@link MessageRing.lendBatch} without a copy: message `i` is
 * `bytes[offsets[i], offsets[i] + lengths[i])`. `bytes` is the ring's memory (or, for a chunked message lent
 * alone, a copy), valid until the ring's `release()`.
 */
export interface LentRecords {
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
}

/** One end of a ring over `capacity + 320` bytes of a buffer. */
export class MessageRing implements Disposable, AsyncDisposable {
  /** Bytes of data (a power of two). */
  readonly capacity: number;
  /** The largest payload of one record; longer messages travel as several. */
  readonly maxRecord: number;
  readonly #words: Int32Array;
  readonly #i32: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #mask: number;
  readonly #doorbell: Doorbell;
  readonly #spin: number;
  readonly #failure: () => Error | undefined;
  readonly #closed: () => boolean;
  // Producer state: our head, and the last tail we saw.
  #head: number;
  #tailSeen: number;
  // Consumer state: our tail, the last head we saw, and where a viewed record ends.
  #tail: number;
  #headSeen: number;
  #released = -1;
  /** The payload length of the record at the tail, as checked by #check (read once from the ring). */
  #length = 0;
  /** The head this producer last published (the consumer's tail can never pass it). */
  #published: number;
  /** The ring's protocol was violated by the other side: every later use throws this. */
  #violation: ProtocolError | undefined;
  /** Spins in a row that ended in sleep anyway (see #adaptiveSpin). */
  #misses = 0;
  /** How long this side's waits took lately, µs (see #waited): a peer that takes 40 µs is spun for. */
  #typicalWait = 0;
  readonly #watchPeer: boolean;
  /** Whether this end has recorded its pid as the producer's / the consumer's (watchPeer only). */
  #producing = false;
  #consuming = false;
  /** write() and read() calls run one at a time, in call order (chunks of two messages never mix). */
  #writes: Promise<void> = Promise.resolve();
  #pendingWrites = 0;
  /** A write accepted earlier (a batch's rest) failed: the next write throws it. */
  #writeFailure: unknown;
  #reads: Promise<unknown> = Promise.resolve();
  #pendingReads = 0;

  /**
   * A ring at `byteOffset` of `buffer` (8-aligned). `init` writes a fresh header (capacity a power of two,
   * ≥ 64); otherwise the capacity is read from memory. `closed()` says the memory is gone (nothing may
   * touch it); `failure()` returns the error that ends waiting and writing (a peer gone) — what is
   * complete in the ring can still be read. `spin` is the default microseconds to spin before sleeping.
   * `watchPeer`: each side records its pid in the header, and a side that sleeps waiting for the other
   * checks, once per sleep slice (≤ 50 ms), that the other process still lives ({@link PeerDiedError}).
   */
  constructor(
    buffer: ArrayBuffer,
    byteOffset: number,
    options: {
      capacity?: number | undefined;
      init: boolean;
      doorbell: Doorbell;
      spin?: number | undefined;
      closed?: () => boolean;
      failure?: () => Error | undefined;
      watchPeer?: boolean;
    },
  ) {
    if (byteOffset % 64 !== 0) throw new InvalidArgumentError(`a ring must start at a 64-byte aligned offset, got ${byteOffset}`);
    this.#words = new Int32Array(buffer, byteOffset, RING_HEADER / 4);
    if (options.init) {
      const capacity = options.capacity ?? 0;
      if (!isCapacity(capacity)) {
        throw new InvalidArgumentError(`ring capacity must be a power of two from 64 to 2^30, got ${capacity}`);
      }
      if (byteOffset + ringSize(capacity) > buffer.byteLength) throw new InvalidArgumentError(`the ring's ${capacity} bytes do not fit the buffer`);
      this.#words.fill(0);
      this.#words[VERSION] = RING_VERSION;
      Atomics.store(this.#words, CAPACITY, capacity);
    }
    this.capacity = checkHeader(this.#words, byteOffset, buffer.byteLength, options.init ? undefined : options.capacity);
    this.maxRecord = this.capacity / 2 - 8;
    this.#mask = this.capacity - 1;
    this.#bytes = new Uint8Array(buffer, byteOffset + RING_HEADER, this.capacity);
    this.#i32 = new Int32Array(buffer, byteOffset + RING_HEADER, this.capacity / 4);
    this.#doorbell = options.doorbell;
    this.#spin = options.spin ?? 20;
    this.#failure = options.failure ?? (() => undefined);
    this.#closed = options.closed ?? (() => false);
    this.#watchPeer = options.watchPeer ?? false;
    // The producer starts at the head, the consumer at the tail; each then follows the other's counter
    // through #loadTail / #loadHead, which check every value it takes.
    this.#head = this.#published = Atomics.load(this.#words, HEAD) >>> 0;
    this.#tail = this.#headSeen = this.#tailSeen = Atomics.load(this.#words, TAIL) >>> 0;
    const used = (this.#head - this.#tail) >>> 0;
    if ((this.#head & 7) !== 0 || (this.#tail & 7) !== 0 || used > this.capacity) {
      throw new ProtocolError(`the ring's head (${this.#head}) and tail (${this.#tail}) are not 8-aligned positions at most ${this.capacity} bytes apart`);
    }
  }

  // --- checks of what the other side wrote (docs/wire.md §5.5) ----------------------------------

  /** Fails the ring for good: this and every later use throws the ProtocolError. */
  #corrupt(what: string): never {
    this.#violation ??= new ProtocolError(`the ring's other side broke the ring protocol: ${what}`);
    throw this.#violation;
  }

  /** The producer's head, checked: 8-aligned, ahead of the tail by at most `capacity`, never moving back. */
  #loadHead(): number {
    const head = Atomics.load(this.#words, HEAD) >>> 0;
    if (head !== this.#headSeen) {
      const ahead = (head - this.#tail) >>> 0;
      if ((head & 7) !== 0 || ahead > this.capacity || ahead < (this.#headSeen - this.#tail) >>> 0) {
        this.#corrupt(`head ${head} after ${this.#headSeen}, with the tail at ${this.#tail} and ${this.capacity} bytes of data`);
      }
    }
    return head;
  }

  /** The consumer's tail, checked: 8-aligned, only moving forward, never past what was published. */
  #loadTail(): number {
    const tail = Atomics.load(this.#words, TAIL) >>> 0;
    if (tail !== this.#tailSeen && ((tail & 7) !== 0 || (tail - this.#tailSeen) >>> 0 > (this.#published - this.#tailSeen) >>> 0)) {
      this.#corrupt(`tail ${tail} after ${this.#tailSeen}, with ${this.#published} published`);
    }
    return tail;
  }

  /**
   * Checks the record at `position` (before #headSeen) and returns its flags; its payload length is left
   * in #length. A record lies within what was published and within the data (it never wraps); a padding
   * record runs exactly to the end of the data; any other is at most maxRecord long (the end mark: 0);
   * flags are exactly one of 0, PAD, MORE, END.
   */
  #check(position: number): number {
    const index = position & this.#mask;
    const length = this.#i32[index >> 2]! >>> 0;
    const flags = this.#i32[(index >> 2) + 1]! >>> 0;
    const published = (this.#headSeen - position) >>> 0;
    let bad: string | undefined;
    if (flags === PAD) {
      if (index + 8 + length !== this.capacity || 8 + length > published) bad = "padding that does not run to the end of the data";
    } else if (flags !== 0 && flags !== MORE && flags !== END) {
      bad = `unknown flags 0x${flags.toString(16)}`;
    } else if (length > this.maxRecord || (flags === END && length !== 0)) {
      bad = `length ${length} (at most ${flags === END ? 0 : this.maxRecord})`;
    } else if (8 + align8(length) > published || index + 8 + length > this.capacity) {
      bad = `length ${length}, beyond the ${published} bytes published`;
    }
    if (bad !== undefined) this.#corrupt(`a record at position ${position} with ${bad}`);
    this.#length = length;
    return flags;
  }

  // --- producer ---------------------------------------------------------------------------------

  /** Bytes free for the producer right now. */
  get free(): number {
    this.#checkOpen();
    this.#tailSeen = this.#loadTail();
    return this.capacity - ((this.#head - this.#tailSeen) >>> 0);
  }

  /**
   * Writes one message of at most `maxRecord` bytes if it fits now; false if the ring is full. Never
   * waits, never makes a system call unless the consumer sleeps (then it rings once).
   */
  tryWrite(message: Uint8Array): boolean {
    this.#checkWritable();
    // `length`, not `byteLength`, in the per-message paths: on Node 20 (V8 11) that getter is not inlined
    // (12–17 ns a read against ~1 ns), as @ipc/core's ConnectionBase notes.
    if (message.length > this.maxRecord) {
      throw new MessageTooLargeError(message.length, this.maxRecord, { cause: "use write() for messages longer than one record" });
    }
    if (this.#pendingWrites > 0 || !this.#put(message, 0)) return false; // never ahead of a waiting write()
    this.#publish();
    return true;
  }

  /**
   * Writes as many of `messages` (each at most `maxRecord` bytes), in order, as fit now, and publishes
   * them at once: one release store and one check of the consumer's sleep flag for the whole batch. The
   * fast way to send many small messages. Returns how many were written (the rest did not fit).
   */
  tryWriteBatch(messages: readonly Uint8Array[]): number {
    this.#checkWritable();
    if (this.#pendingWrites > 0) return 0;
    let written = 0;
    for (const message of messages) {
      if (message.length > this.maxRecord) {
        if (written > 0) this.#publish();
        throw new MessageTooLargeError(message.length, this.maxRecord, { cause: `message ${written} of the batch is longer than one record` });
      }
      if (!this.#put(message, 0)) break;
      written++;
    }
    if (written > 0) this.#publish();
    return written;
  }

  /**
   * Writes a message of any size, waiting for room (backpressure); a long one goes in chunks. Calls are
   * served in order. `signal`/`timeout` bound the wait (behind earlier writes, then for room) until its
   * first record is in the ring; from then on the rest of the message follows whatever they say (a message
   * is never cut short), and the promise resolves once all of it is in.
   */
  write(message: Uint8Array, options?: RingWaitOptions): Promise<void> {
    checkTimeout(options?.timeout, "ring write");
    return new Promise((resolve, reject) => this.#queueWrite([message], { index: 0, at: 0 }, options, { resolve, reject }, false));
  }

  /**
   * Writes `messages` in order, after every earlier write: all records that fit now go in with one release
   * store of the head and one check of the consumer's sleep flag (so at most one doorbell for the batch).
   * Resolves once the batch is **accepted**: its first record is in the ring. From then on the rest of the
   * batch is committed — the ring holds the arrays by reference and writes them, in order and before any
   * later write, as the consumer frees room, whatever `signal`/`timeout` say — so a batch is never split by a
   * wait that ends. If the wait (behind earlier writes, then for room for its first record) ends first
   * (signal, timeout), nothing of the batch was written and it rejects: withdrawn whole. A failure of the
   * ring after acceptance (its memory gone, a protocol violation, a dead peer) rejects the next write,
   * writeBatch or finish. Do not modify the arrays until a later write resolved.
   */
  writeBatch(messages: readonly Uint8Array[], options?: RingWaitOptions): Promise<void> {
    checkTimeout(options?.timeout, "ring write");
    try {
      this.#checkWritable();
      if (messages.length === 0) return RESOLVED;
      const cursor = { index: 0, at: 0 };
      if (this.#pendingWrites === 0 && this.#putBatch(messages, cursor)) {
        // Accepted now: what did not fit follows on its own.
        if (cursor.index < messages.length) this.#queueWrite(messages, cursor, undefined, undefined, true);
        return RESOLVED;
      }
      return new Promise((resolve, reject) => this.#queueWrite(messages, cursor, options, { resolve, reject }, true));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Queues the writing of `messages` from `cursor` behind every earlier write. `caller` (none for the rest of
   * a batch accepted already) is told once the first record is in (`acceptOnly`) or the last one, or why not:
   * `options` bound its wait until the first record is in — also while it waits behind earlier writes, where a
   * write that ends so is skipped when its turn comes.
   */
  #queueWrite(
    messages: readonly Uint8Array[],
    cursor: Cursor,
    options: RingWaitOptions | undefined,
    caller: Acceptance | undefined,
    acceptOnly: boolean,
  ): void {
    const end = options?.timeout === undefined ? Infinity : performance.now() + options.timeout;
    const { index, at } = cursor;
    let settled = false;
    const settle: Acceptance = {
      resolve: () => {
        if (settled) return;
        settled = true;
        caller?.resolve();
      },
      reject: (error) => {
        if (settled) return;
        settled = true;
        caller?.reject(error);
      },
    };
    this.#pendingWrites++;
    let started = false;
    const queued = this.#pendingWrites > 1 && caller !== undefined ? whileQueued(options, end, (error) => started || settle.reject(error)) : undefined;
    const turn = this.#writes.then(() => {
      started = true;
      queued?.();
      if (settled) return; // withdrawn while it waited behind earlier writes
      return this.#writeFrom(messages, cursor, options, end, acceptOnly ? settle : undefined);
    });
    this.#writes = turn.then(
      () => {
        this.#pendingWrites--;
        settle.resolve();
      },
      (error: unknown) => {
        this.#pendingWrites--;
        settle.reject(error);
        // Cut short after part of it was written (or after it was accepted): the stream in the ring is
        // incomplete, so no later write may follow it.
        if (caller === undefined || cursor.index !== index || cursor.at !== at) this.#writeFailure ??= error;
      },
    );
  }

  async #writeFrom(
    messages: readonly Uint8Array[],
    cursor: Cursor,
    options: RingWaitOptions | undefined,
    end: number,
    accepted: Acceptance | undefined,
  ): Promise<void> {
    this.#checkWritable();
    while (cursor.index < messages.length) {
      if (this.#putBatch(messages, cursor)) {
        // The first record is in: the rest is committed, and no longer waits under the caller's options.
        accepted?.resolve();
        accepted = undefined;
        options = undefined;
        end = Infinity;
        continue;
      }
      const left = messages[cursor.index]!.byteLength - cursor.at;
      const length = Math.min(left, this.maxRecord);
      await this.#waitFor(() => this.#fits(length), PRODUCER_ASLEEP, end, options);
    }
  }

  /**
   * Writes as many records of `messages` from `cursor` (a message index, and a byte offset into a chunked
   * message) as fit now, moves the cursor past them, and publishes them at once. False if none fit.
   */
  #putBatch(messages: readonly Uint8Array[], cursor: Cursor): boolean {
    if (!this.#producing) this.#claim(PRODUCER_PID);
    const max = this.maxRecord;
    const capacity = this.capacity;
    const mask = this.#mask;
    const i32 = this.#i32;
    const bytes = this.#bytes;
    const count = messages.length;
    const first = cursor.index;
    const firstAt = cursor.at;
    let i = first;
    let head = this.#head;
    let room = capacity - ((head - this.#tailSeen) >>> 0);
    while (i < count) {
      const message = messages[i]!;
      const length = message.length; // see tryWrite
      if (cursor.at !== 0 || length > max) {
        // A chunked message: record by record, the long way.
        this.#head = head;
        const left = length - cursor.at;
        const more = left > max;
        if (!this.#put(message.subarray(cursor.at, more ? cursor.at + max : length), more ? MORE : 0)) break;
        if (more) cursor.at += max;
        else {
          cursor.at = 0;
          i++;
        }
        head = this.#head;
        room = capacity - ((head - this.#tailSeen) >>> 0);
        continue;
      }
      // The common case inline (what #put does): a whole message in one record.
      const record = 8 + ((length + 7) & ~7);
      let index = head & mask;
      const pad = capacity - index < record ? capacity - index : 0;
      if (record + pad > room) {
        this.#tailSeen = this.#loadTail();
        room = capacity - ((head - this.#tailSeen) >>> 0);
        if (record + pad > room) break;
      }
      if (pad !== 0) {
        i32[index >> 2] = pad - 8;
        i32[(index >> 2) + 1] = PAD;
        head = (head + pad) >>> 0;
        room -= pad;
        index = 0;
      }
      i32[index >> 2] = length;
      i32[(index >> 2) + 1] = 0;
      if (length !== 0) bytes.set(message, index + 8);
      head = (head + record) >>> 0;
      room -= record;
      i++;
    }
    this.#head = head;
    cursor.index = i;
    const wrote = i !== first || cursor.at !== firstAt;
    if (wrote) this.#publish();
    return wrote;
  }

  /** Before writing: the ring is usable, and no write accepted earlier failed. */
  #checkWritable(): void {
    this.#checkOpen();
    if (this.#writeFailure !== undefined) throw this.#writeFailure;
  }

  /** Marks the end, after every write() before it: the consumer reads everything, then `undefined`. */
  finish(options?: RingWaitOptions): Promise<void> {
    this.#pendingWrites++;
    const turn = this.#writes.then(() => this.#finish(options));
    this.#writes = turn.then(
      () => void this.#pendingWrites--,
      () => void this.#pendingWrites--,
    );
    return turn;
  }

  async #finish(options: RingWaitOptions | undefined): Promise<void> {
    const end = options?.timeout === undefined ? Infinity : performance.now() + options.timeout;
    this.#checkWritable();
    while (!this.#put(new Uint8Array(0), END)) {
      this.#publish();
      await this.#waitFor(() => this.#fits(0), PRODUCER_ASLEEP, end, options);
    }
    Atomics.store(this.#words, PRODUCER_DONE, 1);
    this.#publish();
  }

  #fits(length: number): boolean {
    const index = this.#head & this.#mask;
    const need = 8 + align8(length) + (this.capacity - index < 8 + align8(length) ? this.capacity - index : 0);
    return need <= this.free;
  }

  /** Writes one record (without publishing it); false if it does not fit. */
  #put(payload: Uint8Array, flags: number): boolean {
    if (!this.#producing) this.#claim(PRODUCER_PID);
    const length = payload.length; // see tryWrite
    const record = 8 + align8(length);
    let index = this.#head & this.#mask;
    const pad = this.capacity - index < record ? this.capacity - index : 0;
    if (((this.#head - this.#tailSeen) >>> 0) + record + pad > this.capacity) {
      this.#tailSeen = this.#loadTail();
      if (((this.#head - this.#tailSeen) >>> 0) + record + pad > this.capacity) return false;
    }
    if (pad !== 0) {
      this.#i32[index >> 2] = pad - 8;
      this.#i32[(index >> 2) + 1] = PAD;
      this.#head = (this.#head + pad) >>> 0;
      index = 0;
    }
    this.#i32[index >> 2] = length;
    this.#i32[(index >> 2) + 1] = flags;
    if (length !== 0) this.#bytes.set(payload, index + 8);
    this.#head = (this.#head + record) >>> 0;
    return true;
  }

  /** Makes written records visible, and wakes the consumer if it sleeps. */
  #publish(): void {
    this.#published = this.#head;
    Atomics.store(this.#words, HEAD, this.#head | 0);
    if (Atomics.load(this.#words, CONSUMER_ASLEEP) !== 0 && Atomics.compareExchange(this.#words, CONSUMER_ASLEEP, 1, 0) === 1) {
      this.#doorbell.ring(this.#words, CONSUMER_ASLEEP);
    }
  }

  // --- consumer ---------------------------------------------------------------------------------

  /** True if a record is ready for the consumer. */
  get readable(): boolean {
    if (this.#violation !== undefined) throw this.#violation;
    if (this.#tail !== this.#headSeen) return true;
    if (!this.#consuming) this.#claim(CONSUMER_PID);
    this.#headSeen = this.#loadHead();
    return this.#tail !== this.#headSeen;
  }

  /**
   * The next message, copied out (yours to keep); `undefined` if none is complete yet; `null` once the
   * producer finished and everything was read. Never waits.
   */
  tryRead(): Uint8Array | undefined | null {
    if (this.#pendingReads > 0) throw new InvalidArgumentError("a read() is waiting on this ring: one reader at a time");
    this.#checkMapped();
    if (this.#released !== -1) throw new InvalidArgumentError("release() the previous view before reading again");
    if (this.#parts.length > 0) return undefined; // a chunked message half taken by read(): only read() goes on
    const flags = this.#nextFlags();
    if (flags === -1) return undefined;
    if (flags & END) return null;
    if (flags & MORE) {
      const message = this.#assemble();
      if (message !== undefined) this.release(); // assembled into a copy already: wake the producer if it waits
      return message;
    }
    // One record: copied straight out of the ring (no view made first), then its space freed.
    const index = this.#tail & this.#mask;
    const length = this.#length;
    const copy = this.#bytes.slice(index + 8, index + 8 + length);
    this.#tail = (this.#tail + 8 + align8(length)) >>> 0;
    this.release();
    return copy;
  }

  /**
   * The next message without copying: a view into the ring, valid until {@link MessageRing.release}
   * (which must come before the next read). A message that came in chunks is assembled into a copy.
   * `undefined` if none is complete yet; `null` once the producer finished.
   */
  readView(): Uint8Array | undefined | null {
    if (this.#pendingReads > 0) throw new InvalidArgumentError("a read() is waiting on this ring: one reader at a time");
    return this.#viewNow();
  }

  #viewNow(): Uint8Array | undefined | null {
    this.#checkMapped();
    if (this.#released !== -1) throw new InvalidArgumentError("release() the previous view before reading again");
    if (this.#parts.length > 0) return undefined; // a chunked message half taken by read(): only read() goes on
    const flags = this.#nextFlags();
    if (flags === -1) return undefined;
    if (flags & END) return null;
    if (flags & MORE) return this.#assemble();
    return this.#lendTail();
  }

  /** Skips padding records: the flags of the record at the tail, or -1 if none is ready. */
  #nextFlags(): number {
    for (;;) {
      if (!this.readable) return -1;
      const flags = this.#check(this.#tail);
      if (flags !== PAD) return flags;
      this.#tail = (this.#tail + 8 + this.#length) >>> 0;
    }
  }

  /** A view of the payload of the record at the tail, lent until release(). */
  #lendTail(): Uint8Array {
    const index = this.#tail & this.#mask;
    const length = this.#length;
    this.#released = (this.#tail + 8 + align8(length)) >>> 0;
    return this.#bytes.subarray(index + 8, index + 8 + length);
  }

  /** Frees the record of the last {@link MessageRing.readView} for the producer. */
  release(): void {
    if (this.#released !== -1) {
      this.#tail = this.#released;
      this.#released = -1;
    }
    Atomics.store(this.#words, TAIL, this.#tail | 0);
    if (Atomics.load(this.#words, PRODUCER_ASLEEP) !== 0 && Atomics.compareExchange(this.#words, PRODUCER_ASLEEP, 1, 0) === 1) {
      this.#doorbell.ring(this.#words, PRODUCER_ASLEEP);
    }
  }

  /**
   * Hands every complete message to `handler` in order (at most `max`), then frees their space at once:
   * one release store for the batch, no allocation per message. `handler` gets the ring's own bytes
   * with the message at `data[offset, offset + length)`, valid only while it runs (copy what you keep);
   * a chunked message is assembled into a copy first. A message whose handler throws counts as read;
   * the error propagates. Stops at the producer's end mark (a later {@link MessageRing.tryRead} returns
   * `null`), and before a message longer than the ring (only {@link MessageRing.read} can take those).
   * Returns how many messages were handled; never waits.
   */
  drain(handler: (data: Uint8Array, offset: number, length: number) => void, max = Infinity): number {
    this.#checkMapped();
    if (this.#released !== -1) throw new InvalidArgumentError("release() the previous view before reading again");
    if (this.#pendingReads > 0) throw new InvalidArgumentError("a read() is waiting on this ring: one reader at a time");
    let handled = 0;
    try {
      while (handled < max) {
        const flags = this.#nextFlags();
        if (flags === -1 || flags & END) break;
        if (flags & MORE) {
          const message = this.#assemble();
          if (message === undefined) break;
          handled++;
          handler(message, 0, message.byteLength);
          continue;
        }
        const index = this.#tail & this.#mask;
        const length = this.#length;
        this.#tail = (this.#tail + 8 + align8(length)) >>> 0;
        handled++;
        handler(this.#bytes, index + 8, length);
      }
    } finally {
      this.release();
    }
    return handled;
  }

  /**
   * Takes every complete message at the tail, in order, and frees their space at once: one release store of
   * the tail and one check of the producer's sleep flag for the batch. The messages are copied out into one
   * new buffer — one allocation, and one copy per contiguous run of records, not per message — and each is a
   * view of it (so a kept message keeps the batch's buffer alive). Appends to `out`, at most `maxMessages`
   * messages and `maxBytes` payload bytes (the first message is taken whatever its size when `out` is
   * empty); stops before a record longer than `maxLength` unless `out` is empty (the caller refuses that
   * one). A chunked message is taken only first, assembled into a copy, and alone. Returns how many it
   * appended; `null` if `out` is empty and the producer's end mark is next. Never waits.
   */
  tryReadBatch(out: Uint8Array[], maxMessages = Infinity, maxBytes = Infinity, maxLength = Infinity): number | null {
    if (this.#pendingReads > 0) throw new InvalidArgumentError("a read() is waiting on this ring: one reader at a time");
    return this.#takeBatch(out, maxMessages, maxBytes, maxLength);
  }

  #takeBatch(out: Uint8Array[], maxMessages: number, maxBytes: number, maxLength: number): number | null {
    this.#checkMapped();
    if (this.#released !== -1) throw new InvalidArgumentError("release() the previous view before reading again");
    if (this.#parts.length > 0) return 0; // a chunked message half taken by read(): only read() goes on
    let records: Int32Array = this.#records;
    const runs = this.#runs;
    let count = 0;
    let bytes = 0;
    let runFrom = -1;
    let runTo = -1;
    let runAt = 0; // where the current run starts in the batch's buffer
    const startTail = this.#tail;
    const i32 = this.#i32;
    const mask = this.#mask;
    const maxRecord = this.maxRecord;
    const capacity = this.capacity;
    while (count < maxMessages) {
      // The common case inline: whole messages (flags 0) within what was published; anything else (padding,
      // a chunk, the end, a record to check for a violation, the end of what was published) goes the long way.
      let tail = this.#tail;
      const head = this.#headSeen;
      while (count < maxMessages && tail !== head) {
        const index = tail & mask;
        const word = index >> 2;
        if (i32[word + 1] !== 0) break;
        const length = i32[word]! >>> 0;
        const size = 8 + ((length + 7) & ~7);
        if (length > maxRecord || size > (head - tail) >>> 0 || index + 8 + length > capacity) break;
        if ((count > 0 || out.length > 0) && (bytes + length > maxBytes || length > maxLength)) break;
        if (index !== runTo) {
          if (runFrom !== -1) {
            runs.push(runFrom, runTo);
            runAt += runTo - runFrom;
          }
          runFrom = index;
        }
        runTo = index + size;
        if (2 * count + 2 > records.length) records = this.#growRecords();
        records[2 * count] = runAt + index - runFrom + 8;
        records[2 * count + 1] = length;
        bytes += length;
        count++;
        tail = (tail + size) >>> 0;
      }
      this.#tail = tail;
      if (count >= maxMessages) break;
      const flags = this.#nextFlags();
      if (flags === -1) break;
      if (flags & END) {
        if (count === 0 && out.length === 0) return null;
        break;
      }
      if (flags & MORE) {
        if (count > 0 || out.length > 0) break;
        const message = this.#assemble();
        if (message === undefined) break;
        out.push(message);
        this.release();
        return 1;
      }
      const length = this.#length;
      if ((count > 0 || out.length > 0) && (bytes + length > maxBytes || length > maxLength)) break;
      const index = this.#tail & this.#mask;
      const size = 8 + align8(length);
      if (index !== runTo) {
        if (runFrom !== -1) {
          runs.push(runFrom, runTo);
          runAt += runTo - runFrom;
        }
        runFrom = index;
      }
      runTo = index + size;
      if (2 * count + 2 > records.length) records = this.#growRecords();
      records[2 * count] = runAt + index - runFrom + 8;
      records[2 * count + 1] = length;
      bytes += length;
      count++;
      this.#tail = (this.#tail + size) >>> 0;
    }
    if (count > 0) {
      runs.push(runFrom, runTo);
      const buffer = new Uint8Array(runAt + runTo - runFrom);
      for (let i = 0, at = 0; i < runs.length; i += 2) {
        buffer.set(this.#bytes.subarray(runs[i]!, runs[i + 1]!), at);
        at += runs[i + 1]! - runs[i]!;
      }
      const array = buffer.buffer;
      for (let i = 0; i < 2 * count; i += 2) out.push(new Uint8Array(array, records[i]!, records[i + 1]!));
      runs.length = 0;
    }
    if (this.#tail !== startTail) this.release();
    return count;
  }

  /**
   * Lends every complete message at the tail that lies in one stretch of the data, without copying: `bytes`
   * is a view of the ring over those records, and message `i` is `bytes[offsets[i], offsets[i] + lengths[i])`,
   * valid until {@link MessageRing.release} (which must come before the next read, and gives all their space
   * back at once). A batch ends where the data wraps, before a padding record, a chunked message or the end
   * mark, and within `maxMessages`/`maxBytes`/`maxLength` as {@link MessageRing.tryReadBatch} (the first
   * message is lent whatever its length: the caller refuses one too long). A chunked message first is
   * assembled into a copy and lent alone (its space is free already). Every record lent was checked as
   * {@link MessageRing.tryReadBatch} checks it. `undefined` if no message is complete; `null` at the end.
   * Never waits.
   */
  lendBatch(maxMessages = Infinity, maxBytes = Infinity, maxLength = Infinity): LentRecords | undefined | null {
    if (this.#pendingReads > 0) throw new InvalidArgumentError("a read() is waiting on this ring: one reader at a time");
    return this.#lendNow(maxMessages, maxBytes, maxLength);
  }

  #lendNow(maxMessages: number, maxBytes: number, maxLength: number): LentRecords | undefined | null {
    this.#checkMapped();
    if (this.#released !== -1) throw new InvalidArgumentError("release() the previous view before reading again");
    if (this.#parts.length > 0) return undefined; // a chunked message half taken by read(): only read() goes on
    const flags = this.#nextFlags(); // skips padding; checks the first record whole
    if (flags === -1) return undefined;
    if (flags & END) return null;
    if (flags & MORE) {
      const message = this.#assemble();
      return message === undefined ? undefined : lentAlone(message);
    }
    const startTail = this.#tail;
    const head = (this.#headSeen = this.#loadHead());
    const i32 = this.#i32;
    const mask = this.#mask;
    const maxRecord = this.maxRecord;
    const capacity = this.capacity;
    const start = startTail & mask;
    let offsets = this.#lentOffsets;
    let lengths = this.#lentLengths;
    let tail = startTail;
    let count = 0;
    let bytes = 0;
    // What #check asks of a whole message (flags 0), inline; anything else ends the batch, and the next lend
    // meets it through #nextFlags (which checks it, and fails the ring on a violation).
    while (count < maxMessages && tail !== head) {
      const index = tail & mask;
      if (index === 0 && count > 0) break; // the data wrapped: the rest is another stretch
      const word = index >> 2;
      if (i32[word + 1] !== 0) break;
      const length = i32[word]! >>> 0;
      const size = 8 + ((length + 7) & ~7);
      if (length > maxRecord || size > (head - tail) >>> 0 || index + 8 + length > capacity) break;
      if (count > 0 && (bytes + length > maxBytes || length > maxLength)) break;
      if (count === offsets.length) {
        offsets = this.#lentOffsets = grow(offsets);
        lengths = this.#lentLengths = grow(lengths);
      }
      offsets[count] = index + 8 - start;
      lengths[count] = length;
      bytes += length;
      count++;
      tail = (tail + size) >>> 0;
    }
    // The first record passed #check, so the loop took it unless the head it reloaded is corrupt (thrown above).
    this.#released = tail;
    return {
      bytes: this.#bytes.subarray(start, start + ((tail - startTail) >>> 0)),
      offsets: offsets.slice(0, count),
      lengths: lengths.slice(0, count),
    };
  }

  /** Scratch of lendBatch: the lent messages' offsets and lengths (copied out per batch), grown as needed. */
  #lentOffsets: Uint32Array = new Uint32Array(1024);
  #lentLengths: Uint32Array = new Uint32Array(1024);

  /**
   * {@link MessageRing.lendBatch}, waiting (spin, then sleep, like read()) after every earlier read, until a
   * message or the end is there: the lent records, or `null` at the end. A message longer than the ring is
   * assembled as its chunks arrive (`maxLength` bounds it, MessageTooLargeError) and lent alone, as a copy.
   */
  lendBatchWaiting(maxMessages: number, maxBytes: number, maxLength: number, options?: RingWaitOptions): Promise<LentRecords | null> {
    return this.#queueRead(options, async (end) => {
      for (;;) {
        const lent = this.#lendNow(maxMessages, maxBytes, maxLength);
        if (lent !== undefined) return lent;
        if (this.#parts.length > 0 || this.readable) {
          const message = await this.#read({ ...options, maxMessageSize: maxLength });
          return message === undefined ? null : lentAlone(message);
        }
        await this.#waitFor(() => this.readable, CONSUMER_ASLEEP, end, options);
      }
    });
  }

  /** Scratch of tryReadBatch: each taken record's [offset in the batch's buffer, length], grown as needed. */
  #records = new Int32Array(512);

  #growRecords(): Int32Array {
    const grown = new Int32Array(this.#records.length * 2);
    grown.set(this.#records);
    this.#records = grown;
    return grown;
  }
  /** Scratch of tryReadBatch: each contiguous run of records' [start, end) in the data. */
  readonly #runs: number[] = [];

  /**
   * {@link MessageRing.tryReadBatch}, waiting (spin, then sleep, like read()) until at least one message or
   * the end is there, after every earlier read: resolves with how many it appended to `out` (at least 1), or
   * `null` at the end. A message longer than the ring is assembled as its chunks arrive, like read() does
   * (`maxLength` bounds it too, with MessageTooLargeError).
   */
  readBatch(out: Uint8Array[], maxMessages: number, maxBytes: number, maxLength: number, options?: RingWaitOptions): Promise<number | null> {
    return this.#queueRead(options, async (end) => {
      for (;;) {
        const taken = this.#takeBatch(out, maxMessages, maxBytes, maxLength);
        if (taken !== 0) return taken;
        if (this.#parts.length > 0 || this.readable) {
          // A chunked message that is not all in the ring (it may be longer than the ring): read() takes it.
          const message = await this.#read({ ...options, maxMessageSize: maxLength });
          if (message === undefined) return null;
          out.push(message);
          return 1;
        }
        await this.#waitFor(() => this.readable, CONSUMER_ASLEEP, end, options);
      }
    });
  }

  /**
   * {@link MessageRing.readView}, waiting (spin, then sleep, like read()) after every earlier read: the next
   * message as a view valid until {@link MessageRing.release}, or `null` at the end. A message longer than
   * the ring is assembled as its chunks arrive (a copy; release() is still called).
   */
  readViewWaiting(options?: RingWaitOptions & { maxMessageSize?: number }): Promise<Uint8Array | null> {
    return this.#queueRead(options, async (end) => {
      for (;;) {
        const view = this.#viewNow();
        if (view !== undefined) return view;
        if (this.#parts.length > 0 || this.readable) return (await this.#read(options)) ?? null;
        await this.#waitFor(() => this.readable, CONSUMER_ASLEEP, end, options);
      }
    });
  }

  /** Runs `take` after every earlier read (with the deadline of `options`, from now). */
  #queueRead<T>(options: RingWaitOptions | undefined, take: (end: number) => Promise<T>): Promise<T> {
    checkTimeout(options?.timeout, "ring read");
    const end = options?.timeout === undefined ? Infinity : performance.now() + options.timeout;
    this.#pendingReads++;
    const turn = this.#reads.then(() => take(end));
    this.#reads = turn.then(
      () => void this.#pendingReads--,
      () => void this.#pendingReads--,
    );
    return turn;
  }

  /**
   * Assembles a chunked message once all its chunks are in; undefined (consuming nothing) until then. A
   * message longer than the ring's capacity can only be read with {@link MessageRing.read}.
   */
  #assemble(): Uint8Array | undefined {
    const parts: Uint8Array[] = [];
    let position = this.#tail;
    let total = 0;
    for (;;) {
      if (position === this.#headSeen) {
        this.#headSeen = this.#loadHead();
        if (position === this.#headSeen) return undefined;
      }
      const index = position & this.#mask;
      const flags = this.#check(position);
      const length = this.#length;
      if (flags === END) this.#corrupt(`the end mark at position ${position} inside a chunked message`);
      position = (position + 8 + (flags === PAD ? length : align8(length))) >>> 0;
      if (flags === PAD) continue;
      parts.push(this.#bytes.subarray(index + 8, index + 8 + length));
      total += length;
      if ((flags & MORE) === 0) break;
    }
    const message = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      message.set(part, at);
      at += part.byteLength;
    }
    this.#tail = position;
    this.#released = -1;
    Atomics.store(this.#words, TAIL, this.#tail | 0);
    return message;
  }

  /**
   * The next message (copied), waiting for it: spins for `spin` µs, then sleeps until the producer
   * writes. Resolves `undefined` once the producer finished and everything was read. A message longer
   * than the ring is assembled here as its chunks arrive, with `maxMessageSize` as its bound. Calls are
   * served in order.
   */
  read(options?: RingWaitOptions & { maxMessageSize?: number }): Promise<Uint8Array | undefined> {
    checkTimeout(options?.timeout, "ring read");
    this.#pendingReads++;
    const turn = this.#reads.then(() => this.#read(options));
    this.#reads = turn.then(
      () => void this.#pendingReads--,
      () => void this.#pendingReads--,
    );
    return turn;
  }

  async #read(options: (RingWaitOptions & { maxMessageSize?: number }) | undefined): Promise<Uint8Array | undefined> {
    const end = options?.timeout === undefined ? Infinity : performance.now() + options.timeout;
    for (;;) {
      const record = this.#nextRecord();
      if (record === undefined) {
        // Chunks already taken stay in #parts: a read that times out here loses nothing.
        await this.#waitFor(() => this.readable, CONSUMER_ASLEEP, end, options);
        continue;
      }
      if (record === null) {
        if (this.#parts.length > 0) this.#corrupt("the end mark in the middle of a chunked message");
        return undefined;
      }
      const [payload, more] = record;
      const total = this.#partBytes + payload.byteLength;
      if (options?.maxMessageSize !== undefined && total > options.maxMessageSize) {
        throw new MessageTooLargeError(total, options.maxMessageSize, { cause: "an incoming chunked message exceeds maxMessageSize" });
      }
      this.#parts.push(payload.slice());
      this.#partBytes = total;
      this.release();
      if (!more) {
        const parts = this.#parts;
        this.#parts = [];
        this.#partBytes = 0;
        return parts.length === 1 ? parts[0]! : concat(parts, total);
      }
    }
  }

  /** Chunks of a message being read, kept across read() calls. */
  #parts: Uint8Array[] = [];
  #partBytes = 0;

  /** The next record: [payload view, more chunks follow], undefined if none, null at the end. */
  #nextRecord(): [Uint8Array, boolean] | undefined | null {
    this.#checkMapped();
    if (this.#released !== -1) throw new InvalidArgumentError("release() the previous view before reading again");
    const flags = this.#nextFlags();
    if (flags === -1) return undefined;
    if (flags & END) return null;
    return [this.#lendTail(), (flags & MORE) !== 0];
  }

  /**
   * The next message, copied, blocking this thread until it comes: spins for `spin` µs (or forever with
   * `spin: Infinity`), then sleeps on the futex. For latency-critical loops that may burn a core.
   */
  readSync(options?: { readonly spin?: number; readonly timeout?: number }): Uint8Array | undefined {
    const end = options?.timeout === undefined ? Infinity : performance.now() + options.timeout;
    const spin = options?.spin ?? this.#spin;
    for (;;) {
      const message = this.tryRead();
      if (message !== undefined) return message ?? undefined;
      const until = performance.now() + spin / 1000;
      while (!this.readable && performance.now() < until);
      if (this.readable) continue;
      if (performance.now() >= end) throw new TimeoutError(`ring read timed out after ${options!.timeout} ms`, options!.timeout!);
      Atomics.store(this.#words, CONSUMER_ASLEEP, 1);
      if (!this.readable) this.#doorbell.waitSync(this.#words, CONSUMER_ASLEEP, Math.min(50, end - performance.now()));
      Atomics.store(this.#words, CONSUMER_ASLEEP, 0);
      this.#checkPeer(CONSUMER_ASLEEP, () => this.readable);
    }
  }

  /** Spins, then sleeps (flag set, condition re-checked, doorbell awaited) until `ready()`. */
  async #waitFor(ready: () => boolean, flag: number, end: number, options: RingWaitOptions | undefined): Promise<void> {
    const started = performance.now();
    const spin = options?.spin ?? this.#adaptiveSpin();
    const sent = this.#doorbell.beforeSpin?.();
    if (sent !== undefined) {
      await sent;
      if (ready()) return this.#waited(started);
    }
    if (spin > 0) {
      const until = performance.now() + spin / 1000;
      while (performance.now() < until) {
        if (ready()) {
          this.#misses = 0;
          return this.#waited(started);
        }
      }
      this.#misses++;
    }
    for (;;) {
      if (options?.signal?.aborted) throw abortError(options.signal, "ring wait");
      const left = end - performance.now();
      if (left <= 0) throw new TimeoutError(`ring wait timed out after ${options!.timeout} ms`, options!.timeout!);
      this.#checkOpen();
      Atomics.store(this.#words, flag, 1);
      // Re-check after announcing the sleep: a write that came just before it would not ring.
      if (ready()) {
        Atomics.store(this.#words, flag, 0);
        return this.#waited(started);
      }
      const sleep = this.#doorbell.wait(this.#words, flag, Math.min(50, left));
      await (options?.signal === undefined ? sleep : untilAborted(sleep, options.signal));
      this.#checkOpen(); // before touching the memory: it may be gone by now
      if (ready()) {
        Atomics.store(this.#words, flag, 0); // awake: the other side need not ring any more
        return this.#waited(started);
      }
      this.#checkPeer(flag, ready);
    }
  }

  /** True while a read() (or readBatch()/readViewWaiting()) is queued or waiting on this ring. */
  get reading(): boolean {
    return this.#pendingReads > 0;
  }

  /**
   * For a consumer that waits on its doorbell itself instead of through read(): announces that it sleeps
   * (the consumer's asleep flag, docs/wire.md §5.5) and re-checks. True if a record (or the end) is ready after
   * all: the flag is cleared again and the caller reads instead of sleeping. False: the producer's next
   * publish rings the doorbell; the caller then checks {@link readable}, and once awake calls {@link awake}.
   */
  sleepUnlessReadable(): boolean {
    this.#checkOpen();
    Atomics.store(this.#words, CONSUMER_ASLEEP, 1);
    if (!this.readable) return false;
    Atomics.store(this.#words, CONSUMER_ASLEEP, 0);
    return true;
  }

  /** The consumer that slept through {@link sleepUnlessReadable} is awake: the producer need not ring any more. */
  awake(): void {
    Atomics.store(this.#words, CONSUMER_ASLEEP, 0);
  }

  /**
   * Spins as a waiting read would (the adaptive spin of docs/wire.md §5.5's waiting, the same bookkeeping)
   * until a record or the end is ready, without a promise: true if one came. Never sleeps; false at once
   * while a read() waits. For a reader that would otherwise wait — it then waits with `spin: 0`.
   */
  spinUntilReadable(): boolean {
    if (this.#pendingReads > 0) return false;
    const spin = this.#adaptiveSpin();
    if (spin <= 0) return false;
    const started = performance.now();
    const until = started + spin / 1000;
    do {
      // The clock costs more than a look at the head (about 50 ns against 10): look 8 times per reading.
      for (let look = 0; look < 8; look++) {
        if (this.readable) {
          this.#misses = 0;
          this.#waited(started);
          return true;
        }
      }
    } while (performance.now() < until);
    this.#misses++;
    return false;
  }

  /** Keeps a running mean (µs, weight 1/8) of how long waits took, which sizes the next spin. */
  #waited(started: number): void {
    this.#typicalWait += ((performance.now() - started) * 1000 - this.#typicalWait) / 8;
  }

  /**
   * The spin of a wait without an explicit `spin`: while spinning pays off, the ring's, or longer when
   * recent waits took longer (a peer that copies a large message), up to {@link PROBE_STRETCH} times; after
   * {@link MISSES_BEFORE_BACKOFF} spins in a row that ended in sleep anyway (a busy machine, a slow or idle
   * peer), none — burning the core would only take it from the peer — except on a random 1 in
   * {@link PROBE_ODDS} waits, so that two sides that are both fast again find each other spinning.
   */
  #adaptiveSpin(): number {
    if (this.#misses < MISSES_BEFORE_BACKOFF) {
      return Math.min(Math.max(this.#spin, this.#typicalWait * 1.5), this.#spin * PROBE_STRETCH);
    }
    return Math.random() * PROBE_ODDS < 1 ? this.#spin * PROBE_STRETCH : 0;
  }

  /** Records this process as the producer or consumer (for the other side's liveness checks). */
  #claim(word: number): void {
    if (word === PRODUCER_PID) this.#producing = true;
    else this.#consuming = true;
    if (this.#watchPeer) Atomics.store(this.#words, word, process.pid);
  }

  /**
   * While waiting on the other side (`flag` says which side we are): if it recorded its pid and that
   * process is gone, and the ring still is not `ready()` (everything it published has been taken), it
   * never will be.
   */
  #checkPeer(flag: number, ready: () => boolean): void {
    if (!this.#watchPeer) return;
    const consumer = flag === CONSUMER_ASLEEP;
    const pid = Atomics.load(this.#words, consumer ? PRODUCER_PID : CONSUMER_PID);
    if (pid < 0) this.#corrupt(`the ${consumer ? "producer" : "consumer"}'s pid is ${pid}`);
    if (pid === 0 || pid === process.pid || alive(pid)) return;
    if (ready()) return;
    Atomics.store(this.#words, flag, 0);
    const role = consumer ? "producer" : "consumer";
    this.#parts = [];
    this.#partBytes = 0;
    throw new PeerDiedError(
      `the ring's ${role} (pid ${pid}) died${consumer ? "; every message it completed was read" : " while this side waited for room"}`,
      pid,
    );
  }

  /** True once the producer marked the end (the consumer may still have records to read). */
  get producerFinished(): boolean {
    return Atomics.load(this.#words, PRODUCER_DONE) === 1;
  }

  /** Marks the consumer finished (the producer can learn that nobody reads any more). */
  markConsumerFinished(): void {
    Atomics.store(this.#words, CONSUMER_DONE, 1);
    this.#doorbell.ring(this.#words, PRODUCER_ASLEEP);
  }

  /** True once the consumer marked itself finished. */
  get consumerFinished(): boolean {
    return Atomics.load(this.#words, CONSUMER_DONE) === 1;
  }

  /** Before writing or waiting: the ring must be usable. */
  #checkOpen(): void {
    this.#checkMapped();
    const failure = this.#failure();
    if (failure !== undefined) throw failure;
  }

  /** Before reading: the memory must still be there (a failed ring can still be drained). */
  #checkMapped(): void {
    if (this.#violation !== undefined) throw this.#violation;
    if (this.#closed()) throw this.#failure() ?? new ClosedError("the ring's shared memory is closed");
  }

  /**
   * A ring in a segment of its own, named `name` (0600 unless `mode` says otherwise), for two processes
   * that open it by name: one writes, the other reads. Waiting sides sleep on futexes.
   */
  static create(options: { readonly name: string; readonly capacity: number; readonly mode?: number; readonly spin?: number }): MessageRing {
    const memory = SharedMemory.create({ name: options.name, size: ringSize(options.capacity), mode: options.mode }, SegmentKind.Ring);
    try {
      return MessageRing.#over(memory, true, options.capacity, options.spin);
    } catch (error) {
      memory.close();
      memory.unlink();
      throw error;
    }
  }

  /**
   * Opens a ring another process created with {@link MessageRing.create}. A segment that is not a ring
   * is `InvalidArgumentError`; a ring whose header breaks the layout (another version, a capacity that is
   * not a power of two or does not fit the segment, …) is `ProtocolError` (docs/wire.md §5.5).
   */
  static open(name: string, options?: { readonly spin?: number }): MessageRing {
    const memory = SharedMemory.open(name);
    try {
      const header = memory.header;
      if (header?.kind !== SegmentKind.Ring) throw new InvalidArgumentError(`shared memory '${name}' is not a message ring`);
      if (header.version !== HEADER_VERSION) {
        throw new ProtocolError(`shared memory '${name}' has segment header version ${header.version}; this side reads version ${HEADER_VERSION}`);
      }
      return MessageRing.#over(memory, false, undefined, options?.spin, false);
    } catch (error) {
      memory.close();
      throw error;
    }
  }

  static #over(memory: SharedMemory, init: boolean, capacity: number | undefined, spin: number | undefined, owner = init): MessageRing {
    const doorbell = new FutexDoorbell(native.addressOf(memory.mapping, memory.dataOffset));
    const ring = new MessageRing(memory.buffer, 0, { capacity, init, doorbell, spin, closed: () => memory.closed, watchPeer: true });
    ring.#memory = memory;
    ring.#owner = owner;
    return ring;
  }

  #memory: SharedMemory | undefined;
  /** Made by {@link MessageRing.create}: disposing of it also removes its name. */
  #owner = false;

  /** The segment of a ring made by {@link MessageRing.create} / {@link MessageRing.open}. */
  get memory(): SharedMemory | undefined {
    return this.#memory;
  }

  /**
   * Unmaps the ring's own segment from this process (see SharedMemory.close); its name stays in /dev/shm
   * (see {@link MessageRing.unlink}, {@link MessageRing.destroy}). A ring over a caller's buffer has none.
   */
  close(): void {
    this.#memory?.close();
  }

  /**
   * Removes the name of the ring's segment from /dev/shm: nobody can open it any more, and the memory is
   * freed once every process that maps it closed it. `NotFoundError` if the name is already gone. Either
   * side may call it, and may do so while the ring is in use (both sides keep their mapping).
   */
  unlink(): void {
    if (this.#memory === undefined) throw new InvalidArgumentError("this ring is over a caller's buffer: it has no segment of its own to unlink");
    this.#memory.unlink();
  }

  /** {@link MessageRing.close}, and removes the segment's name if it is still there. Safe to call more than once. */
  destroy(): void {
    const memory = this.#memory;
    if (memory === undefined) return;
    memory.close();
    try {
      memory.unlink();
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }

  /**
   * `using` / `await using`: the ring that {@link MessageRing.create} made is destroyed (closed, and its
   * name removed from /dev/shm); one that {@link MessageRing.open} opened is closed (its name is the
   * creator's to remove).
   */
  [Symbol.dispose](): void {
    if (this.#owner) this.destroy();
    else this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
  }
}

/** One message (an assembled copy) as a lent batch of one. */
function lentAlone(message: Uint8Array): LentRecords {
  return { bytes: message, offsets: Uint32Array.of(0), lengths: Uint32Array.of(message.length) };
}

function grow(array: Uint32Array): Uint32Array {
  const grown = new Uint32Array(array.length * 2);
  grown.set(array);
  return grown;
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const message = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    message.set(part, at);
    at += part.byteLength;
  }
  return message;
}
