/**
 * The contract every transport implements. A {@link Connection} carries whole messages, in order, both
 * ways; a {@link Listener} yields connections; a {@link Transport} makes both from an address.
 */

/** Who is at the other end, as far as the operating system can tell. */
export interface Peer {
  /** The peer's process id. */
  readonly pid: number;
  /** The peer's effective user id. */
  readonly uid: number;
  /** The peer's effective group id. */
  readonly gid: number;
}

/** Options of every operation that waits. */
export interface WaitOptions {
  /** Aborts the wait: it rejects with `AbortError`, whose `cause` is the signal's reason. Default: none. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Milliseconds to wait before rejecting with `TimeoutError`. Default: no limit, unless the operation
   * says otherwise. `0` means "only if it can complete without waiting".
   */
  readonly timeout?: number | undefined;
}

/** Options of {@link Connection.send}. */
export type SendOptions = WaitOptions;

/** Options of {@link Connection.receive}. */
export type ReceiveOptions = WaitOptions;

/** Options of {@link Connection.receiveBatch}. */
export interface ReceiveBatchOptions extends WaitOptions {
  /** At most this many messages (a positive integer). Default: no limit beyond `maxBytes`. */
  readonly maxMessages?: number | undefined;
  /**
   * At most this many payload bytes in the batch (a positive integer); the first message is returned whatever
   * its size. Default: the connection's `highWaterMark` (256 KiB unless configured), or 256 KiB where the
   * connection has none.
   */
  readonly maxBytes?: number | undefined;
}

/**
 * Options of {@link Connection.close}. The wait is for the peer to finish too; when it expires (or the
 * signal aborts) the connection is aborted instead, and `closed` rejects with the reason.
 */
export interface CloseOptions extends WaitOptions {}

/**
 * A message connection: whole messages (`Uint8Array`), in order, both ways.
 *
 * Receive with `for await (const message of connection)` (iteration ends when the peer closes cleanly and
 * throws a typed error when the connection fails), or one at a time with {@link Connection.receive}.
 * Breaking out of a loop does not close the connection: iterate again to go on. A slow reader slows the
 * sender: nothing is buffered without bound on either side.
 */
export interface Connection extends AsyncIterable<Uint8Array>, AsyncDisposable {
  /** This end's address, as a URL (`unix:///run/app.sock`, `tcp://127.0.0.1:7000`, …). */
  readonly localAddress: string;
  /** The other end's address, as a URL. */
  readonly remoteAddress: string;
  /** The peer's process credentials, where the transport can tell (Unix sockets, shm, memory, pipes). */
  readonly peer: Peer | undefined;
  /** The largest message this connection sends or accepts, in bytes. */
  readonly maxMessageSize: number;

  /**
   * Sends one message. Resolves once the transport has accepted it into its bounded send buffer (or the
   * OS, or the ring); an accepted message is delivered unless the connection breaks. Under backpressure
   * it waits, in order with other sends. Rejects with `ClosedError` once the connection is closing,
   * `MessageTooLargeError` over `maxMessageSize`, `TimeoutError`/`AbortError` from the options while it
   * waits (the message is then withdrawn: never sent), or the error that broke the connection.
   *
   * The transport may read `message` until it is written (large messages are not copied): do not modify
   * the array after sending it; send a fresh one.
   */
  send(message: Uint8Array, options?: SendOptions): Promise<void>;

  /**
   * Sends `messages`, in order, with one call and one wait: the batch path for many small messages. It waits
   * (under `options`, like `send()`) until the connection has room, then accepts the whole batch at once, in
   * order after every earlier send: all of it or, when the wait ends first, none of it (withdrawn whole).
   * Each message is checked like `send()`'s; each costs its bytes plus `BATCH_MESSAGE_OVERHEAD` (128), and a
   * batch whose cost is over `maxMessageSize + 128` (so a batch of one is bounded like `send()`) is refused with
   * `MessageTooLargeError` (send it in smaller batches): a batch holds no more memory than the largest single
   * message. An empty batch resolves at once while open.
   *
   * Accepted means the connection answers for the whole batch: it is delivered, in order, unless the
   * connection breaks. A batch larger than the connection can hold at once (a ring, a layer's credit window) is
   * accepted when the connection can take its first message, like one large message, and the rest follows as
   * room is made; a later timeout never splits it.
   *
   * As with `send()`, the arrays may be read until they are written: do not modify them after sending.
   */
  sendBatch(messages: readonly Uint8Array[], options?: SendOptions): Promise<void>;

  /**
   * Waits for the next message. Resolves with it, or with `undefined` once the peer has closed cleanly
   * and every message before the close was received. Rejects with the error that broke the connection
   * (after every message received before it), or with `TimeoutError`/`AbortError` from the options, which
   * leave the connection and the next message untouched.
   */
  receive(options?: ReceiveOptions): Promise<Uint8Array | undefined>;

  /**
   * Waits for at least one message (under `options`, like `receive()`), then returns, in order, every message
   * already received, bounded by `maxMessages` and `maxBytes`: the batch path's receiving half, one promise
   * for many messages. Resolves with `undefined` at a clean end (after every message), rejects like
   * `receive()`. Never an empty array.
   */
  receiveBatch(options?: ReceiveBatchOptions): Promise<Uint8Array[] | undefined>;

  /**
   * Closes gracefully: no more sends are accepted, everything already accepted is delivered, the peer is
   * told, and it resolves once the peer has closed its side too (the peer's connection closes itself when
   * it sees the close, after delivering what it had already accepted). Messages the peer sent before
   * that are still received. Safe to call more than once. Default timeout: none.
   */
  close(options?: CloseOptions): Promise<void>;

  /**
   * Tears the connection down at once: unsent and unread messages are dropped, pending operations reject
   * with `reason` (default: an `AbortError`), and the peer sees the connection break. Safe to call more
   * than once; later calls do nothing.
   */
  abort(reason?: Error): void;

  /**
   * Settles when the connection is gone: resolves after a graceful close by either side, rejects with the
   * error that ended it otherwise. Never an unhandled rejection by itself.
   */
  readonly closed: Promise<void>;
}

/** A server endpoint: yields each accepted connection. */
export interface Listener extends AsyncIterable<Connection>, AsyncDisposable {
  /** The address clients connect to, as a URL (a port of 0 is reported as the port picked). */
  readonly address: string;
  /**
   * Waits for the next connection. Resolves with `undefined` once the listener is closed. Rejects with
   * `TimeoutError`/`AbortError` from the options.
   */
  accept(options?: WaitOptions): Promise<Connection | undefined>;
  /**
   * Stops accepting and releases the address. Connections already handed out stay open; accepted ones
   * not handed out yet are aborted (their clients see the connection reset). Safe to call more than once.
   */
  close(): Promise<void>;
}

/** Options every connection understands. */
export interface ConnectionOptions {
  /**
   * The largest message sent or accepted, in bytes. A larger incoming frame closes the connection with
   * `FrameTooLargeError` before any of it is allocated. Default: 16 MiB (16 777 216); at most 4 GiB − 2 (4 294 967 294).
   */
  readonly maxMessageSize?: number | undefined;
  /**
   * Bytes buffered by this end in each direction before it pushes back: `send()` waits when this many
   * bytes are accepted but not yet written, and reading from the peer pauses when this many bytes are
   * received but not yet consumed. Default: 256 KiB (262 144).
   */
  readonly highWaterMark?: number | undefined;
}

/** Options of {@link Transport.connect}. `timeout` and `signal` bound the whole connection set-up. */
export interface ConnectOptions extends ConnectionOptions, WaitOptions {}

/** Options of {@link Transport.listen}. */
export interface ListenOptions extends ConnectionOptions {
  /**
   * Accepted connections held for `accept()` before new clients must wait (or are refused, where the
   * transport cannot make them wait). Default: 128.
   */
  readonly backlog?: number | undefined;
}

/**
 * A message lent by `receiveView()` without a copy: `bytes` is a view of memory the connection reuses (its
 * read buffers, a shared-memory ring), valid until `release()`. Until then the connection lends or returns no
 * other message (`receive()`, `receiveBatch()`, iteration and `receiveView()` reject with `ViewHeldError`), and
 * that memory is not reused: release it as soon as you are done. After `release()`, reading `bytes` or
 * releasing again throws `ViewReleasedError`; a reference to `bytes` kept past `release()` cannot be checked —
 * it sees whatever the connection writes there next, so keep none (copy what you keep: `view.bytes.slice()`).
 */
export interface MessageView {
  /** The message, in the connection's memory. Throws `ViewReleasedError` once released. */
  readonly bytes: Uint8Array;
  /** Gives the memory back to the connection. Throws `ViewReleasedError` the second time. */
  release(): void;
  /** True once `release()` was called. */
  readonly released: boolean;
}

/**
 * A {@link Connection} that offers the opt-in zero-copy receives, one message (`receiveView()`) or all that has
 * arrived (`receiveViews()`) — the framed connections of @ipc/unix, @ipc/tcp and @ipc/pipe, and @ipc/shm's:
 * check any connection with `isViewConnection()`.
 */
export interface ViewConnection extends Connection {
  /**
   * Waits like `receive()` for the next message (honouring `signal` and `timeout`) and lends it as a
   * {@link MessageView} until its `release()`; resolves `undefined` at the clean end and rejects with the
   * connection's failure, as `receive()` does. One view at a time: while one is held, or another
   * `receiveView()` waits, it rejects with `ViewHeldError`.
   */
  receiveView(options?: ReceiveOptions): Promise<MessageView | undefined>;
  /**
   * Waits like `receiveBatch()` for messages (honouring `signal` and `timeout`) and lends what has arrived —
   * at most `maxMessages`, and `maxBytes` of payload (default: the connection's `highWaterMark`; the first
   * message comes whatever its size) — as one {@link MessageBatchView} until its `release()`: no copy and no
   * object per message. A batch is one stretch of the connection's memory (the frames of one read, a stretch
   * of a ring), so it may hold fewer messages than have arrived; the next call takes the rest. Resolves
   * `undefined` at the clean end and rejects with the connection's failure, as `receiveBatch()` does. One
   * lent thing at a time: while a view or a batch is held, or another `receiveView()`/`receiveViews()` waits,
   * it rejects with `ViewHeldError`.
   */
  receiveViews(options?: ReceiveBatchOptions): Promise<MessageBatchView | undefined>;
}

/**
 * Messages lent by `receiveViews()` without a copy, all at once: `bytes` is a view of memory the connection
 * reuses, and message `i` of `count` is `bytes[offsets[i], offsets[i] + lengths[i])` — or `at(i)`, a
 * `Uint8Array` view of it. Valid until `release()`, which gives the memory of every message of the batch back
 * at once; until then the connection lends or returns no other message (`ViewHeldError`). After `release()`,
 * reading `bytes`, `offsets`, `lengths` or `at()`, or releasing again, throws `ViewReleasedError`; references
 * kept past `release()` cannot be checked (copy what you keep).
 */
export interface MessageBatchView {
  /** How many messages the batch holds (at least 1). Readable after release. */
  readonly count: number;
  /** The memory holding every message of the batch. Throws `ViewReleasedError` once released. */
  readonly bytes: Uint8Array;
  /** Where each message starts in `bytes`. Throws `ViewReleasedError` once released. */
  readonly offsets: Uint32Array;
  /** Each message's length in bytes. Throws `ViewReleasedError` once released. */
  readonly lengths: Uint32Array;
  /**
   * Message `index` (0 ≤ index < count, else `InvalidArgumentError`) as a view of `bytes`: one allocation
   * each, so read `bytes` at `offsets`/`lengths` in hot loops.
   */
  at(index: number): Uint8Array;
  /** Gives the memory of every message of the batch back to the connection. Throws `ViewReleasedError` the second time. */
  release(): void;
  /** True once `release()` was called. */
  readonly released: boolean;
}

/** A way of making connections, named by its URL scheme. */
export interface Transport<L extends ListenOptions = ListenOptions, C extends ConnectOptions = ConnectOptions> {
  /** The URL scheme without the colon, e.g. `"unix"`. */
  readonly scheme: string;
  /** Starts listening at `address`. Rejects with `AddressInUseError`, `InvalidAddressError`, … */
  listen(address: string, options?: L): Promise<Listener>;
  /** Connects to `address`. Rejects with `ConnectionRefusedError`, `TimeoutError`, `AbortError`, … */
  connect(address: string, options?: C): Promise<Connection>;
}
