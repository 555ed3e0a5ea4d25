/**
 * The receiving side of the frame format: a state machine fed with chunks of any size, split anywhere.
 * A frame inside one chunk is handed out as a view of that chunk (no copy); a frame that spans chunks is
 * copied into an array of exactly its size, which grows as its bytes arrive (a length announced in a header
 * reserves nothing by itself: docs/wire.md §1, "Limits").
 *
 * When the decoder also chooses where the bytes are read to (`readBuffer()` / `written()`, for sockets
 * read with Node's `onread` option), a large payload is read straight into its own array: no copy at all
 * while it fits what was reserved, one copy per doubling while it grows.
 *
 * A consumer that is done with each frame when `onFrame` returns can let the decoder lend its frames
 * (`lendFrames`): a frame that spans chunks is then assembled in one buffer the decoder reuses, instead of an
 * array of its own per frame — no allocation, and no fresh memory to fault in, per frame.
 *
 * A decoder given a {@link ReadPool} (`usePool()`, for a connection's `receiveView()`) takes every buffer it
 * reads or assembles into from the pool and counts the frames handed out of each, so that buffers come back
 * to be read into again once their frames are released.
 */
import { ConnectionResetError, FrameTooLargeError, InvalidArgumentError, ProtocolError } from "@ipc/core";
import { HEADER_SIZE } from "./encoder.js";
import { END_MARKER, EndReasonCode, MAX_END_REASON, readEndReason, type EndReason } from "./end-reason.js";
import type { ReadPool } from "./read-pool.js";
import { FrameRun } from "./run.js";
import { textOnChannel } from "./text.js";

/**
 * Payloads at least this large are read in place; after one, the next read takes the next frame's header and
 * a payload of the same size, into an array that becomes that payload (or just the header, after a frame over
 * {@link WHOLE_READ_MAX}).
 */
const DIRECT_READ_MIN = 16 * 1024;
/**
 * The largest frame whose size the next read expects again (see {@link DIRECT_READ_MIN}): the frames a read
 * brings instead are views of its array, so this bounds what a small frame after a large one can pin (and is
 * charged for).
 */
const WHOLE_READ_MAX = 256 * 1024;
/**
 * Frames of the last large size a pooled decoder's frame buffer has room for (see #pooledFrameRead): reads
 * after large frames then take up to this many at once.
 */
const POOLED_FRAMES = 4;
/** The size of a fresh read chunk under load, as Node's own socket reads use. */
const READ_CHUNK = 64 * 1024;
/** The size of a connection's first read chunks, while its reads are small. */
const FIRST_CHUNK = 16 * 1024;
/** A read into what is left of the current chunk needs at least this much room; else a new chunk. */
const READ_MIN = 4 * 1024;
/**
 * What a partial frame may reserve before more of it arrived: its length up to this, then twice what
 * arrived (so a frame announcing 16 MiB and sending a byte holds 64 KiB, not 16 MiB).
 */
export const FIRST_RESERVE = 64 * 1024;
/** The largest assembly buffer a lending decoder keeps between frames (a larger frame gets one of its own). */
export const LEND_KEEP_MAX = 1024 * 1024;

const enum Target {
  Chunk,
  Body,
  Header,
  /** A header and the payload of a frame the size of the last one, read together (see readBuffer). */
  Frame,
}

const enum State {
  /** Between frames, or with part of a header saved. */
  Header,
  /** Inside a frame's payload that spans chunks. */
  Body,
  /** Inside the peer's end reason (docs/wire.md §2.4). */
  EndReason,
  /** After a bad frame or an end reason: every later chunk is ignored. */
  Failed,
}

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * Called with the bytes of the chunk after the last frame of a `push()` that no frame owns (a partial
   * frame copied out, a saved header), so a receiver can charge the frame before them for the chunk it
   * pins. Default: none.
   */
  readonly onSlack?: ((bytes: number) => void) | undefined;
  /**
   * Recognise the end marker of docs/wire.md §2.4 (a length of 0xFFFFFFFF followed by a reason): the decoder
   * then throws a `ConnectionResetError` saying why the peer ended, after the frames before it. Off, that
   * length is an ordinary length over the limit. Default: false.
   */
  readonly endReasons?: boolean | undefined;
  /** Names the sender in error messages ("the child"). Default: "the peer". */
  readonly peerName?: string | undefined;
  /**
   * Lend frames instead of giving them: a frame handed to `onFrame` is valid only until `onFrame` returns
   * (copy what you keep). A frame that spans chunks is assembled in a buffer the decoder reuses (kept between
   * frames up to {@link LEND_KEEP_MAX}, 1 MiB; a larger frame is assembled in an array of its own); a frame
   * inside one chunk is a view of that chunk, as always. For consumers that parse, count or forward each
   * frame at once: it saves an allocation of the frame's size (and faulting its pages in) per spanning frame.
   * Default: false — every frame stays valid for as long as the caller keeps it.
   */
  readonly lendFrames?: boolean | undefined;
  /**
   * Take the frames of each `push()` (or `written()`) as one array instead of one `onFrame` call per frame:
   * `onFrames` is called once per call that completed frames (before it returns or throws), with an array the
   * callee owns and the sum of their lengths, and `onFrame` is not called while it is set. For consumers that queue a read's frames
   * together (framed() connections give them to their inbox in one step). Cannot be combined with
   * `lendFrames` (a lent frame is only valid during its own call). Default: none — `onFrame` per frame.
   */
  readonly onFrames?: ((frames: Uint8Array[], bytes: number) => void) | undefined;
}

/** Splits a byte stream into frames. */
export class FrameDecoder {
  readonly #maxMessageSize: number;
  /** The largest length taken as a frame on the fast path: the limit, below the end marker if that is on. */
  #limit: number;
  #endReasons = false;
  #peerName = "the peer";
  #lend = false;
  /** A lending decoder's assembly buffer, reused for every frame that spans chunks (see `lendFrames`). */
  #spare: Uint8Array = EMPTY;
  /** Where read and assembly buffers come from once frames are lent (see usePool). */
  #pool: ReadPool | undefined;
  readonly #onFrame: (frame: Uint8Array) => void;
  #onFrames: ((frames: Uint8Array[], bytes: number) => void) | undefined;
  /** The frames of the current call, when they are handed out together (`onFrames`), and their bytes. */
  #collected: Uint8Array[] | undefined;
  #collectedBytes = 0;
  #onSlack: ((bytes: number) => void) | undefined;
  #state = State.Header;
  /** Header bytes saved from the end of the previous chunk (0–3), and their value so far. */
  #headerHave = 0;
  #headerValue = 0;
  /** The payload being assembled across chunks (its capacity grows up to `#bodyLength`), and how much is filled. */
  #body: Uint8Array = EMPTY;
  #bodyLength = 0;
  #bodyHave = 0;
  /** Frames completed so far (modulo 2^31). */
  #frames = 0;
  /** The last frame handed out was large: read the next header on its own, or with a payload of its size (see readBuffer). */
  #afterLarge = false;
  /** The length of the last frame handed out (while `#afterLarge`). */
  #lastLength = 0;
  /** The array of a `Target.Frame` read. */
  #frameRead: Uint8Array = EMPTY;
  /**
   * A pooled decoder's buffer for the reads after large frames (room for {@link POOLED_FRAMES} of them), read into
   * one read after another like a chunk while it has room for one more frame, and where it is read into next.
   */
  #frameBuffer: Uint8Array = EMPTY;
  #frameOffset = 0;
  /** What the buffer returned by readBuffer() is. */
  #target = Target.Chunk;
  #readChunk: Uint8Array = EMPTY;
  /** Where the next read into `#readChunk` goes. */
  #readOffset = 0;
  /** The size of the next fresh chunk: {@link FIRST_CHUNK}, then {@link READ_CHUNK} once reads fill them. */
  #chunkSize = FIRST_CHUNK;
  /** The next chunk read must be a fresh one (see usePool). */
  #freshChunk = false;
  readonly #header = new Uint8Array(HEADER_SIZE);
  /** Hand out the frames inside each pooled read as one {@link FrameRun} (see `runs`). */
  #runs = false;
  /** Where a run's offsets and lengths are gathered before they are copied into the run (grown as needed). */
  #runOffsets: Uint32Array = new Uint32Array(1024);
  #runLengths: Uint32Array = new Uint32Array(1024);

  /**
   * @param maxMessageSize the largest payload accepted; a larger length is a `FrameTooLargeError`.
   * @param onFrame called with each whole payload, in order. A view is valid as long as the caller keeps
   *   it: chunks are never reused by the decoder.
   */
  constructor(maxMessageSize: number, onFrame: (frame: Uint8Array) => void, options?: FrameDecoderOptions) {
    this.#maxMessageSize = maxMessageSize;
    this.#limit = maxMessageSize;
    this.#onFrame = onFrame;
    this.configure(options);
  }

  /** Sets the options given (those left out keep their values): for a decoder created before its connection. */
  configure(options: FrameDecoderOptions | undefined): void {
    if (options?.endReasons !== undefined) this.#endReasons = options.endReasons;
    if (options?.peerName !== undefined) this.#peerName = options.peerName;
    if (options?.onSlack !== undefined) this.#onSlack = options.onSlack;
    if (options?.lendFrames !== undefined) {
      this.#lend = options.lendFrames;
      if (!this.#lend) this.#spare = EMPTY;
    }
    if (options?.onFrames !== undefined) {
      this.#onFrames = options.onFrames;
      this.#collected = [];
    }
    if (this.#lend && this.#onFrames !== undefined) {
      throw new InvalidArgumentError("FrameDecoder: lendFrames and onFrames cannot be combined (a lent frame is only valid during its own call)");
    }
    this.#limit = this.#endReasons ? Math.min(this.#maxMessageSize, END_MARKER - 1) : this.#maxMessageSize;
  }

  /**
   * From now on, takes every buffer it reads or assembles into from `pool`, and holds the buffer once more for
   * each frame handed out of it (whoever takes a frame drops it with `pool.drop(frame)`, or `pool.keep()`);
   * the decoder drops its own hold once it moves past a buffer. Frames handed out before stay as they were.
   * Requires `onFrames` (frames are counted per call).
   */
  usePool(pool: ReadPool): void {
    if (this.#collected === undefined) throw new InvalidArgumentError("FrameDecoder.usePool() needs onFrames");
    this.#pool = pool;
    // The next read starts a pooled chunk (the buffer of a read already offered, between readBuffer() and
    // written(), stays as it is): the current chunk stays with the frames read into it.
    this.#freshChunk = true;
  }

  /**
   * While true and a pool is in use (see usePool), the frames that lie whole inside one read are handed out as
   * one {@link FrameRun} (held once in the pool) instead of a view each — for a connection's `receiveViews()`;
   * a frame assembled across reads is still handed out alone. Takes effect from the next read. Default: false.
   */
  set runs(value: boolean) {
    this.#runs = value;
  }

  /** Bytes of an unfinished frame held (saved header bytes plus the part of a payload received). */
  get pendingBytes(): number {
    return this.#state === State.Body || this.#state === State.EndReason ? HEADER_SIZE + this.#bodyHave : this.#headerHave;
  }

  /** Bytes reserved for the unfinished frame: what it has arrived of it, rounded up by the growth policy. */
  get reservedBytes(): number {
    return this.#body.byteLength;
  }

  /** Frames completed so far (wraps at 2^31): with `pendingBytes`, tells whether a stream progressed. */
  get framesDecoded(): number {
    return this.#frames;
  }

  /** The length the partial frame announced, or 0 between frames. */
  get pendingLength(): number {
    return this.#state === State.Body ? this.#bodyLength : 0;
  }

  /**
   * Feeds the next chunk. Calls `onFrame` for every frame it completes; throws `FrameTooLargeError` at a
   * length over the limit, after handing out the frames before it. After a throw the decoder ignores
   * everything.
   */
  push(chunk: Uint8Array): void {
    if (this.#collected === undefined) {
      this.#decode(chunk);
      return;
    }
    try {
      this.#decode(chunk);
    } finally {
      this.#handOut();
    }
  }

  /** Hands the frames collected in this call to `onFrames`, if there are any. */
  #handOut(): void {
    const frames = this.#collected!;
    if (frames.length === 0) return;
    const bytes = this.#collectedBytes;
    this.#collected = [];
    this.#collectedBytes = 0;
    this.#onFrames!(frames, bytes);
  }

  /** Hands `frame` out: to `onFrame`, or into this call's array for `onFrames`. */
  #emit(frame: Uint8Array): void {
    const collected = this.#collected;
    if (collected === undefined) this.#onFrame(frame);
    else {
      collected.push(frame);
      this.#collectedBytes += frame.byteLength;
    }
  }

  #decode(chunk: Uint8Array): void {
    if (this.#state === State.Failed) return;
    const end = chunk.byteLength;
    let offset = 0;
    if (this.#state !== State.Header) {
      offset = this.#state === State.Body ? this.#fillBody(chunk) : this.#fillEndReason(chunk, 0);
      if ((this.#state as State) !== State.Header) return;
    }
    if (this.#headerHave > 0) {
      offset = this.#fillHeader(chunk, offset);
      if (offset < 0) return;
    }
    if (this.#runs && this.#pool !== undefined) {
      this.#decodeRun(chunk, offset);
      return;
    }
    const buffer = chunk.buffer;
    const base = chunk.byteOffset;
    const max = this.#limit;
    const onFrame = this.#onFrame;
    const collected = this.#collected;
    let frames = 0;
    let bytes = 0;
    let last = -1;
    while (end - offset >= HEADER_SIZE) {
      const length = ((chunk[offset]! << 24) | (chunk[offset + 1]! << 16) | (chunk[offset + 2]! << 8) | chunk[offset + 3]!) >>> 0;
      const start = offset + HEADER_SIZE;
      if (length > max) {
        if (frames !== 0) this.#pool?.hold(chunk, frames);
        this.#frames = (this.#frames + frames) | 0;
        this.#collectedBytes += bytes;
        this.#overLimit(length, chunk, start);
        return;
      }
      if (end - start < length) {
        if (frames !== 0) this.#pool?.hold(chunk, frames);
        this.#frames = (this.#frames + frames) | 0;
        this.#collectedBytes += bytes;
        this.#slack(end - offset);
        this.#startBody(length, chunk, start);
        return;
      }
      const frame = new Uint8Array(buffer, base + start, length);
      if (collected === undefined) onFrame(frame);
      else collected.push(frame);
      frames++;
      bytes += length;
      last = length;
      offset = start + length;
    }
    if (frames !== 0) this.#pool?.hold(chunk, frames);
    this.#frames = (this.#frames + frames) | 0;
    this.#collectedBytes += bytes;
    if (last >= 0) {
      this.#afterLarge = last >= DIRECT_READ_MIN;
      this.#lastLength = last;
    }
    if (offset < end) this.#slack(end - offset);
    for (; offset < end; offset++) {
      this.#headerValue = (this.#headerValue * 256 + chunk[offset]!) >>> 0;
      this.#headerHave++;
    }
  }

  /**
   * The frames from `offset` of a pooled `chunk` as one {@link FrameRun}: the same checks and the same end of a
   * read as #decode's loop (a partial frame assembled, a header's bytes saved, a length over the limit thrown
   * after the frames before it are handed out), but the offsets and lengths gathered instead of a view made per
   * frame, and the chunk held once for the run.
   */
  #decodeRun(chunk: Uint8Array, offset: number): void {
    const end = chunk.byteLength;
    const max = this.#limit;
    const first = offset;
    let offsets = this.#runOffsets;
    let lengths = this.#runLengths;
    let frames = 0;
    let bytes = 0;
    let last = -1;
    while (end - offset >= HEADER_SIZE) {
      const length = ((chunk[offset]! << 24) | (chunk[offset + 1]! << 16) | (chunk[offset + 2]! << 8) | chunk[offset + 3]!) >>> 0;
      const start = offset + HEADER_SIZE;
      if (length > max) {
        this.#emitRun(chunk, first, offset, frames, bytes);
        this.#overLimit(length, chunk, start);
        return;
      }
      if (end - start < length) {
        this.#emitRun(chunk, first, offset, frames, bytes);
        this.#slack(end - offset);
        this.#startBody(length, chunk, start);
        return;
      }
      if (frames === offsets.length) {
        offsets = grown(offsets);
        lengths = grown(lengths);
        this.#runOffsets = offsets;
        this.#runLengths = lengths;
      }
      offsets[frames] = start - first;
      lengths[frames] = length;
      frames++;
      bytes += length;
      last = length;
      offset = start + length;
    }
    this.#emitRun(chunk, first, offset, frames, bytes);
    if (last >= 0) {
      this.#afterLarge = last >= DIRECT_READ_MIN;
      this.#lastLength = last;
    }
    if (offset < end) this.#slack(end - offset);
    for (; offset < end; offset++) {
      this.#headerValue = (this.#headerValue * 256 + chunk[offset]!) >>> 0;
      this.#headerHave++;
    }
  }

  /** Hands out `frames` frames of `chunk[first, end)` (gathered by #decodeRun) as one run, if there are any. */
  #emitRun(chunk: Uint8Array, first: number, end: number, frames: number, bytes: number): void {
    if (frames === 0) return;
    // A pooled read buffer is always an ArrayBuffer (ReadPool.take), never shared memory.
    const run = new FrameRun(chunk.buffer as ArrayBuffer, chunk.byteOffset + first, end - first);
    run.offsets = this.#runOffsets.slice(0, frames);
    run.lengths = this.#runLengths.slice(0, frames);
    run.payloadBytes = bytes;
    this.#pool!.hold(chunk);
    this.#frames = (this.#frames + frames) | 0;
    this.#collected!.push(run);
    this.#collectedBytes += bytes;
  }

  /**
   * Declares the end of the stream. Throws `ProtocolError` naming the missing bytes if it ended inside a
   * frame; otherwise does nothing.
   */
  end(): void {
    if (this.#state === State.Failed) return;
    if (this.#state === State.EndReason) {
      this.#state = State.Failed;
      throw new ConnectionResetError(`${this.#peerName} ended the connection and its end reason was cut short`);
    }
    if (this.#state === State.Body) {
      const missing = this.#bodyLength - this.#bodyHave;
      this.#state = State.Failed;
      throw new ProtocolError(
        `the stream ended inside a frame: ${this.#bodyHave} of its ${this.#bodyLength} payload bytes arrived, ` +
          `${missing} missing (${this.#peerName} closed or died mid-message)`,
      );
    }
    if (this.#headerHave > 0) {
      const have = this.#headerHave;
      this.#state = State.Failed;
      throw new ProtocolError(
        `the stream ended inside a frame header: ${have} of its ${HEADER_SIZE} length bytes arrived, ` +
          `${HEADER_SIZE - have} missing (${this.#peerName} closed or died mid-message)`,
      );
    }
  }

  /** Stops decoding: every later chunk is ignored (after this side failed the connection). */
  stop(): void {
    this.#state = State.Failed;
    this.#body = EMPTY;
    this.#spare = EMPTY;
  }

  #slack(bytes: number): void {
    if (this.#onSlack !== undefined) this.#onSlack(bytes);
  }

  /** Completes saved header bytes from `chunk`; returns the offset after the header, or -1 if still short. */
  #fillHeader(chunk: Uint8Array, offset: number): number {
    const end = chunk.byteLength;
    while (this.#headerHave < HEADER_SIZE && offset < end) {
      this.#headerValue = (this.#headerValue * 256 + chunk[offset]!) >>> 0;
      this.#headerHave++;
      offset++;
    }
    if (this.#headerHave < HEADER_SIZE) return -1;
    const length = this.#headerValue;
    this.#headerHave = 0;
    this.#headerValue = 0;
    if (length > this.#limit) {
      this.#overLimit(length, chunk, offset);
      return -1;
    }
    if (end - offset >= length) {
      this.#afterLarge = length >= DIRECT_READ_MIN;
      this.#lastLength = length;
      this.#frames = (this.#frames + 1) | 0;
      this.#pool?.hold(chunk);
      this.#emit(new Uint8Array(chunk.buffer, chunk.byteOffset + offset, length));
      return offset + length;
    }
    this.#startBody(length, chunk, offset);
    return -1;
  }

  /** A length over the limit at `chunk[start - 4]`: the peer's end reason, text, or a frame too large. */
  #overLimit(length: number, chunk: Uint8Array, start: number): void {
    if (length === END_MARKER && this.#endReasons) {
      this.#state = State.EndReason;
      this.#bodyLength = -1;
      this.#bodyHave = 0;
      this.#body = new Uint8Array(2 + MAX_END_REASON);
      this.#fillEndReason(chunk, start);
      return;
    }
    this.#state = State.Failed;
    const text = textOnChannel(length, chunk.subarray(start), this.#peerName, this.#maxMessageSize);
    if (text !== undefined) throw text;
    throw new FrameTooLargeError(length, this.#maxMessageSize);
  }

  /** Collects the end reason's bytes (a 2-byte length, then that many); throws what it says once whole. */
  #fillEndReason(chunk: Uint8Array, offset: number): number {
    const end = chunk.byteLength;
    while (offset < end) {
      const want = this.#bodyLength < 0 ? 2 : this.#bodyLength;
      const take = Math.min(want - this.#bodyHave, end - offset);
      this.#body.set(chunk.subarray(offset, offset + take), this.#bodyHave);
      this.#bodyHave += take;
      offset += take;
      if (this.#bodyLength < 0 && this.#bodyHave === 2) {
        const size = (this.#body[0]! << 8) | this.#body[1]!;
        if (size === 0 || size > MAX_END_REASON) {
          this.stop();
          throw new ProtocolError(`${this.#peerName} sent an end reason of ${size} bytes (1 to ${MAX_END_REASON} allowed)`);
        }
        this.#bodyLength = 2 + size;
      }
      if (this.#bodyLength > 0 && this.#bodyHave === this.#bodyLength) {
        const reason = readEndReason(this.#body.subarray(2, this.#bodyLength));
        this.stop();
        throw this.#endError(reason);
      }
    }
    return offset;
  }

  #endError(reason: EndReason): Error {
    const who = this.#peerName;
    switch (reason.code) {
      case EndReasonCode.Aborted:
        return new ConnectionResetError(`${who} aborted the connection${reason.text === "" ? "" : `: ${reason.text}`}`);
      case EndReasonCode.TooLarge:
        return new ConnectionResetError(
          `${who} refused a message of ${reason.size} bytes, over its maxMessageSize of ${reason.limit} bytes, ` +
            `and closed the connection (send smaller messages, or raise maxMessageSize on the receiving side)`,
          { cause: new FrameTooLargeError(reason.size, reason.limit) },
        );
      default:
        return new ConnectionResetError(`${who} dropped the connection${reason.text === "" ? "" : `: ${reason.text}`}`);
    }
  }

  /** Reserves room for a frame of `length` bytes in proportion to what arrived, and copies that in. */
  #startBody(length: number, chunk: Uint8Array, start: number): void {
    const have = chunk.byteLength - start;
    const reserve = Math.min(length, Math.max(FIRST_RESERVE, 2 * have));
    // A lending decoder's spare buffer is memory already held: the frame may use all of it at once.
    this.#body = this.#lend
      ? this.#assembly(Math.min(length, Math.max(reserve, this.#spare.byteLength)))
      : this.#pool !== undefined
        ? this.#pool.take(reserve)
        : allocate(reserve);
    this.#body.set(new Uint8Array(chunk.buffer, chunk.byteOffset + start, have));
    this.#bodyLength = length;
    this.#bodyHave = have;
    this.#state = State.Body;
  }

  /** Makes room for `need` payload bytes in all: the capacity doubles, up to the frame's length. */
  #grow(need: number): void {
    const capacity = Math.min(this.#bodyLength, Math.max(need, 2 * this.#body.byteLength));
    const pool = this.#pool;
    const body = this.#lend ? this.#assembly(capacity) : pool !== undefined ? pool.take(capacity) : allocate(capacity);
    body.set(this.#body.subarray(0, this.#bodyHave));
    pool?.drop(this.#body);
    this.#body = body;
  }

  /** Copies what `chunk` has of the pending payload; returns the offset after it. */
  #fillBody(chunk: Uint8Array): number {
    const need = this.#bodyLength - this.#bodyHave;
    const take = Math.min(need, chunk.byteLength);
    if (this.#bodyHave + take > this.#body.byteLength) this.#grow(this.#bodyHave + take);
    this.#body.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), this.#bodyHave);
    this.#bodyHave += take;
    if (take === need) this.#finishBody();
    return take;
  }

  /**
   * A lending decoder's buffer of `size` bytes: a view of the spare one when it is big enough, else a new
   * array, which becomes the spare (up to {@link LEND_KEEP_MAX}).
   */
  #assembly(size: number): Uint8Array {
    const spare = this.#spare;
    if (size <= spare.byteLength) return new Uint8Array(spare.buffer, spare.byteOffset, size);
    const body = allocate(size);
    if (size <= LEND_KEEP_MAX) this.#spare = body;
    return body;
  }

  #finishBody(): void {
    const frame = this.#body;
    this.#body = EMPTY;
    this.#bodyHave = 0;
    this.#bodyLength = 0;
    this.#state = State.Header;
    this.#afterLarge = frame.byteLength >= DIRECT_READ_MIN;
    this.#lastLength = frame.byteLength;
    this.#frames = (this.#frames + 1) | 0;
    this.#emit(frame);
  }

  /**
   * Where the next read should put its bytes: the rest of a large payload (read in place, no copy); after a
   * large frame, the next header and a payload of the same size in one array (a stream of equal large messages
   * then costs one read each, not two: the array becomes the payload, or holds the frames that arrived instead)
   * — or just the next header after a frame over 256 KiB (so that its payload can be read in place too); or a
   * fresh 64 KiB chunk whose frames are handed out as views. Report what was read with
   * {@link FrameDecoder.written}.
   */
  readBuffer(): Uint8Array {
    if (this.#state === State.Body && this.#bodyLength >= DIRECT_READ_MIN) {
      if (this.#bodyHave === this.#body.byteLength) this.#grow(this.#bodyHave + 1);
      this.#target = Target.Body;
      return this.#body.subarray(this.#bodyHave);
    }
    if (this.#state === State.Header && this.#afterLarge) {
      if (this.#headerHave === 0 && this.#lastLength <= WHOLE_READ_MAX) {
        this.#target = Target.Frame;
        this.#frameRead = this.#pool !== undefined ? this.#pooledFrameRead(this.#pool) : allocate(HEADER_SIZE + this.#lastLength);
        return this.#frameRead;
      }
      this.#target = Target.Header;
      return this.#header.subarray(0, HEADER_SIZE - this.#headerHave);
    }
    this.#target = Target.Chunk;
    // Reads go one after another into the same 64 KiB chunk (frames handed out are views of it, so a
    // region once read is never written again); a fresh chunk only when little room is left. A chunk
    // per read would allocate 64 KiB for every 100-byte read, and the garbage collector's pauses would
    // show as milliseconds in the round trips of small-message traffic.
    // A connection starts with 16 KiB chunks (a thousand idle connections hold 16 MiB, not 64), and moves
    // to 64 KiB ones once a read fills all it was offered: then more is waiting, and bigger reads pay.
    if (this.#readChunk.byteLength - this.#readOffset < READ_MIN || this.#freshChunk) {
      this.#freshChunk = false;
      const pool = this.#pool;
      if (pool === undefined) this.#readChunk = Buffer.allocUnsafeSlow(this.#chunkSize);
      else {
        pool.drop(this.#readChunk);
        this.#readChunk = pool.take(this.#chunkSize);
      }
      this.#readOffset = 0;
    }
    return this.#readChunk.subarray(this.#readOffset);
  }

  /**
   * `n` bytes were read into a `Target.Frame` array. A frame of the expected size that is not all here yet
   * makes the array its payload (the rest is read in place); anything else — the whole frame, other frames, a
   * short header — is decoded as a chunk, whose unread tail the frames in it pin.
   */
  #frameWritten(n: number): void {
    const read = this.#frameRead;
    this.#frameRead = EMPTY;
    if (this.#pool !== undefined) {
      this.#pooledFrameWritten(read, n, this.#pool);
      return;
    }
    if (n >= HEADER_SIZE && n < read.byteLength) {
      const length = lengthAt(read);
      if (length === read.byteLength - HEADER_SIZE && length <= this.#limit) {
        this.#body = new Uint8Array(read.buffer, read.byteOffset + HEADER_SIZE, length);
        this.#bodyLength = length;
        this.#bodyHave = n - HEADER_SIZE;
        this.#state = State.Body;
        return;
      }
    }
    if (n < read.byteLength) this.#slack(read.byteLength - n);
    this.#decode(read.subarray(0, n));
  }

  /**
   * Where a pooled read after a large frame goes: the rest of the frame buffer while it has room for a whole
   * frame of the last size (so several frames arrive in one read, each lent as a view of it), else a new one
   * (the old one's tail, smaller than a frame, is charged to the frames that pin it).
   */
  #pooledFrameRead(pool: ReadPool): Uint8Array {
    const frame = HEADER_SIZE + this.#lastLength;
    const left = this.#frameBuffer.byteLength - this.#frameOffset;
    if (left < frame) {
      if (left > 0) this.#slack(left);
      pool.drop(this.#frameBuffer);
      this.#frameBuffer = pool.take(frame * POOLED_FRAMES);
      this.#frameOffset = 0;
    }
    return this.#frameBuffer.subarray(this.#frameOffset);
  }

  /**
   * `n` bytes were read into the frame buffer at `read`: a first frame not all here is read in place there (its
   * room reserved), else the bytes are decoded like a chunk's; the buffer stays the decoder's to read into.
   */
  #pooledFrameWritten(read: Uint8Array, n: number, pool: ReadPool): void {
    this.#frameOffset += n;
    if (n >= HEADER_SIZE) {
      const length = lengthAt(read);
      if (n < HEADER_SIZE + length && length <= read.byteLength - HEADER_SIZE && length <= this.#limit) {
        this.#body = new Uint8Array(read.buffer, read.byteOffset + HEADER_SIZE, length);
        pool.hold(this.#body);
        this.#frameOffset += HEADER_SIZE + length - n;
        this.#bodyLength = length;
        this.#bodyHave = n - HEADER_SIZE;
        this.#state = State.Body;
        return;
      }
    }
    this.#decode(read.subarray(0, n));
  }

  /** `n` bytes were read into the buffer {@link FrameDecoder.readBuffer} returned. Throws like `push()`. */
  written(n: number): void {
    if (this.#collected === undefined) {
      this.#written(n);
      return;
    }
    try {
      this.#written(n);
    } finally {
      this.#handOut();
    }
  }

  #written(n: number): void {
    if (this.#state === State.Failed) return;
    switch (this.#target) {
      case Target.Body:
        this.#bodyHave += n;
        if (this.#bodyHave === this.#bodyLength) this.#finishBody();
        return;
      case Target.Header:
        this.#decode(this.#header.subarray(0, n));
        return;
      case Target.Frame:
        this.#frameWritten(n);
        return;
      case Target.Chunk: {
        const start = this.#readOffset;
        this.#readOffset += n;
        const left = this.#readChunk.byteLength - this.#readOffset;
        if (left === 0) this.#chunkSize = READ_CHUNK;
        // The chunk's tail that no read will fill is pinned by the frames of this read: charge it to them.
        else if (left < READ_MIN) this.#slack(left);
        this.#decode(this.#readChunk.subarray(start, start + n));
      }
    }
  }
}

/** An index array of twice the size, with `index`'s values first. */
function grown(index: Uint32Array): Uint32Array {
  const bigger = new Uint32Array(index.length * 2);
  bigger.set(index);
  return bigger;
}

/** The big-endian 32-bit length at `bytes[0..4]`. */
function lengthAt(bytes: Uint8Array): number {
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

/** A payload array: a plain Uint8Array like the in-chunk views, without the zero fill of `new Uint8Array(n)`. */
function allocate(size: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
}

const EMPTY = new Uint8Array(0);
