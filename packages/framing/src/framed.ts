/**
 * `framed(stream)`: a message {@link Connection} over any Node byte stream — a socket, a child's stdio,
 * a FIFO — using the 4-byte length-prefixed frames of docs/wire.md.
 */
import type { Duplex, Readable, Writable } from "node:stream";
import {
  ConnectionResetError,
  InvalidArgumentError,
  fromSystemError,
  type Connection,
  type ConnectionOptions,
  type Peer,
  type SendOptions,
} from "@ipc/core";
import { ConnectionBase, Inbox, resolveConnectionOptions } from "@ipc/core/transport";
import { FrameDecoder } from "./decoder.js";
import type { FrameReader } from "./reader.js";
import { FrameWriter } from "./writer.js";

/** A byte stream: one duplex (a socket), or a readable and a writable (a child's stdout and stdin). */
export type ByteStream = Duplex | { readonly readable: Readable; readonly writable: Writable };

/** Options of {@link framed}. */
export interface FramedOptions extends ConnectionOptions {
  /** Reported as `connection.localAddress`. Default: `""`. */
  readonly localAddress?: string | undefined;
  /** Reported as `connection.remoteAddress`, and named in error messages. Default: `""`. */
  readonly remoteAddress?: string | undefined;
  /** Reported as `connection.peer`. Default: `undefined`. */
  readonly peer?: Peer | undefined;
  /**
   * The `FrameReader` whose `onread` the socket was created with: frames then come from it (large ones
   * read in place) instead of from 'data' events. Its `maxMessageSize` must equal this connection's.
   * Default: none ('data' events).
   */
  readonly reader?: FrameReader | undefined;
}

function isDuplex(stream: ByteStream): stream is Duplex {
  return typeof (stream as Duplex).pipe === "function" && typeof (stream as Duplex).write === "function";
}

class FramedConnection extends ConnectionBase {
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly peer: Peer | undefined;
  readonly maxMessageSize: number;
  readonly #readable: Readable;
  readonly #writable: Writable;
  /** True when one duplex is both `#readable` and `#writable`. */
  readonly #duplex: boolean;
  protected readonly inbox: Inbox;
  /** Where frames come from: a decoder fed by 'data' events, or the socket's FrameReader. */
  readonly #decoder: FrameDecoder | FrameReader;
  readonly #writer: FrameWriter;
  #peerEnded = false;
  #readableClosed = false;
  #writableClosed = false;

  constructor(stream: ByteStream, options: FramedOptions | undefined) {
    super();
    const resolved = resolveConnectionOptions(options);
    this.maxMessageSize = resolved.maxMessageSize;
    this.localAddress = options?.localAddress ?? "";
    this.remoteAddress = options?.remoteAddress ?? "";
    this.peer = options?.peer;
    if (isDuplex(stream)) {
      // The connection decides when its side ends: after flushing what it accepted (see onEnd).
      stream.allowHalfOpen = true;
      this.#readable = stream;
      this.#writable = stream;
      this.#duplex = true;
    } else {
      this.#readable = stream.readable;
      this.#writable = stream.writable;
      this.#duplex = false;
    }
    const readable = this.#readable;
    const reader = options?.reader;
    if (reader !== undefined && reader.maxMessageSize !== resolved.maxMessageSize) {
      throw new InvalidArgumentError(
        `the reader's maxMessageSize (${reader.maxMessageSize}) differs from the connection's (${resolved.maxMessageSize})`,
      );
    }
    this.inbox = new Inbox({
      highWaterMark: resolved.highWaterMark,
      onFull: () => {
        if (reader === undefined) readable.pause();
        else reader.paused = true;
      },
      onDrain: () => {
        if (reader !== undefined) reader.paused = false;
        if (!this.isClosed) readable.resume();
      },
    });
    const inbox = this.inbox;
    this.#writer = new FrameWriter(this.#writable, resolved.highWaterMark);
    if (reader === undefined) {
      this.#decoder = new FrameDecoder(resolved.maxMessageSize, (frame) => inbox.push(frame));
      readable.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    } else {
      this.#decoder = reader;
      reader.attach({ frame: (frame) => inbox.push(frame), error: (error) => this.fail(error as Error) });
    }

    const onError = (error: Error): void => this.fail(fromSystemError(error, this.describe()));
    readable.on("end", () => this.#onEnd());
    readable.on("error", onError);
    readable.on("close", () => {
      this.#readableClosed = true;
      this.#onStreamClosed();
    });
    if (!this.#duplex) {
      this.#writable.on("error", onError);
      this.#writable.on("close", () => {
        this.#writableClosed = true;
        this.#onStreamClosed();
      });
    } else {
      this.#writableClosed = true;
    }
  }

  protected override write(message: Uint8Array, options: SendOptions | undefined): Promise<void> {
    return this.#writer.send(message, options);
  }

  /** Ends the stream once what was accepted is written. */
  protected override endSending(): void {
    this.#writer.end((error) => {
      if (error) this.fail(fromSystemError(error, this.describe()));
    });
  }

  /** Unsent messages are dropped and their sends rejected; the stream goes. */
  protected override onFail(error: Error): void {
    this.#writer.fail(error);
    this.#readable.destroy();
    if (!this.#duplex) this.#writable.destroy();
  }

  #onData(chunk: Uint8Array): void {
    try {
      (this.#decoder as FrameDecoder).push(chunk);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  #onEnd(): void {
    this.#peerEnded = true;
    try {
      this.#decoder.end();
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.inbox.end();
    // The peer is done: finish our side too, after what we already accepted.
    this.closedByPeer();
  }

  #onStreamClosed(): void {
    if (!this.#readableClosed || !this.#writableClosed || this.isClosed) return;
    if (this.#peerEnded && this.#writable.writableFinished) return this.finishClose();
    this.fail(new ConnectionResetError(`${this.describe()}: the stream closed before the connection was closed`));
  }
}

/**
 * A message connection over `stream`: each `send()` is one frame (a 4-byte big-endian length, then the
 * bytes), each frame received is one message. The connection owns the stream from now on: do not read or
 * write it elsewhere. Duplex streams are switched to `allowHalfOpen` so that a close by the peer still
 * lets this end deliver what it had accepted.
 */
export function framed(stream: ByteStream, options?: FramedOptions): Connection {
  return new FramedConnection(stream, options);
}
