/**
 * The read side of a framed socket created with Node's `onread` option: the decoder picks every read's
 * buffer, so a large message is read by the kernel straight into its own array (one copy fewer than
 * reading into chunks and assembling). Create it first, give `reader.onread` to the socket's constructor
 * (`net.connect({ path, onread: reader.onread })`, `new net.Socket({ fd, onread: reader.onread })`), then
 * pass it to `framed(socket, { reader })`.
 */
import { DEFAULT_MAX_MESSAGE_SIZE, InvalidArgumentError, MAX_MESSAGE_SIZE_LIMIT } from "@ipc/core";
import { FrameDecoder, type FrameDecoderOptions } from "./decoder.js";
import type { ReadPool } from "./read-pool.js";

/** What Node's `onread` socket option takes. */
export interface OnRead {
  readonly buffer: () => Uint8Array;
  readonly callback: (bytesRead: number, buffer: Uint8Array) => boolean;
}

/** Where a reader delivers, once a connection is attached. */
export interface FrameSink {
  frame(frame: Uint8Array): void;
  /**
   * Takes the frames of one read together, as an array the sink owns, with the sum of their lengths; when
   * present, it is called instead of `frame` for each of them (framed() queues a read's frames in one step).
   */
  frames?(frames: Uint8Array[], bytes: number): void;
  error(error: unknown): void;
  /** Called after each read's frames were delivered (a partial frame may be pending). */
  read?(): void;
}

/** Decodes frames from a socket that reads into the buffers the decoder chooses. */
export class FrameReader {
  /** The limit frames are checked against; the connection must use the same. */
  readonly maxMessageSize: number;
  readonly onread: OnRead;
  readonly #decoder: FrameDecoder;
  #sink: FrameSink | undefined;
  #early: Uint8Array[] = [];
  #earlyError: unknown = undefined;
  #paused = false;

  /** @param options.maxMessageSize the receive limit. Default: 16 MiB. */
  constructor(options?: { readonly maxMessageSize?: number | undefined }) {
    const max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    if (!Number.isInteger(max) || max < 0 || max > MAX_MESSAGE_SIZE_LIMIT) {
      throw new InvalidArgumentError(`maxMessageSize must be an integer from 0 to ${MAX_MESSAGE_SIZE_LIMIT}, got ${max}`);
    }
    this.maxMessageSize = max;
    const deliver = (frames: Uint8Array[], bytes: number): void => {
      const sink = this.#sink;
      if (sink === undefined) this.#early.push(...frames);
      else if (sink.frames !== undefined) sink.frames(frames, bytes);
      else for (const frame of frames) sink.frame(frame);
    };
    this.#decoder = new FrameDecoder(max, () => undefined, { onFrames: deliver });
    this.onread = {
      buffer: () => this.#decoder.readBuffer(),
      callback: (bytesRead) => this.#written(bytesRead),
    };
  }

  /**
   * Connects the reader to its connection (framed() does this); frames read before are delivered now.
   * `options` configure the decoder from now on (see FrameDecoderOptions).
   */
  attach(sink: FrameSink, options?: FrameDecoderOptions): void {
    this.#decoder.configure(options);
    this.#sink = sink;
    const early = this.#early;
    this.#early = [];
    if (early.length > 0) {
      if (sink.frames !== undefined)
        sink.frames(
          early,
          early.reduce((sum, frame) => sum + frame.byteLength, 0),
        );
      else for (const frame of early) sink.frame(frame);
    }
    if (this.#earlyError !== undefined) sink.error(this.#earlyError);
  }

  /** Stops reading after the current read (the socket's reading resumes with `socket.resume()`). */
  set paused(value: boolean) {
    this.#paused = value;
  }

  /** Declares the end of the stream; throws `ProtocolError` if it ended inside a frame. */
  end(): void {
    this.#decoder.end();
  }

  /** See {@link FrameDecoder.usePool}: from the next read on, buffers come from `pool` (framed()'s `receiveView()`). */
  usePool(pool: ReadPool): void {
    this.#decoder.usePool(pool);
  }

  /** See {@link FrameDecoder.runs}: the frames of each pooled read as one run (framed()'s `receiveViews()`). */
  set runs(value: boolean) {
    this.#decoder.runs = value;
  }

  /** Stops decoding: later reads are discarded. */
  stop(): void {
    this.#decoder.stop();
  }

  /** See {@link FrameDecoder.pendingBytes}. */
  get pendingBytes(): number {
    return this.#decoder.pendingBytes;
  }

  /** See {@link FrameDecoder.pendingLength}. */
  get pendingLength(): number {
    return this.#decoder.pendingLength;
  }

  /** See {@link FrameDecoder.framesDecoded}. */
  get framesDecoded(): number {
    return this.#decoder.framesDecoded;
  }

  #written(bytesRead: number): boolean {
    try {
      this.#decoder.written(bytesRead);
    } catch (error) {
      if (this.#sink === undefined) this.#earlyError = error;
      else this.#sink.error(error);
      return false;
    }
    this.#sink?.read?.();
    return !this.#paused;
  }
}
