/**
 * One stream of a mux: a {@link Connection} paced by credit. Its sender may have at most the receiver's
 * window in flight (each message costs its length, at least 1 byte); the receiver grants more as its
 * application takes messages. A stream whose reader stalls therefore stops only its own sender.
 */
import {
  AbortError,
  ClosedError,
  ConnectionResetError,
  InvalidArgumentError,
  MessageTooLargeError,
  ProtocolError,
  race,
  type CloseOptions,
  type Connection,
  type Peer,
  type ReceiveOptions,
  type SendOptions,
} from "@ipc/core";
import { Deferred, Inbox, queueSend, settledOf, type PendingSend } from "@ipc/core/transport";
import type { MuxFrame } from "./codec.js";

/** What a stream needs from its mux. */
export interface StreamHost {
  readonly connection: Connection;
  readonly maxMessageSize: number;
  /**
   * Sends a data frame on the mux's connection (batched with the other frames of this burst). What is
   * in flight is bounded by the streams' credit, not by the connection's backpressure; a failed write
   * shows as the connection's failure, which fails every stream.
   */
  writeData(stream: number, reply: boolean, payload: Uint8Array): void;
  writeFrame(frame: Exclude<MuxFrame, { kind: "data" }>): void;
  /** The stream is over (both ends closed, or reset): forget it. */
  release(stream: MuxStream): void;
}

/** A logical stream of a mux: a full Connection, plus its name and id. */
export interface MuxStream extends Connection {
  /** The number the opener gave it (from 1, per side). */
  readonly id: number;
  /** The name the opener gave it (`""` if none). */
  readonly name: string;
  /** True on the side that opened it. */
  readonly opened: boolean;
  /** Bytes received and not yet taken by the application; at most the stream's window + one message. */
  readonly bufferedBytes: number;
}

export class Stream implements MuxStream {
  readonly id: number;
  readonly name: string;
  readonly opened: boolean;
  readonly #host: StreamHost;
  readonly #window: number;
  readonly #inbox: Inbox;
  readonly #closed = new Deferred();
  #credit = 0;
  #pending: PendingSend[] = [];
  #unread = 0;
  #consumed = 0;
  /** The credit the peer has left, as this side counts it: the window, plus grants, minus what arrived. */
  #peerCredit: number;
  #closing = false;
  #localEnd = false;
  #peerEnd = false;
  #error: Error | undefined;
  #done = false;

  constructor(host: StreamHost, id: number, name: string, opened: boolean, window: number) {
    this.#host = host;
    this.id = id;
    this.name = name;
    this.opened = opened;
    this.#window = window;
    this.#peerCredit = window;
    // Unbounded here: the window granted to the peer bounds it (a peer beyond it breaks the protocol).
    this.#inbox = new Inbox({ highWaterMark: Number.MAX_SAFE_INTEGER, onTake: (message) => this.#took(message) });
  }

  get localAddress(): string {
    return this.#host.connection.localAddress;
  }
  get remoteAddress(): string {
    return this.#host.connection.remoteAddress;
  }
  get peer(): Peer | undefined {
    return this.#host.connection.peer;
  }
  get maxMessageSize(): number {
    return this.#host.maxMessageSize;
  }
  get closed(): Promise<void> {
    return this.#closed.promise;
  }
  get bufferedBytes(): number {
    return this.#unread;
  }
  /** True while the stream has not ended or failed. */
  get live(): boolean {
    return !this.#done;
  }

  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    if (!(message instanceof Uint8Array)) return Promise.reject(new InvalidArgumentError("send() takes a Uint8Array"));
    if (this.#closing || this.#done) return Promise.reject(this.#error ?? new ClosedError(`stream ${this.#label()} is closing or closed`));
    if (message.byteLength > this.maxMessageSize) return Promise.reject(new MessageTooLargeError(message.byteLength, this.maxMessageSize));
    if (this.#pending.length === 0 && this.#credit > 0) return this.#write(message);
    return queueSend(this.#pending, message, options, () => this.#pump());
  }

  receive(options?: ReceiveOptions): Promise<Uint8Array | undefined> {
    return this.#inbox.receive(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  async close(options?: CloseOptions): Promise<void> {
    if (!this.#closing && !this.#done) {
      this.#closing = true;
      this.#pump();
    }
    try {
      await race("close", settledOf(this.#closed.promise), options);
    } catch (error) {
      this.abort(error as Error);
    }
  }

  abort(reason?: Error): void {
    if (this.#done) return;
    const error = reason ?? new AbortError(`stream ${this.#label()} was aborted`);
    this.#host.writeFrame({ kind: "reset", stream: this.id, reply: !this.opened, message: error.message });
    this.fail(error, true);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The peer granted `credit` more bytes. */
  onCredit(credit: number): void {
    this.#credit += credit;
    this.#pump();
  }

  /** A message from the peer; a peer that sends beyond the window it was granted breaks the protocol. */
  onData(payload: Uint8Array): void {
    if (this.#peerEnd) throw new ProtocolError(`received data on stream ${this.#label()} after its end`);
    // A sender may start a message while it has any credit left, so one message may overshoot.
    if (this.#peerCredit <= 0) {
      throw new ProtocolError(`the peer sent data on stream ${this.#label()} without credit, over its window of ${this.#window} bytes`);
    }
    this.#peerCredit -= cost(payload);
    this.#unread += cost(payload);
    this.#inbox.push(payload);
  }

  /** The peer will send nothing more: deliver what is here, then close this side too. */
  onEnd(): void {
    if (this.#peerEnd) return;
    this.#peerEnd = true;
    this.#inbox.end();
    if (!this.#closing) {
      this.#closing = true;
      this.#pump();
    }
    this.#finishIfDone();
  }

  /** Fails the stream; `discard` drops the messages not yet read. */
  fail(error: Error, discard = false): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    if (discard) this.#inbox.destroy(error);
    else this.#inbox.fail(error);
    for (const entry of this.#pending.splice(0)) entry.reject(error);
    this.#closed.reject(error);
    this.#host.release(this);
  }

  /** The peer reset the stream. */
  onReset(message: string): void {
    this.fail(new ConnectionResetError(`the peer reset stream ${this.#label()}: ${message || "no reason given"}`));
  }

  #write(message: Uint8Array): Promise<void> {
    this.#credit -= cost(message);
    this.#host.writeData(this.id, !this.opened, message);
    return RESOLVED;
  }

  #pump(): void {
    while (this.#pending.length > 0 && this.#credit > 0 && !this.#done) {
      const entry = this.#pending.shift()!;
      void this.#write(entry.message);
      entry.resolve();
    }
    if (this.#closing && this.#pending.length === 0 && !this.#localEnd && !this.#done) {
      this.#localEnd = true;
      this.#host.writeFrame({ kind: "end", stream: this.id, reply: !this.opened });
      this.#finishIfDone();
    }
  }

  #took(message: Uint8Array): void {
    const bytes = cost(message);
    this.#unread -= bytes;
    this.#consumed += bytes;
    // Grant credit back in batches of half a window: fewer frames, and the sender never starves.
    if (this.#consumed * 2 >= this.#window && !this.#peerEnd && !this.#done) {
      this.#host.writeFrame({ kind: "credit", stream: this.id, reply: !this.opened, credit: this.#consumed });
      this.#peerCredit += this.#consumed;
      this.#consumed = 0;
    }
  }

  #finishIfDone(): void {
    if (!this.#localEnd || !this.#peerEnd || this.#done) return;
    this.#done = true;
    this.#closed.resolve();
    this.#host.release(this);
  }

  #label(): string {
    return `${this.opened ? "opened" : "accepted"} #${this.id}${this.name === "" ? "" : ` (${this.name})`}`;
  }
}

const RESOLVED = Promise.resolve();

/** What a message costs of the credit: its length, at least 1 byte (so empty messages are paced too). */
function cost(message: Uint8Array): number {
  return Math.max(1, message.byteLength);
}
