/**
 * Batches (proto/ipc.proto: `IpcMessage.batch`): the small envelopes a channel layer writes in one burst
 * go out as ONE frame, `IpcMessage { batch { messages: [envelope, …] } }`, so that the transport pays its
 * per-frame cost (a write, a length prefix, a wake-up of the reader) once per burst instead of once per
 * message. A burst ends when the code that is running yields to the event loop (`process.nextTick`); a
 * batch that reaches its size limit is sealed and the next one begins, and at the end of the burst every
 * sealed batch goes to the connection with ONE `sendBatch()` (the batch path of the contract). A lone
 * envelope is sent as itself, so a request/response exchange sees no batches and no added latency.
 */
import { BATCH_MESSAGE_OVERHEAD, ProtocolError, type Connection } from "@ipc/core";
import { VarintReader, varintLength, writeVarint } from "./reliable/varint.js";

/** IpcMessage field 13 (length-delimited). */
export const BATCH_TAG = 0x6a;
/** Batch field 1 (length-delimited): one envelope. */
const ELEMENT_TAG = 0x0a;
/** Room kept before the first element for the batch's own tag and length (a varint of at most 4 bytes). */
const HEADER = 5;
/** Envelopes larger than this are sent alone (copying them into a batch would cost more than it saves). */
export const BATCH_ELEMENT_MAX = 16 * 1024;
/** The largest batch, in bytes. */
const BATCH_MAX = 64 * 1024;

const EMPTY = new Uint8Array(0);

/**
 * `size` bytes, not zeroed, as a plain Uint8Array (not a Buffer): what the batches and the views made from
 * them are, like the messages every transport delivers, so the code that handles them sees one kind of array.
 */
function plainBytes(size: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
}

/**
 * Collects envelopes and sends them as batches through `send` (which must not throw): every message of one
 * burst (sealed batches, and envelopes too large to batch) in one call, in order.
 */
export class Batcher {
  readonly #send: (messages: Uint8Array[]) => void;
  readonly #limit: number;
  #bytes: Uint8Array = EMPTY;
  #offset = HEADER;
  #first = HEADER;
  #count = 0;
  /** The messages of this burst that are ready to go: sealed batches and large envelopes, in order. */
  #sealed: Uint8Array[] = [];
  #scheduled = false;
  #generation = 0;

  /** `maxMessageSize`: the connection's; batches stay within it. */
  constructor(send: (messages: Uint8Array[]) => void, maxMessageSize: number) {
    this.#send = send;
    this.#limit = Math.min(BATCH_MAX, maxMessageSize);
  }

  /**
   * Makes room for an envelope of `length` bytes (one that {@link Batcher.fits}) and returns the offset
   * in {@link Batcher.bytes} where the caller writes it, all `length` bytes of it, before anything else
   * is added.
   */
  reserve(length: number): number {
    const needed = 1 + varintLength(length) + length;
    if (this.#count > 0 && (this.#offset - this.#first + needed > this.#limit - HEADER || this.#offset + needed > this.#bytes.byteLength)) {
      // A full batch goes soon (in a microtask), not at the end of the burst: the peer works on it meanwhile.
      this.#seal();
      this.flushSoon();
    }
    if (this.#count === 0 && this.#offset + needed > this.#bytes.byteLength) {
      this.#bytes = plainBytes(Math.max(BATCH_MAX, needed) + HEADER);
      this.#first = this.#offset = HEADER;
    }
    this.#bytes[this.#offset++] = ELEMENT_TAG;
    this.#offset = writeVarint(this.#bytes, this.#offset, length);
    const offset = this.#offset;
    this.#offset += length;
    this.#count++;
    this.#schedule();
    return offset;
  }

  /** The buffer {@link Batcher.reserve}'s offsets are in (valid until the next `reserve()`). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** The largest envelope that goes into a batch ({@link Batcher.fits}). */
  get elementLimit(): number {
    return Math.min(BATCH_ELEMENT_MAX, this.#limit - 2 * HEADER - 1);
  }

  /** True if an envelope of `length` bytes goes into a batch ({@link Batcher.reserve}); else send it with `add()`. */
  fits(length: number): boolean {
    return length <= BATCH_ELEMENT_MAX && length + 2 * HEADER + 1 <= this.#limit;
  }

  /** Adds an encoded envelope: copied into the batch if small, else sent alone after what is batched. */
  add(envelope: Uint8Array): void {
    if (!this.fits(envelope.byteLength)) {
      this.#seal();
      this.#sealed.push(envelope);
      this.flushSoon();
      return;
    }
    const offset = this.reserve(envelope.byteLength);
    this.#bytes.set(envelope, offset);
  }

  /** Sends what is batched now: every message of the burst so far, with one call of `send`. */
  flush(): void {
    this.#seal();
    if (this.#sealed.length === 0) return;
    const messages = this.#sealed;
    this.#sealed = [];
    this.#send(messages);
  }

  /** Closes the batch being filled: it joins the messages ready to go, and the next envelope starts a new one. */
  #seal(): void {
    if (this.#count === 0) return;
    const bytes = this.#bytes;
    let start: number;
    if (this.#count === 1) {
      // A lone envelope goes as itself: skip the element's tag and length.
      const reader = new VarintReader(bytes, this.#first + 1, this.#offset);
      reader.varint();
      start = reader.offset;
    } else {
      const length = this.#offset - this.#first;
      start = this.#first - 1 - varintLength(length);
      bytes[start] = BATCH_TAG;
      writeVarint(bytes, start + 1, length);
    }
    const end = this.#offset;
    // The next batch starts after this one in the same buffer; the connection may keep a view of it.
    this.#first = this.#offset = end + HEADER;
    this.#count = 0;
    if (this.#offset + HEADER >= bytes.byteLength) {
      this.#bytes = EMPTY;
      this.#first = this.#offset = HEADER;
    }
    this.#sealed.push(new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start));
  }

  /**
   * Sends what is batched in a microtask: after the code running now (no send from inside its logic), but
   * before a caller that awaits an already settled promise goes on — a `sendBatch()` goes out whole, at once,
   * while a loop of such calls never reaches the end of its burst.
   */
  flushSoon(): void {
    if (this.#soon) return;
    this.#soon = true;
    const generation = this.#generation;
    queueMicrotask(() => {
      this.#soon = false;
      if (generation === this.#generation) this.flush();
    });
  }

  #soon = false;

  /** Drops what is batched (its connection is gone) and what is scheduled. */
  discard(): void {
    this.#count = 0;
    this.#sealed = [];
    this.#generation++;
    this.#scheduled = false;
    this.#soon = false;
    this.#bytes = EMPTY;
    this.#first = this.#offset = HEADER;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const generation = this.#generation;
    process.nextTick(() => {
      if (generation !== this.#generation) return;
      this.#scheduled = false;
      this.flush();
    });
  }
}

/** What {@link runSpan} found: the run's end (exclusive) and its payload fields' bytes; read it at once. */
export const span = { end: 0, payloads: 0 };

/**
 * The longest run of `messages[from..to)` whose payload fields (key, length, bytes: docs/wire.md §8.1's
 * `DataRun`/`MuxDataRun` field 2/3) fit in `room` bytes, into {@link span}. Sizes are read as `length`
 * (the `byteLength` getter is not inlined on Node 20).
 */
export function runSpan(messages: readonly Uint8Array[], from: number, to: number, room: number): void {
  let end = from;
  let payloads = 0;
  for (; end < to; end++) {
    const n = messages[end]!.length;
    const field = 1 + varintLength(n) + n;
    if (payloads + field > room) break;
    payloads += field;
  }
  span.end = end;
  span.payloads = payloads;
}

/**
 * Sends `messages` (what a {@link Batcher} hands out) on `connection`: one alone with `send()`, more with
 * `sendBatch()` — one call, split only where the batch bound (`maxMessageSize` + 128 per message) requires.
 * `handle` gets each promise (they are not awaited: a failed write shows as the connection's failure).
 */
export function sendAll(connection: Connection, messages: Uint8Array[], handle: (sent: Promise<void>) => void): void {
  if (messages.length === 1) return handle(connection.send(messages[0]!));
  const limit = connection.maxMessageSize + BATCH_MESSAGE_OVERHEAD;
  let start = 0;
  let cost = 0;
  for (let i = 0; i < messages.length; i++) {
    const size = messages[i]!.byteLength + BATCH_MESSAGE_OVERHEAD;
    if (i > start && cost + size > limit) {
      handle(connection.sendBatch(messages.slice(start, i)));
      start = i;
      cost = 0;
    }
    cost += size;
  }
  handle(connection.sendBatch(start === 0 ? messages : messages.slice(start)));
}

/**
 * True if `messages`, what one read of a connection brought, is one envelope that is not a Batch: what a
 * request/response exchange reads. A layer's read loop then reads the next message with `receive()` instead of
 * `receiveBatch()`, until a read brings a Batch or a run again (a burst): a 64 B round trip through a reliable
 * session or a mux stream measured 5–16 % slower when every read was a `receiveBatch()` (docs/benchmarks.md,
 * "Issue 17 — layers"), as RPC's did (its read loops follow the same rule). A run is not a Batch: the caller,
 * which knows its runs, checks for them.
 */
export function isLone(messages: readonly Uint8Array[]): boolean {
  return messages.length === 1 && messages[0]![0] !== BATCH_TAG;
}

/**
 * Calls `each` with every envelope of `bytes` (as `bytes[start..end)`, without copying) if it is a Batch,
 * and returns true; returns false if it is not one. A Batch inside a Batch, or a malformed one, is a
 * `ProtocolError`.
 */
export function forEachInBatch(bytes: Uint8Array, each: (bytes: Uint8Array, start: number, end: number) => void): boolean {
  if (bytes[0] !== BATCH_TAG) return false;
  const outer = new VarintReader(bytes, 1);
  const length = outer.varint();
  if (length === undefined || outer.offset + length !== bytes.byteLength) throw malformed(bytes);
  while (outer.offset < outer.end) {
    if (bytes[outer.offset++] !== ELEMENT_TAG) throw malformed(bytes);
    const size = outer.varint();
    if (size === undefined || size > outer.end - outer.offset) throw malformed(bytes);
    const start = outer.offset;
    outer.offset += size;
    if (bytes[start] === BATCH_TAG) throw new ProtocolError("received a Batch inside a Batch");
    each(bytes, start, start + size);
  }
  return true;
}

function malformed(bytes: Uint8Array): ProtocolError {
  return new ProtocolError(`received a Batch of ${bytes.byteLength} bytes whose elements do not add up`);
}
