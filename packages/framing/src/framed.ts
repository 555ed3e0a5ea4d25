/**
 * `framed(stream)`: a message {@link Connection} over any Node byte stream — a socket, a child's stdio,
 * a FIFO — using the 4-byte length-prefixed frames of docs/wire.md.
 */
import type { Duplex, Readable, Writable } from "node:stream";
import {
  ConnectionResetError,
  FrameTooLargeError,
  InvalidArgumentError,
  ViewHeldError,
  abortError,
  deadline,
  fromSystemError,
  wait,
  type Connection,
  type ConnectionOptions,
  type MessageBatchView,
  type MessageView,
  type Peer,
  type ReceiveBatchOptions,
  type ReceiveOptions,
  type SendOptions,
  type ViewConnection,
  type WaitOptions,
} from "@ipc/core";
import { ConnectionBase, Inbox, LentBatch, LentView, checkedBatchBounds, resolveConnectionOptions } from "@ipc/core/transport";
import { FIRST_RESERVE, FrameDecoder } from "./decoder.js";
import { EndReasonCode, encodeEndText, encodeEndTooLarge } from "./end-reason.js";
import { FrameTimeoutError } from "./errors.js";
import { ReadPool } from "./read-pool.js";
import type { FrameReader } from "./reader.js";
import { FrameRun } from "./run.js";
import { FrameWriter } from "./writer.js";

/** Default `frameTimeout`: 30 s. */
export const DEFAULT_FRAME_TIMEOUT = 30_000;
/**
 * How long a failing end keeps its stream after writing its end reason, so the peer can read it (the stream
 * goes as soon as the peer's end arrives). The connection itself has failed at once.
 */
const LINGER_MS = 2_000;

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
  /**
   * Milliseconds a frame that began to arrive may go without progress — completing, or 64 KiB more of it
   * arriving — before the connection is dropped with a `FrameTimeoutError` (a peer that announces a frame
   * and trickles it, or stops mid-frame, holds nothing for longer). Checked once per period, so a stalled
   * frame is dropped between one and two periods after its last progress; time while this side has paused
   * reading (its reader is behind) does not count. `0` turns the check off. Default: 30 000 (30 s).
   */
  readonly frameTimeout?: number | undefined;
  /**
   * Say on the wire why the connection ends when it does not end cleanly (docs/wire.md §2.4): on `abort()`,
   * on a frame over `maxMessageSize`, on a stalled frame, this end writes an end reason before it closes,
   * and an end reason from the peer fails this end with `ConnectionResetError` saying what the peer said.
   * Both ends must agree: turn it off for peers that speak plain frames only (`handshake: false`
   * sockets). Default: true.
   */
  readonly endReasons?: boolean | undefined;
  /** Names the peer in error messages about its bytes ("the child"). Default: `"the peer"`. */
  readonly peerName?: string | undefined;
}

/** Frame bytes that count as progress of a partial frame in one `frameTimeout` period (or its rest). */
const PROGRESS_MIN = FIRST_RESERVE;

function isDuplex(stream: ByteStream): stream is Duplex {
  return typeof (stream as Duplex).pipe === "function" && typeof (stream as Duplex).write === "function";
}

/** Where a connection's `receiveView()` stands: none waiting or lent, one waiting, one lent. */
const enum ViewState {
  None,
  Waiting,
  Lent,
}

class FramedConnection extends ConnectionBase implements ViewConnection {
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
  readonly #reader: FrameReader | undefined;
  readonly #writer: FrameWriter;
  readonly #endReasons: boolean;
  readonly #frameTimeout: number;
  #peerEnded = false;
  #readableClosed = false;
  #writableClosed = false;
  /** This side stopped reading because its inbox is full. */
  #readingPaused = false;
  /** This end sent a frame: the conversation began, and an abort is worth an end reason. */
  #spoke = false;
  /** What this end writes before its stream goes when it fails (docs/wire.md §2.4). */
  #farewell: Uint8Array | undefined;
  #frameTimer: NodeJS.Timeout | undefined;
  /** The partial frame's state when the frame timer was set: frames completed, bytes held, bytes that count as progress. */
  #markFrames = 0;
  #markBytes = 0;
  #markNeed = 0;
  readonly #onFrameTimer = (): void => this.#checkFrameProgress();
  /** The bytes of the read's chunk that no frame owns, charged after its frames are queued (see #chargeSlack). */
  #slack = 0;
  /** Empty frames go here, from the read that decoded them, instead of to the inbox (see {@link signalFrames}). */
  #onEmpty: (() => void) | undefined;
  readonly #highWaterMark: number;
  /**
   * The read buffers lent messages live in, from the first `receiveView()` on (see {@link ReadPool}); plain
   * receives copy what they take out of them. `undefined` until then: the receive path is as it always was.
   */
  #pool: ReadPool | undefined;
  /** The pool is made but reads do not use it yet: readers that wait from before must not get pooled frames. */
  #poolPending = false;
  #viewState = ViewState.None;
  /**
   * `receiveViews()` was called: reads may queue {@link FrameRun}s (the frames of one read as one item), so every
   * receive takes its message from a run's rest first and the receives of this connection run one after another
   * (see #serial) — a run split between two readers waiting side by side would reorder its messages.
   */
  #runsEver = false;
  /** Runs in the inbox not yet taken out of it. */
  #runsQueued = 0;
  /** The run whose messages from `#restAt` on come next (before the inbox), or none. */
  #rest: FrameRun | undefined;
  #restAt = 0;
  /** Receives called and not yet settled (once `#runsEver`), and the last one's promise (see #serial). */
  #active = 0;
  #tail: Promise<unknown> = Promise.resolve();

  /** See {@link signalFrames}. */
  static signal(connection: Connection, onEmpty: () => void): (() => void) | undefined {
    if (!(connection instanceof FramedConnection) || connection.#onEmpty !== undefined) return undefined;
    connection.#onEmpty = onEmpty;
    const writable = connection.#writable;
    const writer = connection.#writer;
    return () => {
      if (writable.writableEnded || writable.destroyed) return;
      writer.flush(); // what was sent before goes first
      writable.write(EMPTY_FRAME);
    };
  }

  constructor(stream: ByteStream, options: FramedOptions | undefined) {
    super();
    const resolved = resolveConnectionOptions(options);
    this.maxMessageSize = resolved.maxMessageSize;
    this.#highWaterMark = resolved.highWaterMark;
    this.localAddress = options?.localAddress ?? "";
    this.remoteAddress = options?.remoteAddress ?? "";
    this.peer = options?.peer;
    this.#endReasons = options?.endReasons ?? true;
    this.#frameTimeout = frameTimeoutOf(options?.frameTimeout);
    const peerName = options?.peerName ?? "the peer";
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
    this.#reader = reader;
    if (reader !== undefined && reader.maxMessageSize !== resolved.maxMessageSize) {
      throw new InvalidArgumentError(`the reader's maxMessageSize (${reader.maxMessageSize}) differs from the connection's (${resolved.maxMessageSize})`);
    }
    this.inbox = new Inbox({
      highWaterMark: resolved.highWaterMark,
      onFull: () => {
        this.#readingPaused = true;
        if (reader === undefined) readable.pause();
        else reader.paused = true;
      },
      onDrain: () => {
        this.#readingPaused = false;
        if (reader !== undefined) reader.paused = false;
        if (!this.isClosed) readable.resume();
      },
    });
    this.#writer = new FrameWriter(this.#writable, resolved.highWaterMark);
    const decoding = { endReasons: this.#endReasons, peerName, onSlack: (bytes: number) => (this.#slack += bytes) };
    const frames = (received: Uint8Array[], bytes: number): void => this.#received(received, bytes);
    if (reader === undefined) {
      this.#decoder = new FrameDecoder(resolved.maxMessageSize, () => undefined, { ...decoding, onFrames: frames });
      readable.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    } else {
      this.#decoder = reader;
      reader.attach(
        {
          frame: (frame) => this.#received([frame], frame.byteLength),
          frames,
          error: (error) => {
            this.#chargeSlack();
            this.#failByDecoder(error as Error);
          },
          read: () => {
            this.#chargeSlack();
            this.#watchFrame();
            if (this.#poolPending) this.#usePool();
          },
        },
        decoding,
      );
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
    this.#spoke = true;
    return this.#writer.send(message, options);
  }

  /** The batch path: every frame through the writer in one loop, or the batch waits whole (see FrameWriter.sendBatch). */
  protected override writeBatch(messages: readonly Uint8Array[], options: SendOptions | undefined): Promise<void> {
    this.#spoke = true;
    return this.#writer.sendBatch(messages, options);
  }

  /** Ends the stream once what was accepted is written. */
  protected override endSending(): void {
    this.#writer.end((error) => {
      if (error) this.fail(fromSystemError(error, this.describe()));
    });
  }

  /**
   * Tells the peer that this end aborted (docs/wire.md §2.4), after the frames already written — once this
   * end has sent a frame: a client that gives up on a server's status frame (§2.1) just closes.
   */
  protected override onAbort(reason: Error): void {
    if (this.#endReasons && this.#spoke) this.#farewell = encodeEndText(EndReasonCode.Aborted, reason.message);
  }

  /**
   * Unsent messages are dropped and their sends rejected; the stream goes — after the end reason, if this
   * end has one to say: it is written behind what is in flight, reading goes on (discarding) so the peer
   * is not blocked, and the stream is destroyed once the peer ends too or after {@link LINGER_MS}.
   */
  protected override onFail(error: Error): void {
    this.#writer.fail(error);
    this.#decoder.stop();
    if (this.#frameTimer !== undefined) clearTimeout(this.#frameTimer);
    const readable = this.#readable;
    const writable = this.#writable;
    const destroy = (): void => {
      readable.destroy();
      if (!this.#duplex) writable.destroy();
    };
    const farewell = this.#farewell;
    if (farewell === undefined || !writable.writable || writable.destroyed) return destroy();
    const timer = setTimeout(destroy, LINGER_MS);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      destroy();
    };
    writable.end(farewell, () => {
      if (readable.readableEnded || readable.destroyed) done();
    });
    readable.once("end", done);
    if (this.#reader !== undefined) this.#reader.paused = false;
    readable.resume();
  }

  /** A frame the decoder refused (too large, text, a stalled frame) or the peer's end reason. */
  #failByDecoder(error: Error): void {
    if (this.#endReasons && !(error instanceof ConnectionResetError)) {
      this.#farewell =
        error instanceof FrameTooLargeError
          ? encodeEndTooLarge(error.size, error.limit)
          : error.cause instanceof FrameTooLargeError
            ? encodeEndTooLarge(error.cause.size, error.cause.limit)
            : encodeEndText(EndReasonCode.Dropped, error.message);
    }
    this.fail(error);
  }

  #onData(chunk: Uint8Array): void {
    try {
      (this.#decoder as FrameDecoder).push(chunk);
    } catch (error) {
      this.#chargeSlack();
      this.#failByDecoder(error as Error);
      return;
    }
    this.#chargeSlack();
    this.#watchFrame();
    if (this.#poolPending) this.#usePool();
  }

  /**
   * The opt-in zero-copy receive (`ViewConnection.receiveView()`, packages/framing/README.md): the next message,
   * lent as a view of the read buffer it arrived in until its `release()`, which gives the buffer back to be
   * read into again. From the first call on, the connection reads into buffers it recycles, and `receive()`,
   * `receiveBatch()` and iteration copy each message they take out of them (messages queued before stay as
   * they are). Rejects with `ViewHeldError` while a view is lent or another `receiveView()` waits.
   */
  receiveView(options?: ReceiveOptions): Promise<MessageView | undefined> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, "receive"));
    if (this.#viewState !== ViewState.None) return Promise.reject(this.#viewHeld());
    if (this.#pool === undefined) {
      this.#pool = new ReadPool(this.#highWaterMark);
      this.#poolPending = true;
    }
    if (this.#poolPending) this.#usePool();
    this.#viewState = ViewState.Waiting;
    if (this.#runsEver) return this.#serial((waiting) => this.#nextMessage(waiting, this.#lendOf), options).then(this.#lend, this.#unlent);
    return this.inbox.receive(options).then(this.#lend, this.#unlent);
  }

  /**
   * The opt-in zero-copy batch receive (`ViewConnection.receiveViews()`, packages/framing/README.md): waits like
   * `receiveBatch()`, then lends the frames that arrived in one read (at most `maxMessages`, and `maxBytes` of
   * payload — default the `highWaterMark` — the first whatever its size) as one {@link MessageBatchView} of the
   * read buffer, with each message's offset and length; the buffer is read into again once the batch is released.
   * A frame that arrived over several reads comes as a batch of its own. From the first call on, each read's
   * frames are queued as one item (no view per frame) while no plain receive waits; plain receives copy out of
   * them. Rejects with `ViewHeldError` while a view or batch is lent or another `receiveView()`/`receiveViews()`
   * waits.
   */
  receiveViews(options?: ReceiveBatchOptions): Promise<MessageBatchView | undefined> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, "receive"));
    let bounds: { maxMessages: number; maxBytes: number };
    try {
      bounds = checkedBatchBounds(options, this.#highWaterMark);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#viewState !== ViewState.None) return Promise.reject(this.#viewHeld());
    if (this.#pool === undefined) {
      this.#pool = new ReadPool(this.#highWaterMark);
      this.#poolPending = true;
    }
    if (this.#poolPending) this.#usePool();
    this.#runsEver = true;
    // Runs only while no plain reader waits: it would get a whole read's frames at once.
    if (this.#active === 0 && this.inbox.waiting === 0 && this.#onEmpty === undefined) this.#decoder.runs = true;
    this.#viewState = ViewState.Waiting;
    return this.#serial((waiting) => this.#nextBatch(bounds, waiting), options).then(this.#lentBatch, this.#unlent);
  }

  readonly #lentBatch = (batch: MessageBatchView | undefined): MessageBatchView | undefined => {
    this.#viewState = batch === undefined ? ViewState.None : ViewState.Lent;
    return batch;
  };

  /** The next batch: from the rest of a run, else the next item of the inbox (a run, or one message alone). */
  #nextBatch(bounds: { maxMessages: number; maxBytes: number }, options: ReceiveBatchOptions | undefined): Promise<MessageBatchView | undefined> {
    if (this.#rest !== undefined) return Promise.resolve(this.#batchOfRest(bounds));
    return this.inbox.receive(options).then((item) => {
      if (item === undefined) return undefined;
      if (item instanceof FrameRun) {
        this.#runsQueued--;
        this.#rest = item;
        this.#restAt = 0;
        return this.#batchOfRest(bounds);
      }
      return new LentBatch(item, new Uint32Array(1), Uint32Array.of(item.byteLength), () => this.#releaseLent(item));
    });
  }

  /** Lends the next messages of the rest's run within `bounds`; the batch holds the run's buffer until released. */
  #batchOfRest(bounds: { maxMessages: number; maxBytes: number }): MessageBatchView {
    const run = this.#rest!;
    const from = this.#restAt;
    const total = run.offsets.length;
    const bytes = new Uint8Array(run.buffer, run.byteOffset, run.byteLength);
    let offsets = run.offsets;
    let lengths = run.lengths;
    if (from !== 0 || total > bounds.maxMessages || run.payloadBytes > bounds.maxBytes) {
      const limit = Math.min(total, from + bounds.maxMessages);
      let to = from;
      let sum = 0;
      while (to < limit) {
        const length = run.lengths[to]!;
        if (to > from && sum + length > bounds.maxBytes) break;
        sum += length;
        to++;
      }
      offsets = run.offsets.subarray(from, to);
      lengths = run.lengths.subarray(from, to);
      if (to < total) {
        // The run keeps its hold for the rest; the batch takes one of its own.
        this.#restAt = to;
        this.#pool!.hold(run);
        return new LentBatch(bytes, offsets, lengths, () => this.#releaseLent(run));
      }
    }
    // The batch ends the run: it takes the run's hold.
    this.#rest = undefined;
    return new LentBatch(bytes, offsets, lengths, () => this.#releaseLent(run));
  }

  #releaseLent(bytes: Uint8Array): void {
    this.#viewState = ViewState.None;
    this.#pool!.drop(bytes);
  }

  /**
   * The next message for a reader, once runs may be queued: from the rest of a run, else the next item of the
   * inbox (a run becomes the rest). `take` turns a message of a run into what the reader gets (a copy, or a
   * view that holds the run's buffer); a message alone is given as it is.
   */
  #nextMessage<T>(options: ReceiveOptions | undefined, take: (run: FrameRun, index: number) => T): Promise<T | Uint8Array | undefined> {
    if (this.#rest !== undefined) return Promise.resolve(this.#takeRest(take));
    return super.receive(options).then((item) => {
      if (!(item instanceof FrameRun)) return item;
      this.#runsQueued--;
      this.#rest = item;
      this.#restAt = 0;
      return this.#takeRest(take);
    });
  }

  #takeRest<T>(take: (run: FrameRun, index: number) => T): T {
    const run = this.#rest!;
    const index = this.#restAt++;
    const taken = take(run, index);
    if (this.#restAt === run.offsets.length) {
      this.#rest = undefined;
      this.#pool!.drop(run);
    }
    return taken;
  }

  /** Message `index` of `run` as a view that holds the run's buffer (for receiveView()). */
  readonly #lendOf = (run: FrameRun, index: number): Uint8Array => {
    this.#pool!.hold(run);
    return new Uint8Array(run.buffer, run.byteOffset + run.offsets[index]!, run.lengths[index]!);
  };

  /** A copy of message `index` of `run` (for plain receives). */
  readonly #copyOf = (run: FrameRun, index: number): Uint8Array =>
    new Uint8Array(run.buffer, run.byteOffset + run.offsets[index]!, run.lengths[index]!).slice();

  /**
   * Runs `task` once every receive called before it settled (once runs may be queued: see #runsEver); at once
   * when none is pending. A receive waiting in line honours its `signal` and `timeout` from its call on: it
   * leaves the line when either ends the wait (its task never runs), and its task gets the time left.
   */
  #serial<T, O extends WaitOptions>(task: (options: O | undefined) => Promise<T>, options: O | undefined): Promise<T> {
    let promise: Promise<T>;
    if (this.#active === 0) promise = task(options);
    else if (options?.signal === undefined && (options?.timeout === undefined || options.timeout === Infinity)) {
      const run = (): Promise<T> => task(options);
      promise = this.#tail.then(run, run);
    } else {
      const left = deadline(options);
      promise = wait<T>("receive", options, (resolve, reject, disarm) => {
        let gone = false;
        const run = (): void => {
          if (gone) return;
          // Its turn: from here the task's own wait counts what is left of the deadline, and whatever it
          // takes is delivered (a message taken is never dropped by a deadline that ended meanwhile).
          disarm();
          task({ ...options, ...left() } as O).then(resolve, reject);
        };
        this.#tail.then(run, run);
        return () => {
          gone = true;
        };
      });
    }
    this.#active++;
    promise = promise.then(this.#settled as (value: T) => T, this.#settledError);
    this.#tail = promise;
    return promise;
  }

  readonly #settled = (value: unknown): unknown => {
    this.#active--;
    return value;
  };

  readonly #settledError = (error: unknown): never => {
    this.#active--;
    throw error;
  };

  /** A plain receive once runs may be queued: no more runs from the next read; a message of a run is copied. */
  #plainReceive(options: ReceiveOptions | undefined): Promise<Uint8Array | undefined> {
    this.#decoder.runs = false;
    return this.#serial((waiting) => this.#nextMessage(waiting, this.#copyOf).then(this.#keepOne), options);
  }

  /** A plain receiveBatch once runs may be queued: while runs are queued, the messages of one item at a time. */
  #plainBatch(options: ReceiveBatchOptions | undefined): Promise<Uint8Array[] | undefined> {
    this.#decoder.runs = false;
    let bounds: { maxMessages: number; maxBytes: number };
    try {
      bounds = checkedBatchBounds(options, this.#highWaterMark);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#serial((waiting) => {
      if (this.#rest === undefined && this.#runsQueued === 0) return super.receiveBatch(waiting).then(this.#keepAll);
      return this.#nextMessage(waiting, this.#copyOf).then((first) => {
        if (first === undefined) return undefined;
        const batch = [this.#pool!.keep(first)];
        let bytes = first.byteLength;
        while (this.#rest !== undefined && batch.length < bounds.maxMessages) {
          const length = this.#rest.lengths[this.#restAt]!;
          if (bytes + length > bounds.maxBytes) break;
          bytes += length;
          batch.push(this.#takeRest(this.#copyOf));
        }
        return batch;
      });
    }, options);
  }

  readonly #lend = (message: Uint8Array | undefined): MessageView | undefined => {
    if (message === undefined) {
      this.#viewState = ViewState.None;
      return undefined;
    }
    this.#viewState = ViewState.Lent;
    return new LentView(message, () => {
      this.#viewState = ViewState.None;
      this.#pool!.drop(message);
    });
  };

  readonly #unlent = (error: unknown): never => {
    this.#viewState = ViewState.None;
    throw error;
  };

  /** Reads take pooled buffers once no reader waits that was called before the pool existed (see #poolPending). */
  #usePool(): void {
    if (this.inbox.waiting > (this.#viewState === ViewState.Waiting ? 1 : 0)) return;
    this.#poolPending = false;
    this.#decoder.usePool(this.#pool!);
  }

  #viewHeld(): ViewHeldError {
    return new ViewHeldError(
      this.#viewState === ViewState.Lent
        ? `${this.describe()}: release() the view from receiveView() before receiving the next message`
        : `${this.describe()}: a receiveView() is waiting already (one view at a time)`,
    );
  }

  override receive(options?: ReceiveOptions): Promise<Uint8Array | undefined> {
    if (this.#pool === undefined) return super.receive(options);
    if (this.#viewState === ViewState.Lent) return Promise.reject(this.#viewHeld());
    if (this.#runsEver) {
      const signal = options?.signal;
      if (signal?.aborted === true) return Promise.reject(abortError(signal, "receive"));
      return this.#plainReceive(options);
    }
    return super.receive(options).then(this.#keepOne);
  }

  override receiveBatch(options?: ReceiveBatchOptions): Promise<Uint8Array[] | undefined> {
    if (this.#pool === undefined) return super.receiveBatch(options);
    if (this.#viewState === ViewState.Lent) return Promise.reject(this.#viewHeld());
    if (this.#runsEver) {
      const signal = options?.signal;
      if (signal?.aborted === true) return Promise.reject(abortError(signal, "receive"));
      return this.#plainBatch(options);
    }
    return super.receiveBatch(options).then(this.#keepAll);
  }

  override [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const inner = super[Symbol.asyncIterator]();
    return {
      next: () => {
        if (this.#pool === undefined) return inner.next();
        if (this.#viewState === ViewState.Lent) return Promise.reject(this.#viewHeld());
        if (this.#runsEver) return this.#plainReceive(undefined).then((value) => (value === undefined ? ITERATION_DONE : { done: false, value }));
        return inner.next().then((result) => (result.done === true ? result : { done: false, value: this.#pool!.keep(result.value) }));
      },
      return: () => inner.return!(),
    };
  }

  /** A message a plain receive takes: a copy if it lies in a pooled buffer (which it then lets go). */
  readonly #keepOne = (message: Uint8Array | undefined): Uint8Array | undefined => (message === undefined ? undefined : this.#pool!.keep(message));

  readonly #keepAll = (batch: Uint8Array[] | undefined): Uint8Array[] | undefined => {
    if (batch !== undefined) {
      const pool = this.#pool!;
      for (let i = 0; i < batch.length; i++) batch[i] = pool.keep(batch[i]!);
    }
    return batch;
  };

  /**
   * Queues the frames of one read as one array (one cost sum and one full check per read, and the array itself
   * for a waiting `receiveBatch()`); a single frame (a round trip's read) is pushed alone. Empty frames go to
   * the signal instead, if there is one (see {@link signalFrames}).
   */
  #received(frames: Uint8Array[], bytes: number): void {
    if (this.#onEmpty !== undefined) frames = this.#signalEmpty(frames, this.#onEmpty);
    if (this.#runsEver && !this.inbox.finished) for (let i = 0; i < frames.length; i++) if (frames[i] instanceof FrameRun) this.#runsQueued++;
    if (frames.length === 1) this.inbox.push(frames[0]!);
    else this.inbox.pushMany(frames, bytes);
  }

  /** Calls `onEmpty` for each empty frame of `frames`, in order; returns the others. */
  #signalEmpty(frames: Uint8Array[], onEmpty: () => void): Uint8Array[] {
    const messages: Uint8Array[] = [];
    for (const frame of frames) {
      if (frame.byteLength === 0) {
        this.#pool?.drop(frame);
        onEmpty();
      } else messages.push(frame);
    }
    return messages;
  }

  /**
   * After a read's frames were queued: the bytes of its chunk that no frame owns (a partial frame copied out, a
   * saved header, a tail no read will fill) are charged to the last queued frame, which pins them.
   */
  #chargeSlack(): void {
    if (this.#slack !== 0) {
      this.inbox.charge(this.#slack);
      this.#slack = 0;
    }
  }

  /** After each read: a partial frame is watched for progress (one timer per connection, per period). */
  #watchFrame(): void {
    if (this.#frameTimer !== undefined || this.#frameTimeout === 0 || this.#decoder.pendingBytes === 0 || this.isClosed) return;
    this.#markProgress();
    this.#frameTimer = setTimeout(this.#onFrameTimer, this.#frameTimeout);
    this.#frameTimer.unref();
  }

  #markProgress(): void {
    const decoder = this.#decoder;
    this.#markFrames = decoder.framesDecoded;
    this.#markBytes = decoder.pendingBytes;
    const length = decoder.pendingLength;
    const rest = length === 0 ? 4 - this.#markBytes : length + 4 - this.#markBytes;
    this.#markNeed = Math.max(1, Math.min(PROGRESS_MIN, rest));
  }

  #checkFrameProgress(): void {
    this.#frameTimer = undefined;
    const decoder = this.#decoder;
    if (this.isClosed || decoder.pendingBytes === 0) return;
    const progressed = decoder.framesDecoded !== this.#markFrames || decoder.pendingBytes - this.#markBytes >= this.#markNeed;
    if (progressed || this.#readingPaused) {
      this.#watchFrame();
      return;
    }
    const received = decoder.pendingBytes;
    const length = decoder.pendingLength;
    const what =
      length !== 0
        ? `a frame of ${length} bytes (${received - 4} arrived)`
        : received < 4
          ? `a frame header (${received} of its 4 bytes)`
          : `an end reason (docs/wire.md §2.4; ${received} bytes of it arrived)`;
    this.#failByDecoder(
      new FrameTimeoutError(
        `${this.describe()}: ${what} made no progress for ${this.#frameTimeout} ms (frameTimeout): ` +
          `the connection was dropped (a peer that stalls mid-frame, or sends too slowly; raise frameTimeout if it is expected)`,
        this.#frameTimeout,
        received,
        length,
      ),
    );
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
 * The framing options a socket transport derives from its own `listen()`/`connect()` options: their
 * `frameTimeout` (checked here), and end reasons unless the stream is plain frames (`handshake: false`).
 */
export function streamFraming(
  options: { readonly frameTimeout?: number | undefined; readonly handshake?: boolean | undefined } | undefined,
): Pick<FramedOptions, "frameTimeout" | "endReasons"> {
  return { frameTimeout: frameTimeoutOf(options?.frameTimeout), endReasons: options?.handshake !== false };
}

function frameTimeoutOf(value: number | undefined): number {
  if (value === undefined) return DEFAULT_FRAME_TIMEOUT;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`frameTimeout must be an integer number of milliseconds from 0 to ${2 ** 31 - 1}, got ${String(value)}`);
  }
  return value;
}

const EMPTY_FRAME = new Uint8Array(4);
const ITERATION_DONE: IteratorResult<Uint8Array> = { done: true, value: undefined };

/**
 * Turns the empty frames of a {@link framed} connection into a signal, for a transport that uses the
 * connection as its control channel (the shm transport's doorbell, docs/wire.md §5.6): each empty frame
 * received calls `onEmpty` from the read that decoded it (it is not queued as a message), and the function
 * returned writes an empty frame (4 zero bytes) straight to the stream, at once rather than with the sends of
 * the turn (the frames accepted before it are written first). Once the stream is ended it writes nothing. Returns `undefined` if `connection` is not a framed() connection, or already has one.
 */
export function signalFrames(connection: Connection, onEmpty: () => void): (() => void) | undefined {
  return FramedConnection.signal(connection, onEmpty);
}

/**
 * A message connection over `stream`: each `send()` is one frame (a 4-byte big-endian length, then the
 * bytes), each frame received is one message. The connection owns the stream from now on: do not read or
 * write it elsewhere. Duplex streams are switched to `allowHalfOpen` so that a close by the peer still
 * lets this end deliver what it had accepted. The connection offers `receiveView()`, the opt-in zero-copy
 * receive (packages/framing/README.md).
 */
export function framed(stream: ByteStream, options?: FramedOptions): ViewConnection {
  return new FramedConnection(stream, options);
}
