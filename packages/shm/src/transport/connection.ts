/**
 * A connection of the shm transport: messages travel through two rings in a segment only the two
 * processes map; the @ipc/unix rendezvous connection carries doorbells and the close, and its end tells
 * when the peer is gone.
 */
import {
  ClosedError,
  abortError,
  ConnectionResetError,
  FrameTooLargeError,
  MessageTooLargeError,
  ProtocolError,
  type Connection,
  type Peer,
  type ReceiveBatchOptions,
  type ReceiveOptions,
  type SendOptions,
} from "@ipc/core";
import { ConnectionBase, checkedBatchBounds } from "@ipc/core/transport";
import { signalFrames } from "@ipc/framing";
import { ViewHeldError } from "../errors.js";
import { MessageRing, ringSize, type LentRecords } from "../ring.js";
import type { SharedMemory } from "../segment.js";
import { SocketDoorbell } from "./doorbell.js";
import { ABORT, AbortCode, BELL, FIN, decodeAbort, encodeAbort } from "./protocol.js";
import { MessageBatchView, MessageView, type ShmBatchView, type ShmMessageView } from "./view.js";

const RESOLVED = Promise.resolve();
/** The options of a read that already spun. */
const NO_SPIN = { spin: 0 } as const;
/**
 * Sends and receives that complete at once (the ring had room, or a message) resolve without a turn of
 * the event loop; every this many, one waits for a turn, so a send/receive loop cannot starve the event
 * loop (the peer's close, doorbells and timers come through it).
 */
const YIELD_EVERY = 1024;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A receive() parked on the doorbell, and how to settle it. */
interface Parked {
  readonly promise: Promise<Uint8Array | undefined>;
  readonly resolve: (message: Uint8Array | undefined) => void;
  readonly reject: (error: unknown) => void;
}

// A connection dropped without being read to its end still lets go of its segment when collected.
const release = new FinalizationRegistry<SharedMemory>((memory) => memory.close());

/**
 * One end of an shm:// connection (what `connect()` returns and a listener yields): a `Connection`, plus
 * {@link ShmConnection.receiveView} and {@link ShmConnection.receiveViews}, the opt-in zero-copy receives (one
 * message, or all that has arrived). `server`: ring 0 is its sending ring.
 */
export class ShmConnection extends ConnectionBase {
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly maxMessageSize: number;
  /** None: messages are read from the ring as they are asked for. */
  protected readonly inbox = undefined;
  readonly #memory: SharedMemory;
  readonly #control: Connection;
  readonly #doorbell: SocketDoorbell;
  readonly #tx: MessageRing;
  readonly #rx: MessageRing;
  /** Why reading stopped before the end (the failure, or an abort): `receive()` rejects with it. */
  #dropped: Error | undefined;
  #peerFinished = false;
  #finished = false;
  #spent = false;
  #controlEnded = false;
  #immediate = 0;
  /** The default `maxBytes` of receiveBatch(): the connection's highWaterMark. */
  readonly #batchBytes: number;
  /** The longest message send() writes straight into the ring: one record, within maxMessageSize. */
  readonly #smallest: number;
  /** The view lent by receiveView() and not released yet: it pins the ring's tail (and the mapping). */
  #view: MessageView | MessageBatchView | undefined;
  /** A receiveView() or receiveViews() waits for its message: another one would be refused once it is lent. */
  #viewWaiting = false;
  /**
   * A receive() asleep on the doorbell itself (see #park): the bell's read takes its message and resolves it,
   * past the ring's read queue. Other reads wait behind it.
   */
  #parked: Parked | undefined;

  /** @internal Made by the shm transport's listen() / connect(). */
  constructor(
    memory: SharedMemory,
    control: Connection,
    server: boolean,
    address: string,
    options: { maxMessageSize: number; highWaterMark: number; spin: number },
  ) {
    super();
    this.#batchBytes = options.highWaterMark;
    this.#memory = memory;
    this.#control = control;
    this.localAddress = address;
    this.remoteAddress = address;
    this.maxMessageSize = options.maxMessageSize;
    // The bell straight on the socket and rung from its read (docs/wire.md §5.6: still an empty frame); a
    // control connection that is not @ipc/unix's sends it as a message, and #controlLoop rings it.
    const direct = signalFrames(control, () => this.#doorbell.rang());
    this.#doorbell = new SocketDoorbell(direct ?? (() => void control.send(BELL).catch(() => undefined)), direct !== undefined);
    this.#doorbell.onRing = () => this.#unpark();
    const capacity = (memory.size - 2 * ringSize(0)) / 2;
    // Why the connection failed, which the rings throw once nothing is left to read. Once the control
    // connection is gone nothing can wake a waiting ring: waiting fails (what is complete is still read first).
    const failure = (): Error | undefined => this.failure ?? (this.#controlEnded ? new ClosedError(`${address}: the connection is closed`) : undefined);
    const closed = (): boolean => memory.closed;
    // With both ends in this process, spinning cannot help: the peer can only move once we yield.
    const spin = control.peer?.pid === process.pid ? 0 : options.spin;
    const ring = (offset: number): MessageRing =>
      new MessageRing(memory.buffer, offset, { capacity, init: false, doorbell: this.#doorbell, spin, closed, failure });
    const [first, second] = [ring(0), ring(ringSize(capacity))];
    this.#tx = server ? first : second;
    this.#rx = server ? second : first;
    this.#smallest = Math.min(this.#tx.maxRecord, this.maxMessageSize);
    release.register(this, memory, this);
    void this.#controlLoop();
  }

  get peer(): Peer | undefined {
    return this.#control.peer;
  }

  /**
   * The common send in one step (issue 17's per-message rate): without options, a message that fits one
   * record and the connection's limit goes straight into the ring while the connection is open, and resolves
   * with the shared resolved promise. Anything else — options, a large message, a full ring, a closed or
   * broken connection — takes the shared path (ConnectionBase's checks, then write()), which judges it.
   */
  override send(message: Uint8Array, options?: SendOptions): Promise<void> {
    if (options === undefined && message instanceof Uint8Array && message.length <= this.#smallest && this.isOpen) {
      try {
        if (this.#tx.tryWrite(message)) return this.#soon();
      } catch {
        // nothing was written: the shared path meets the same error and handles it
      }
    }
    return super.send(message, options);
  }

  protected override write(message: Uint8Array, options: SendOptions | undefined): Promise<void> {
    try {
      if (message.length <= this.#tx.maxRecord && this.#tx.tryWrite(message)) return this.#soon();
    } catch (error) {
      return Promise.reject(this.#broken(error));
    }
    return this.#tx.write(message, options).catch((error: unknown) => {
      throw this.#broken(error);
    });
  }

  /**
   * A ring whose other side broke its protocol (a `ProtocolError` from the ring: a corrupt length, head or
   * flags) fails this connection with it, and tells the peer; other errors pass through.
   */
  #broken(error: unknown): unknown {
    if (error instanceof ProtocolError) this.abort(error);
    return error;
  }

  /**
   * The batch goes into the ring with one release store and at most one doorbell. It is accepted — and
   * this resolves — once its first record is in the ring; the rest is committed and follows in order as the
   * reader frees room, whatever the signal or timeout say, so a batch is never split (docs/wire.md §5.5,
   * "Batches"). If the wait for room for the first record ends first, nothing was written: withdrawn whole.
   */
  protected override writeBatch(messages: readonly Uint8Array[], options: SendOptions | undefined): Promise<void> {
    const accepted = this.#tx.writeBatch(messages, options).catch((error: unknown) => {
      throw this.#broken(error);
    });
    return ++this.#immediate % YIELD_EVERY === 0 ? accepted.then(turn) : accepted;
  }

  /**
   * Every complete message in the ring within the bounds, copied out with one allocation for the batch,
   * their space freed with one store (MessageRing.tryReadBatch); waits (spin, then sleep) only when none is
   * there. `maxBytes` defaults to the connection's highWaterMark.
   */
  protected override readBatch(options: ReceiveBatchOptions | undefined): Promise<Uint8Array[] | undefined> {
    if (this.#parked !== undefined) return this.#behindParked(() => this.readBatch(options));
    let bounds: { maxMessages: number; maxBytes: number };
    try {
      bounds = checkedBatchBounds(options, this.#batchBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    const early = this.#cannotRead();
    if (early !== undefined) return early;
    const batch: Uint8Array[] = [];
    let spun = false;
    try {
      let taken = this.#rx.tryReadBatch(batch, bounds.maxMessages, bounds.maxBytes, this.maxMessageSize);
      if (taken === 0 && !this.#doorbell.pending) {
        spun = true;
        if (this.#rx.spinUntilReadable()) taken = this.#rx.tryReadBatch(batch, bounds.maxMessages, bounds.maxBytes, this.maxMessageSize);
      }
      if (taken === null) return this.#readBatchSlow(options, bounds); // the end: judged there
      if (taken > 0) {
        this.#checkSize(batch[0]!);
        return this.#soonWith(batch);
      }
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof FrameTooLargeError) return Promise.reject(this.#broken(error));
      // a read() is waiting: queue behind it
    }
    return this.#readBatchSlow(spun ? { ...options, spin: 0 } : options, bounds);
  }

  async #readBatchSlow(
    options: (ReceiveBatchOptions & { spin?: number }) | undefined,
    bounds: { maxMessages: number; maxBytes: number },
  ): Promise<Uint8Array[] | undefined> {
    const batch: Uint8Array[] = [];
    let taken: number | null;
    try {
      taken = await this.#rx.readBatch(batch, bounds.maxMessages, bounds.maxBytes, this.maxMessageSize, options);
    } catch (error) {
      throw this.#readFailed(error);
    }
    if (taken === null) {
      this.#spend();
      return undefined;
    }
    this.#checkSize(batch[0]!);
    return batch;
  }

  /**
   * The opt-in zero-copy receive (default off: `receive()`, `receiveBatch()` and iteration copy every
   * message). Waits like `receive()` for the next message and lends it as a view of the ring itself, valid
   * until its `release()`: no copy and no allocation for the bytes. Until the view is released this
   * connection lends or returns no other message (they reject with `ViewHeldError`), and the sender cannot
   * reuse the view's space, so release it promptly. Using the view after `release()`, or releasing it
   * twice, throws `ViewReleasedError`. A message longer than half the ring (which travels in chunks) comes
   * as a view of an assembled copy, with the same rules. Resolves `undefined` at the clean end.
   */
  receiveView(options?: ReceiveOptions): Promise<ShmMessageView | undefined> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, "receive"));
    if (this.#parked !== undefined) return this.#behindParked(() => this.receiveView(options));
    const early = this.#cannotRead(true);
    if (early !== undefined) return early;
    try {
      const view = this.#lend();
      if (view === null) return Promise.resolve(undefined);
      if (view !== undefined) return this.#soonWith(view);
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof FrameTooLargeError) return Promise.reject(this.#broken(error));
    }
    return this.#receiveViewSlow(options);
  }

  async #receiveViewSlow(options: ReceiveOptions | undefined): Promise<ShmMessageView | undefined> {
    let bytes: Uint8Array | null;
    this.#viewWaiting = true;
    try {
      bytes = await this.#rx.readViewWaiting({ ...options, maxMessageSize: this.maxMessageSize });
    } catch (error) {
      throw this.#readFailed(error);
    } finally {
      this.#viewWaiting = false;
    }
    if (bytes === null) {
      this.#spend();
      return undefined;
    }
    return this.#viewOf(this.#checkSize(bytes));
  }

  /**
   * The opt-in zero-copy receive of a batch (default off, like {@link ShmConnection.receiveView}): waits like
   * `receiveBatch()` until something arrived, then lends all that has arrived — in one stretch of the ring,
   * within `maxMessages` and `maxBytes` (default: the connection's highWaterMark) — as one view of the ring
   * with each message's offset and length (`at(i)` makes a `Uint8Array` of one). No copy and no allocation
   * per message. The batch is valid until its `release()`, which gives its space back to the sender; until
   * then this connection lends or returns no other message (`ViewHeldError`), and the batch's getters throw
   * `ViewReleasedError` after it. A message longer than half the ring comes alone, as a view of an assembled
   * copy. Resolves `undefined` at the clean end.
   */
  receiveViews(options?: ReceiveBatchOptions): Promise<ShmBatchView | undefined> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, "receive"));
    if (this.#parked !== undefined) return this.#behindParked(() => this.receiveViews(options));
    let bounds: { maxMessages: number; maxBytes: number };
    try {
      bounds = checkedBatchBounds(options, this.#batchBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    const early = this.#cannotRead(true);
    if (early !== undefined) return early;
    let spun = false;
    try {
      let lent = this.#rx.lendBatch(bounds.maxMessages, bounds.maxBytes, this.maxMessageSize);
      if (lent === undefined && !this.#doorbell.pending) {
        spun = true;
        if (this.#rx.spinUntilReadable()) lent = this.#rx.lendBatch(bounds.maxMessages, bounds.maxBytes, this.maxMessageSize);
      }
      if (lent === null) {
        this.#spend();
        return Promise.resolve(undefined);
      }
      if (lent !== undefined) return this.#soonWith(this.#batchViewOf(lent));
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof FrameTooLargeError) return Promise.reject(this.#broken(error));
      // a read() is waiting: queue behind it
    }
    return this.#receiveViewsSlow(spun ? { ...options, spin: 0 } : options, bounds);
  }

  async #receiveViewsSlow(
    options: (ReceiveBatchOptions & { spin?: number }) | undefined,
    bounds: { maxMessages: number; maxBytes: number },
  ): Promise<ShmBatchView | undefined> {
    let lent: LentRecords | null;
    this.#viewWaiting = true;
    try {
      lent = await this.#rx.lendBatchWaiting(bounds.maxMessages, bounds.maxBytes, this.maxMessageSize, options);
    } catch (error) {
      throw this.#readFailed(error);
    } finally {
      this.#viewWaiting = false;
    }
    if (lent === null) {
      this.#spend();
      return undefined;
    }
    return this.#batchViewOf(lent);
  }

  /**
   * Lends `lent` as a batch (the ring's records, or an assembled copy). Only its first message can be over
   * maxMessageSize (the ring stops a batch before a longer one): refused like #checkSize, which fails the connection.
   */
  #batchViewOf(lent: LentRecords): MessageBatchView {
    const first = lent.lengths[0]!;
    if (first > this.maxMessageSize) {
      this.#rx.release();
      const error = new FrameTooLargeError(first, this.maxMessageSize);
      this.abort(error);
      throw error;
    }
    const view = new MessageBatchView(lent.bytes, lent.offsets, lent.lengths, () => {
      this.#view = undefined;
      if (!this.#memory.closed) this.#rx.release();
      this.#unmapIfDone();
    });
    this.#view = view;
    return view;
  }

  /** Lends the next message as a view; undefined if none is complete; null (and reading ends) at the end. */
  #lend(): MessageView | null | undefined {
    const bytes = this.#rx.readView();
    if (bytes === null) {
      this.#spend();
      return null;
    }
    if (bytes === undefined) return undefined;
    return this.#viewOf(this.#checkSize(bytes));
  }

  /** Lends `bytes` (a view of the ring, or an assembled copy: releasing that frees nothing, harmlessly). */
  #viewOf(bytes: Uint8Array): MessageView {
    const view = new MessageView(bytes, () => {
      this.#view = undefined;
      if (!this.#memory.closed) this.#rx.release();
      this.#unmapIfDone();
    });
    this.#view = view;
    return view;
  }

  /**
   * Why a read cannot go on now: a view still lent (or, for another receiveView()/receiveViews(), one being
   * waited for: it will be lent), or reading is over (the end, or the failure).
   */
  #cannotRead(lending = false): Promise<undefined> | undefined {
    if (this.#view !== undefined || (lending && this.#viewWaiting)) {
      return Promise.reject(
        new ViewHeldError(`${this.remoteAddress}: release() the view from receiveView() or receiveViews() before receiving the next message`),
      );
    }
    if (this.#spent) {
      const error = this.#dropped ?? this.failure;
      return error === undefined ? Promise.resolve(undefined) : Promise.reject(error);
    }
    return undefined;
  }

  /** A waiting read failed: the connection's failure ends this side's reading; a broken ring fails it. */
  #readFailed(error: unknown): unknown {
    if (error instanceof MessageTooLargeError) {
      // A chunked message over maxMessageSize, found while it was assembled.
      const tooLarge = new FrameTooLargeError(error.size, error.limit);
      this.abort(tooLarge);
      return tooLarge;
    }
    if (error instanceof ProtocolError) return this.#broken(error);
    if (error === this.failure) this.#spend();
    return error;
  }

  /**
   * The next message: at once if one is in the ring; else, while spinning pays off, after a spin right here
   * (no promise until something came: the round trip of docs/benchmarks.md's "both sides spinning" rows);
   * else waiting (MessageRing.read: sleeps until the doorbell).
   */
  protected override read(options: ReceiveOptions | undefined): Promise<Uint8Array | undefined> {
    if (this.#parked !== undefined) return this.#behindParked(() => this.read(options));
    const early = this.#cannotRead();
    if (early !== undefined) return early;
    let message: Uint8Array | undefined | null;
    let spun = false;
    try {
      message = this.#rx.tryRead();
      if (message === undefined && !this.#doorbell.pending) {
        spun = true;
        if (this.#rx.spinUntilReadable()) message = this.#rx.tryRead();
      }
    } catch (error) {
      if (error instanceof ProtocolError) return Promise.reject(this.#broken(error));
      message = undefined; // a read() is waiting: queue behind it
    }
    if (!(message instanceof Uint8Array)) {
      if (message === undefined && spun && options?.signal === undefined && options?.timeout === undefined) return this.#park();
      return this.#receiveSlow(spun ? { ...options, spin: 0 } : options);
    }
    try {
      const checked = this.#checkSize(message);
      return this.#soonWith(checked);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stops accepting sends; once what was accepted is in the ring, writes the end and tells the peer. */
  protected override endSending(): void {
    void this.#finish().catch((error: unknown) => this.fail(error as Error));
  }

  /** Tells the peer why ('A', docs/wire.md §5.6), then closes the control connection behind it. */
  protected override onAbort(reason: Error): void {
    const control = this.#control;
    control.send(encodeAbort(reason)).then(
      () => void control.close().catch(() => undefined),
      () => control.abort(reason),
    );
  }

  protected override onFail(): void {
    this.#doorbell.end();
    this.#unmapIfDone();
  }

  /** What is left in the ring goes with the segment, once this side's end record is written (or never will be). */
  protected override dropUnread(error: Error): void {
    this.#dropped ??= error;
    this.#doorbell.end();
    this.#spend();
  }

  /**
   * Waits for the next message on the doorbell itself (a receive without signal or timeout, after its spin):
   * the asleep flag is set, and the bell's read (#unpark, from the socket's read callback) takes the message
   * and resolves this — no timer, no promise chain through the ring's read queue (the idle round trip of
   * docs/benchmarks.md). No wake-up is lost: the producer stores its head before it looks at the flag, and
   * this side sets the flag before it looks at the head (docs/wire.md §5.5). Anything but a message on
   * waking (the end, a chunked message, the connection's end) is left to the ring's read().
   */
  #park(): Promise<Uint8Array | undefined> {
    try {
      if (this.#rx.reading || this.#rx.sleepUnlessReadable()) return this.#receiveSlow(NO_SPIN);
    } catch {
      return this.#receiveSlow(NO_SPIN); // a broken or closed ring: judged there
    }
    let settle!: Pick<Parked, "resolve" | "reject">;
    const promise = new Promise<Uint8Array | undefined>((resolve, reject) => void (settle = { resolve, reject }));
    this.#parked = { promise, ...settle };
    return promise;
  }

  /** The doorbell rang, or the connection ended: a parked receive takes its message, or hands over to read(). */
  #unpark(): void {
    const parked = this.#parked;
    if (parked === undefined) return;
    let message: Uint8Array | undefined | null;
    try {
      if (!this.#memory.closed && !this.#doorbell.ended) {
        if (!this.#rx.readable) return; // a bell for the other ring: still asleep
        this.#rx.awake();
        message = this.#rx.tryRead();
      }
    } catch {
      message = undefined; // judged by read() below
    }
    this.#parked = undefined;
    if (message instanceof Uint8Array) {
      try {
        parked.resolve(this.#checkSize(message));
      } catch (error) {
        parked.reject(error);
      }
      return;
    }
    if (!this.#memory.closed) this.#rx.awake();
    this.#receiveSlow(NO_SPIN).then(parked.resolve, parked.reject);
  }

  /** `retry` once the parked receive is settled (reads are served in call order). */
  #behindParked<T>(retry: () => Promise<T>): Promise<T> {
    return this.#parked!.promise.then(retry, retry);
  }

  async #receiveSlow(options: (ReceiveOptions & { spin?: number }) | undefined): Promise<Uint8Array | undefined> {
    let message: Uint8Array | undefined;
    try {
      message = await this.#rx.read({ ...options, maxMessageSize: this.maxMessageSize });
    } catch (error) {
      throw this.#readFailed(error);
    }
    if (message === undefined) this.#spend();
    return message === undefined ? undefined : this.#checkSize(message);
  }

  /** `value`, resolved at once except every YIELD_EVERY-th time (with {@link #soon}): then after a turn. */
  #soonWith<T>(value: T): Promise<T> {
    return ++this.#immediate % YIELD_EVERY === 0 ? turn().then(() => value) : Promise.resolve(value);
  }

  /** Resolved at once, except every YIELD_EVERY-th time: then after a turn of the event loop. */
  #soon(): Promise<void> {
    return ++this.#immediate % YIELD_EVERY === 0 ? turn() : RESOLVED;
  }

  #checkSize(message: Uint8Array): Uint8Array {
    if (message.length <= this.maxMessageSize) return message;
    const error = new FrameTooLargeError(message.byteLength, this.maxMessageSize);
    this.abort(error);
    throw error;
  }

  /** Reads the control connection: bells, the peer's close, and its end. */
  async #controlLoop(): Promise<void> {
    try {
      for await (const message of this.#control) {
        if (message.byteLength === 0) this.#doorbell.rang();
        else if (message.byteLength === 1 && message[0] === FIN[0]) this.#onPeerFinished();
        else if (message[0] === ABORT) this.#onPeerAborted(message);
      }
    } catch {
      // the peer's end: judged below
    }
    this.#controlEnded = true;
    this.#doorbell.end();
    if (this.isClosed) return;
    if (this.#peerFinished && this.#finished) return this.#done();
    this.fail(new ConnectionResetError(`${this.remoteAddress}: the peer went away without closing the connection (it died or aborted)`));
  }

  /**
   * The peer aborted: what it sent before is still read from the ring, then receive() and `closed` reject
   * with a ConnectionResetError saying so (and why, when the peer refused a message as too large).
   */
  #onPeerAborted(frame: Uint8Array): void {
    const reason = decodeAbort(frame);
    const who = `${this.remoteAddress}: the peer`;
    const text = reason.text === "" ? "" : `: ${reason.text}`;
    let error: ConnectionResetError;
    if (reason.size !== undefined && reason.limit !== undefined) {
      error = new ConnectionResetError(
        `${who} refused a message of ${reason.size} bytes, over its maxMessageSize of ${reason.limit} bytes, ` +
          `and closed the connection (send smaller messages, or raise maxMessageSize on the receiving side)`,
        { cause: new FrameTooLargeError(reason.size, reason.limit) },
      );
    } else if (reason.reason === AbortCode.Dropped) {
      error = new ConnectionResetError(`${who} dropped the connection${text}`);
    } else {
      error = new ConnectionResetError(`${who} aborted the connection${text}`);
    }
    this.#doorbell.rang(); // a side waiting on the ring re-checks, and finds the failure once the ring is empty
    this.fail(error);
    this.#doorbell.end();
  }

  #onPeerFinished(): void {
    this.#peerFinished = true;
    this.#doorbell.rang(); // a reader sleeping on the ring finds the end record now
    this.closedByPeer();
    if (this.#finished) this.#done();
  }

  async #finish(): Promise<void> {
    await this.#tx.finish();
    await this.#control.send(FIN);
    this.#finished = true;
    this.#unmapIfDone();
    if (this.#peerFinished) this.#done();
  }

  /** Both sides finished: the connection is closed; what the peer sent stays readable until read. */
  #done(): void {
    if (this.isClosed) return;
    this.finishClose();
    void this.#control.close();
  }

  /** This side read to the end (or gave up reading). */
  #spend(): void {
    if (this.#spent) return;
    this.#spent = true;
    this.#unmapIfDone();
  }

  /**
   * The segment goes once this side no longer uses it: its reading is over, and its end record is
   * written (or the connection failed, so none will be).
   */
  #unmapIfDone(): void {
    if (!this.#spent || (!this.#finished && this.failure === undefined) || this.#memory.closed || this.#view !== undefined) return;
    release.unregister(this);
    this.#memory.close();
  }
}
