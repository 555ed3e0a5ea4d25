/**
 * A connection of the shm transport: messages travel through two rings in a segment only the two
 * processes map; the @ipc/unix rendezvous connection carries doorbells and the close, and its end tells
 * when the peer is gone.
 */
import {
  AbortError,
  ClosedError,
  ConnectionResetError,
  FrameTooLargeError,
  InvalidArgumentError,
  MessageTooLargeError,
  abortError,
  race,
  type CloseOptions,
  type Connection,
  type Peer,
  type ReceiveOptions,
  type SendOptions,
} from "@ipc/core";
import { Deferred, settledOf } from "@ipc/core/transport";
import { MessageRing, ringSize } from "../ring.js";
import type { SharedMemory } from "../segment.js";
import { SocketDoorbell } from "./doorbell.js";
import { BELL, FIN } from "./protocol.js";

const RESOLVED = Promise.resolve();
/**
 * Sends and receives that complete at once (the ring had room, or a message) resolve without a turn of
 * the event loop; every this many, one waits for a turn, so a send/receive loop cannot starve the event
 * loop (the peer's close, doorbells and timers come through it).
 */
const YIELD_EVERY = 1024;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

// A connection dropped without being read to its end still lets go of its segment when collected.
const release = new FinalizationRegistry<SharedMemory>((memory) => memory.close());

const enum State {
  Open,
  Closing,
  Closed,
}

/** One end of an shm connection. `server`: ring 0 is its sending ring (the client's receiving one). */
export class ShmConnection implements Connection {
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly maxMessageSize: number;
  readonly #memory: SharedMemory;
  readonly #control: Connection;
  readonly #doorbell: SocketDoorbell;
  readonly #tx: MessageRing;
  readonly #rx: MessageRing;
  readonly #closed = new Deferred();
  #state = State.Open;
  /** Why the connection failed; the rings throw it once nothing is left to read. */
  #error: Error | undefined;
  #peerFinished = false;
  #finished = false;
  #spent = false;
  #controlEnded = false;
  #immediate = 0;

  constructor(memory: SharedMemory, control: Connection, server: boolean, address: string, options: { maxMessageSize: number; spin: number }) {
    this.#memory = memory;
    this.#control = control;
    this.localAddress = address;
    this.remoteAddress = address;
    this.maxMessageSize = options.maxMessageSize;
    this.#doorbell = new SocketDoorbell(() => void control.send(BELL).catch(() => undefined));
    const capacity = (memory.size - 2 * ringSize(0)) / 2;
    // Once the control connection is gone nothing can wake a waiting ring: waiting fails (what is complete
    // in the ring is still read first).
    const failure = (): Error | undefined =>
      this.#error ?? (this.#controlEnded ? new ClosedError(`${address}: the connection is closed`) : undefined);
    const closed = (): boolean => memory.closed;
    // With both ends in this process, spinning cannot help: the peer can only move once we yield.
    const spin = control.peer?.pid === process.pid ? 0 : options.spin;
    const ring = (offset: number): MessageRing =>
      new MessageRing(memory.buffer, offset, { capacity, init: false, doorbell: this.#doorbell, spin, closed, failure });
    const [first, second] = [ring(0), ring(ringSize(capacity))];
    this.#tx = server ? first : second;
    this.#rx = server ? second : first;
    release.register(this, memory, this);
    void this.#controlLoop();
  }

  get peer(): Peer | undefined {
    return this.#control.peer;
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    if (!(message instanceof Uint8Array)) return Promise.reject(new InvalidArgumentError("send() takes a Uint8Array"));
    if (this.#state !== State.Open) return Promise.reject(this.#sendError());
    if (message.byteLength > this.maxMessageSize) return Promise.reject(new MessageTooLargeError(message.byteLength, this.maxMessageSize));
    if (options?.signal?.aborted) return Promise.reject(abortError(options.signal, "send"));
    if (message.byteLength <= this.#tx.maxRecord && this.#tx.tryWrite(message)) return this.#soon();
    return this.#tx.write(message, options);
  }

  receive(options?: ReceiveOptions): Promise<Uint8Array | undefined> {
    if (this.#spent) return this.#error === undefined ? Promise.resolve(undefined) : Promise.reject(this.#error);
    let message: Uint8Array | undefined | null;
    try {
      message = this.#rx.tryRead();
    } catch {
      message = undefined; // a read() is waiting: queue behind it
    }
    if (!(message instanceof Uint8Array)) return this.#receiveSlow(options);
    try {
      const checked = this.#checkSize(message);
      return this.#soon().then(() => checked);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.receive().then((value) => (value === undefined ? DONE : { done: false, value })),
      return: () => Promise.resolve(DONE),
    };
  }

  async close(options?: CloseOptions): Promise<void> {
    this.#beginClose();
    try {
      await race("close", settledOf(this.#closed.promise), options);
    } catch (error) {
      this.abort(error as Error);
    }
  }

  abort(reason?: Error): void {
    if (this.#spent) return;
    this.#fail(reason ?? new AbortError("the connection was aborted"));
    this.#spend();
    this.#control.abort(reason);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #receiveSlow(options: ReceiveOptions | undefined): Promise<Uint8Array | undefined> {
    let message: Uint8Array | undefined;
    try {
      message = await this.#rx.read({ ...options, maxMessageSize: this.maxMessageSize });
    } catch (error) {
      if (error instanceof MessageTooLargeError) {
        const tooLarge = new FrameTooLargeError(error.size, error.limit);
        this.abort(tooLarge);
        throw tooLarge;
      }
      // The connection failed and nothing complete is left to read: the end of this side's reading.
      if (error === this.#error) this.#spend();
      throw error;
    }
    if (message === undefined) this.#spend();
    return message === undefined ? undefined : this.#checkSize(message);
  }

  /** Resolved at once, except every YIELD_EVERY-th time: then after a turn of the event loop. */
  #soon(): Promise<void> {
    return ++this.#immediate % YIELD_EVERY === 0 ? turn() : RESOLVED;
  }

  #checkSize(message: Uint8Array): Uint8Array {
    if (message.byteLength <= this.maxMessageSize) return message;
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
      }
    } catch {
      // the peer's end: judged below
    }
    this.#controlEnded = true;
    this.#doorbell.end();
    if (this.#state === State.Closed) return;
    if (this.#peerFinished && this.#finished) return this.#done();
    this.#fail(new ConnectionResetError(`${this.remoteAddress}: the peer went away without closing the connection (it died or aborted)`));
  }

  #onPeerFinished(): void {
    this.#peerFinished = true;
    this.#doorbell.rang(); // a reader sleeping on the ring finds the end record now
    this.#beginClose();
    if (this.#finished) this.#done();
  }

  /** Stops accepting sends; once what was accepted is in the ring, writes the end and tells the peer. */
  #beginClose(): void {
    if (this.#state !== State.Open) return;
    this.#state = State.Closing;
    void this.#finish().catch((error: unknown) => this.#fail(error as Error));
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
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    this.#closed.resolve();
    void this.#control.close();
  }

  #fail(error: Error): void {
    if (this.#state === State.Closed && this.#error !== undefined) return;
    this.#state = State.Closed;
    this.#error ??= error;
    this.#closed.reject(this.#error);
    this.#doorbell.end();
    this.#unmapIfDone();
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
    if (!this.#spent || (!this.#finished && this.#error === undefined) || this.#memory.closed) return;
    release.unregister(this);
    this.#memory.close();
  }

  #sendError(): Error {
    if (this.#error !== undefined) return this.#error;
    return new ClosedError(
      this.#peerFinished
        ? `${this.remoteAddress}: the peer closed the connection; no more messages can be sent`
        : `${this.remoteAddress}: the connection is closing; no more messages can be sent`,
    );
  }
}
