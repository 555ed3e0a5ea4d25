/**
 * The receiving side of the frame format: a state machine fed with chunks of any size, split anywhere.
 * A frame inside one chunk is handed out as a view of that chunk (no copy); a frame that spans chunks is
 * copied once into an array of exactly its size, allocated only after its length passed the limit.
 *
 * When the decoder also chooses where the bytes are read to (`readBuffer()` / `written()`, for sockets
 * read with Node's `onread` option), a large payload is read straight into its own array: no copy at all.
 */
import { FrameTooLargeError, ProtocolError } from "@ipc/core";
import { HEADER_SIZE } from "./encoder.js";

/** Payloads at least this large are read in place; after one, the next read takes just a header. */
const DIRECT_READ_MIN = 16 * 1024;
/** The size of a fresh read chunk under load, as Node's own socket reads use. */
const READ_CHUNK = 64 * 1024;
/** The size of a connection's first read chunks, while its reads are small. */
const FIRST_CHUNK = 16 * 1024;
/** A read into what is left of the current chunk needs at least this much room; else a new chunk. */
const READ_MIN = 4 * 1024;

const enum Target {
  Chunk,
  Body,
  Header,
}

const enum State {
  /** Between frames, or with part of a header saved. */
  Header,
  /** Inside a frame's payload that spans chunks. */
  Body,
  /** After a bad frame: every later chunk is ignored. */
  Failed,
}

/** Splits a byte stream into frames. */
export class FrameDecoder {
  readonly #maxMessageSize: number;
  readonly #onFrame: (frame: Uint8Array) => void;
  #state = State.Header;
  /** Header bytes saved from the end of the previous chunk (0–3), and their value so far. */
  #headerHave = 0;
  #headerValue = 0;
  /** The payload being assembled across chunks, and how much of it is filled. */
  #body: Uint8Array = EMPTY;
  #bodyHave = 0;
  /** The last frame handed out was large: read the next header on its own (see readBuffer). */
  #afterLarge = false;
  /** What the buffer returned by readBuffer() is. */
  #target = Target.Chunk;
  #readChunk: Uint8Array = EMPTY;
  /** Where the next read into `#readChunk` goes. */
  #readOffset = 0;
  /** The size of the next fresh chunk: {@link FIRST_CHUNK}, then {@link READ_CHUNK} once reads fill them. */
  #chunkSize = FIRST_CHUNK;
  readonly #header = new Uint8Array(HEADER_SIZE);

  /**
   * @param maxMessageSize the largest payload accepted; a larger length is a `FrameTooLargeError`.
   * @param onFrame called with each whole payload, in order. A view is valid as long as the caller keeps
   *   it: chunks are never reused by the decoder.
   */
  constructor(maxMessageSize: number, onFrame: (frame: Uint8Array) => void) {
    this.#maxMessageSize = maxMessageSize;
    this.#onFrame = onFrame;
  }

  /** Bytes of an unfinished frame held (saved header bytes plus the part of a payload received). */
  get pendingBytes(): number {
    return this.#state === State.Body ? HEADER_SIZE + this.#bodyHave : this.#headerHave;
  }

  /**
   * Feeds the next chunk. Calls `onFrame` for every frame it completes; throws `FrameTooLargeError` at a
   * length over the limit, after handing out the frames before it. After a throw the decoder ignores
   * everything.
   */
  push(chunk: Uint8Array): void {
    if (this.#state === State.Failed) return;
    const end = chunk.byteLength;
    let offset = 0;
    if (this.#state === State.Body) {
      offset = this.#fillBody(chunk);
      if (this.#state === State.Body) return;
    }
    if (this.#headerHave > 0) {
      offset = this.#fillHeader(chunk, offset);
      if (offset < 0) return;
    }
    const buffer = chunk.buffer;
    const base = chunk.byteOffset;
    const max = this.#maxMessageSize;
    const onFrame = this.#onFrame;
    while (end - offset >= HEADER_SIZE) {
      const length =
        ((chunk[offset]! << 24) | (chunk[offset + 1]! << 16) | (chunk[offset + 2]! << 8) | chunk[offset + 3]!) >>> 0;
      if (length > max) this.#tooLarge(length);
      const start = offset + HEADER_SIZE;
      if (end - start < length) {
        this.#startBody(length, chunk, start);
        return;
      }
      this.#afterLarge = length >= DIRECT_READ_MIN;
      onFrame(new Uint8Array(buffer, base + start, length));
      offset = start + length;
    }
    for (; offset < end; offset++) {
      this.#headerValue = (this.#headerValue * 256 + chunk[offset]!) >>> 0;
      this.#headerHave++;
    }
  }

  /**
   * Declares the end of the stream. Throws `ProtocolError` naming the missing bytes if it ended inside a
   * frame; otherwise does nothing.
   */
  end(): void {
    if (this.#state === State.Failed) return;
    if (this.#state === State.Body) {
      const missing = this.#body.byteLength - this.#bodyHave;
      this.#state = State.Failed;
      throw new ProtocolError(
        `the stream ended inside a frame: ${this.#bodyHave} of its ${this.#body.byteLength} payload bytes arrived, ` +
          `${missing} missing (the peer closed or died mid-message)`,
      );
    }
    if (this.#headerHave > 0) {
      const have = this.#headerHave;
      this.#state = State.Failed;
      throw new ProtocolError(
        `the stream ended inside a frame header: ${have} of its ${HEADER_SIZE} length bytes arrived, ` +
          `${HEADER_SIZE - have} missing (the peer closed or died mid-message)`,
      );
    }
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
    if (length > this.#maxMessageSize) this.#tooLarge(length);
    if (end - offset >= length) {
      this.#afterLarge = length >= DIRECT_READ_MIN;
      this.#onFrame(new Uint8Array(chunk.buffer, chunk.byteOffset + offset, length));
      return offset + length;
    }
    this.#startBody(length, chunk, offset);
    return -1;
  }

  #startBody(length: number, chunk: Uint8Array, start: number): void {
    // A plain Uint8Array like the in-chunk views, so receivers always get one kind of array.
    this.#body = new Uint8Array(length);
    this.#body.set(new Uint8Array(chunk.buffer, chunk.byteOffset + start, chunk.byteLength - start));
    this.#bodyHave = chunk.byteLength - start;
    this.#state = State.Body;
  }

  /** Copies what `chunk` has of the pending payload; returns the offset after it. */
  #fillBody(chunk: Uint8Array): number {
    const need = this.#body.byteLength - this.#bodyHave;
    const take = Math.min(need, chunk.byteLength);
    this.#body.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), this.#bodyHave);
    this.#bodyHave += take;
    if (take === need) this.#finishBody();
    return take;
  }

  #finishBody(): void {
    const frame = this.#body;
    this.#body = EMPTY;
    this.#bodyHave = 0;
    this.#state = State.Header;
    this.#afterLarge = frame.byteLength >= DIRECT_READ_MIN;
    this.#onFrame(frame);
  }

  /**
   * Where the next read should put its bytes: the rest of a large payload (read in place, no copy), just
   * the next header after a large frame (so that its payload can be read in place too), or a fresh 64 KiB
   * chunk whose frames are handed out as views. Report what was read with {@link FrameDecoder.written}.
   */
  readBuffer(): Uint8Array {
    if (this.#state === State.Body && this.#body.byteLength >= DIRECT_READ_MIN) {
      this.#target = Target.Body;
      return this.#body.subarray(this.#bodyHave);
    }
    if (this.#state === State.Header && this.#afterLarge) {
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
    if (this.#readChunk.byteLength - this.#readOffset < READ_MIN) {
      this.#readChunk = Buffer.allocUnsafeSlow(this.#chunkSize);
      this.#readOffset = 0;
    }
    return this.#readChunk.subarray(this.#readOffset);
  }

  /** `n` bytes were read into the buffer {@link FrameDecoder.readBuffer} returned. Throws like `push()`. */
  written(n: number): void {
    if (this.#state === State.Failed) return;
    switch (this.#target) {
      case Target.Body:
        this.#bodyHave += n;
        if (this.#bodyHave === this.#body.byteLength) this.#finishBody();
        return;
      case Target.Header:
        this.push(this.#header.subarray(0, n));
        return;
      case Target.Chunk: {
        const start = this.#readOffset;
        this.#readOffset += n;
        if (this.#readOffset === this.#readChunk.byteLength) this.#chunkSize = READ_CHUNK;
        this.push(this.#readChunk.subarray(start, start + n));
      }
    }
  }

  #tooLarge(length: number): never {
    this.#state = State.Failed;
    throw new FrameTooLargeError(length, this.#maxMessageSize);
  }
}

const EMPTY = new Uint8Array(0);
