/**
 * One stream of a mux: a {@link Connection} paced by credit. Its sender may have at most the receiver's
 * window in flight (each message costs its length plus 64 bytes, docs/wire.md §8.3); the receiver grants more as its
 * application takes messages. A stream whose reader stalls therefore stops only its own sender.
 *
 * `sendBatch()` checks the credit once for the whole batch: it is accepted when the credit covers every
 * message but the last (which, like a lone message, may overshoot), and its data frames join the mux's batch
 * of this burst, which goes to the connection with one `sendBatch()`. A batch larger than half the window
 * (more than the peer may have granted back after reading everything) is accepted while any credit is
 * left and goes out paced by the credit, like a message larger than the window.
 */
import { ConnectionResetError, DEFAULT_HIGH_WATER_MARK, ProtocolError, type Connection, type Peer, type SendOptions } from "@ipc/core";
import { ConnectionBase, Inbox, queueSend, queueSendBatch, type PendingSend } from "@ipc/core/transport";
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
  /**
   * Sends `messages[from..to)` on a stream whose peer reads runs (docs/wire.md §8.3 `MuxDataRun`): as few frames
   * as the batch's element size allows, batched like writeData's.
   */
  writeRun(stream: number, reply: boolean, messages: readonly Uint8Array[], from: number, to: number): void;
  writeFrame(frame: Exclude<MuxFrame, { kind: "data" }>): void;
  /** Sends what this burst batched in a microtask (a `sendBatch()` of the stream goes out whole, at once). */
  flushSoon(): void;
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

export class Stream extends ConnectionBase implements MuxStream {
  readonly id: number;
  readonly name: string;
  readonly opened: boolean;
  // Unbounded here: the window granted to the peer bounds it (a peer beyond it breaks the protocol).
  protected readonly inbox = new Inbox({
    highWaterMark: Number.MAX_SAFE_INTEGER,
    // Bounded by the window, not a high-water mark: batches of the usual size, as every connection's.
    batchBytes: DEFAULT_HIGH_WATER_MARK,
    onTake: (message) => this.#took(cost(message)),
    onTakeMany: (_messages, from, to, bytes) => this.#took(bytes + (to - from) * MESSAGE_COST),
  });
  readonly #host: StreamHost;
  readonly #window: number;
  #credit = 0;
  /** The window the peer announced (the credit this side started with). */
  #sendWindow = 0;
  #pending: PendingSend[] = [];
  /** Messages of an accepted batch larger than the window, waiting for credit (before any of #pending). */
  #carry: Uint8Array[] = [];
  #carryHead = 0;
  #unread = 0;
  #consumed = 0;
  /** The credit the peer has left, as this side counts it: the window, plus grants, minus what arrived. */
  #peerCredit: number;
  #localEnd = false;
  #peerEnd = false;
  /** The peer announced that it reads MuxDataRun (in its MuxOpen or MuxAccept of this stream). */
  #peerRuns = false;

  constructor(host: StreamHost, id: number, name: string, opened: boolean, window: number) {
    super();
    this.#host = host;
    this.id = id;
    this.name = name;
    this.opened = opened;
    this.#window = window;
    this.#peerCredit = window;
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
  get bufferedBytes(): number {
    return this.#unread;
  }
  /** True while the stream has not ended or failed. */
  get live(): boolean {
    return !this.isClosed;
  }

  protected override write(message: Uint8Array, options: SendOptions | undefined): Promise<void> {
    if (this.#pending.length === 0 && this.#carryHead === this.#carry.length && this.#credit > 0) return this.#write(message);
    return queueSend(this.#pending, message, options, () => this.#pump());
  }

  /** The batch path: one credit check for the whole batch, then every data frame into the mux's batch. */
  protected override writeBatch(messages: readonly Uint8Array[], options: SendOptions | undefined): Promise<void> {
    if (this.#pending.length === 0 && this.#carryHead === this.#carry.length) {
      const take = this.#canTake(messages);
      if (take !== WAIT) {
        this.#writeAll(messages, take);
        return RESOLVED;
      }
    }
    return queueSendBatch(this.#pending, messages, options, () => this.#pump());
  }

  protected override endSending(): void {
    this.#pump();
  }

  protected override onAbort(reason: Error): void {
    this.#host.writeFrame({ kind: "reset", stream: this.id, reply: !this.opened, message: reason.message });
  }

  protected override onFail(error: Error): void {
    for (const entry of this.#pending.splice(0)) entry.reject(error);
    this.#carry = [];
    this.#carryHead = 0;
    this.#host.release(this);
  }

  protected override describe(): string {
    return `stream ${this.opened ? "opened" : "accepted"} #${this.id}${this.name === "" ? "" : ` (${this.name})`}`;
  }

  /** The peer accepted the stream (or opened it) with `window`: the starting credit; `runs`: it reads runs. */
  onStart(window: number, runs: boolean): void {
    this.#sendWindow = window;
    this.#peerRuns = runs;
    this.onCredit(window);
  }

  /** The peer granted `credit` more bytes. */
  onCredit(credit: number): void {
    this.#credit += credit;
    this.#pump();
  }

  /** A message from the peer; a peer that sends beyond the window it was granted breaks the protocol. */
  onData(payload: Uint8Array): void {
    if (this.#peerEnd) throw new ProtocolError(`received data on ${this.describe()} after its end`);
    // A sender may start a message while it has any credit left, so one message may overshoot.
    if (this.#peerCredit <= 0) {
      throw new ProtocolError(`the peer sent data on ${this.describe()} without credit, over its window of ${this.#window} bytes`);
    }
    this.#peerCredit -= cost(payload);
    this.#unread += cost(payload);
    this.inbox.push(payload);
  }

  /**
   * The messages of a MuxDataRun (`payloadBytes` long in all): one check that the sender had credit before
   * each (before the last is enough: the credit only falls along the run), before any is queued.
   */
  onDataRun(payloads: Uint8Array[], payloadBytes: number): void {
    if (this.#peerEnd) throw new ProtocolError(`received data on ${this.describe()} after its end`);
    const count = payloads.length;
    const total = payloadBytes + count * MESSAGE_COST;
    if (this.#peerCredit - (total - cost(payloads[count - 1]!)) <= 0) {
      throw new ProtocolError(`the peer sent data on ${this.describe()} without credit, over its window of ${this.#window} bytes`);
    }
    this.#peerCredit -= total;
    this.#unread += total;
    // The inbox takes the array itself.
    this.inbox.pushMany(payloads);
  }

  /** The peer will send nothing more: deliver what is here, then close this side too. */
  onEnd(): void {
    if (this.#peerEnd) return;
    this.#peerEnd = true;
    this.inbox.end();
    this.closedByPeer();
    this.#finishIfDone();
  }

  /** Fails the stream; `discard` drops the messages not yet read. */
  override fail(error: Error, discard = false): void {
    super.fail(error, discard);
  }

  /** The peer reset the stream. */
  onReset(message: string): void {
    this.fail(new ConnectionResetError(`the peer reset ${this.describe()}: ${message || "no reason given"}`));
  }

  #write(message: Uint8Array): Promise<void> {
    this.#credit -= cost(message);
    this.#host.writeData(this.id, !this.opened, message);
    return RESOLVED;
  }

  /**
   * The cost of `messages` if the credit takes them whole: it covers all but the last (which may overshoot, as a
   * lone message may). A batch that may never fit so (more than half the window before its last message: the
   * peer grants credit back by halves) is taken while any credit is left, and its rest waits in #carry: then
   * {@link PART}. {@link WAIT}: wait for credit. One pass over the batch.
   */
  #canTake(messages: readonly Uint8Array[]): number {
    const credit = this.#credit;
    if (credit <= 0) return WAIT;
    const count = messages.length;
    let before = 0;
    for (let i = 0; i < count - 1; i++) before += messages[i]!.length;
    before += (count - 1) * MESSAGE_COST;
    if (credit > before) return before + cost(messages[count - 1]!);
    return before * 2 > this.#sendWindow ? PART : WAIT;
  }

  /**
   * Writes an accepted batch: each message while there is credit (all of them, unless it was too large), then
   * sends them at once (in a microtask) — with one `sendBatch()` of the connection — so the peer starts on them
   * while this side goes on (rather than at the end of the burst, which a sender that never waits does not reach).
   */
  #writeAll(messages: readonly Uint8Array[], take: number): void {
    let credit = this.#credit;
    let taken = messages.length;
    if (take === PART) for (taken = 0; taken < messages.length && credit > 0; taken++) credit -= cost(messages[taken]!);
    else credit -= take;
    this.#credit = credit;
    for (let i = taken; i < messages.length; i++) this.#carry.push(messages[i]!);
    if (this.#peerRuns && taken > 1) this.#host.writeRun(this.id, !this.opened, messages, 0, taken);
    else for (let i = 0; i < taken; i++) this.#host.writeData(this.id, !this.opened, messages[i]!);
    this.#host.flushSoon();
  }

  #pump(): void {
    const carry = this.#carry;
    while (this.#carryHead < carry.length && this.#credit > 0 && !this.isClosed) void this.#write(carry[this.#carryHead++]!);
    if (this.#carryHead === carry.length && carry.length > 0) {
      this.#carry = [];
      this.#carryHead = 0;
    }
    while (this.#pending.length > 0 && this.#carry.length === 0 && !this.isClosed) {
      const entry = this.#pending[0]!;
      if (entry.batch === undefined) {
        if (this.#credit <= 0) break;
        this.#pending.shift();
        void this.#write(entry.message);
      } else {
        const take = this.#canTake(entry.batch);
        if (take === WAIT) break;
        this.#pending.shift();
        this.#writeAll(entry.batch, take);
      }
      entry.resolve();
    }
    if (!this.isOpen && this.#pending.length === 0 && this.#carry.length === 0 && !this.#localEnd && !this.isClosed) {
      this.#localEnd = true;
      this.#host.writeFrame({ kind: "end", stream: this.id, reply: !this.opened });
      this.#finishIfDone();
    }
  }

  /** The application took messages costing `bytes` (one, or a `receiveBatch()`'s): grant credit back. */
  #took(bytes: number): void {
    this.#unread -= bytes;
    this.#consumed += bytes;
    // Grant credit back in batches of half a window: fewer frames, and the sender never starves.
    if (this.#consumed * 2 >= this.#window && !this.#peerEnd && !this.isClosed) {
      this.#host.writeFrame({ kind: "credit", stream: this.id, reply: !this.opened, credit: this.#consumed });
      this.#peerCredit += this.#consumed;
      this.#consumed = 0;
    }
  }

  #finishIfDone(): void {
    if (!this.#localEnd || !this.#peerEnd || this.isClosed) return;
    this.finishClose();
    this.#host.release(this);
  }
}

const RESOLVED = Promise.resolve();
/** Stream#canTake: wait for credit. */
const WAIT = -2;
/** Stream#canTake: taken while credit is left, the rest paced by the credit. */
const PART = -1;

/**
 * What a message costs of the credit: its length plus a fixed 64 bytes (docs/wire.md §8.3), so a window
 * bounds the count of queued messages too — empty ones cost what their objects and frames take.
 */
function cost(message: Uint8Array): number {
  return message.byteLength + MESSAGE_COST;
}

/** The fixed part of a message's cost, as reliable sessions count theirs (docs/wire.md §8.2). */
const MESSAGE_COST = 64;
