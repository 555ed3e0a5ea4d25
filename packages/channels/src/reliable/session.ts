/**
 * One reliable session, the same on both ends: numbered messages kept until acknowledged, replayed on a
 * new connection after a loss, duplicates dropped, acknowledgements batched and piggy-backed, heartbeats.
 * The client (`reliable()`) and server (`reliableListener()`) only differ in how a lost connection is
 * replaced, which they supply as {@link SessionLink}.
 */
import {
  ClosedError,
  DEFAULT_HIGH_WATER_MARK,
  ProtocolError,
  TimeoutError,
  wait,
  type Connection,
  type Peer,
  type SendOptions,
  type WaitOptions,
} from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { ConnectionBase, Inbox, noop, queueSend, queueSendBatch, removeItem, type PendingSend } from "@ipc/core/transport";
import { Batcher, forEachInBatch, isLone, runSpan, sendAll, span } from "../batch.js";
import {
  dataInner,
  decodeSessionFrame,
  encodeAck,
  encodeData,
  encodeGoodbye,
  encodeSessionEnd,
  parseData,
  parsedData,
  parseRun,
  parsedRun,
  RUN_TAG,
  runInner,
  writeData,
  writeRun,
  type Handshake,
  type SessionFrame,
} from "./codec.js";
import { SessionLostError } from "./errors.js";
import { impossiblePosition } from "./handshake.js";
import { ACK_EVERY, MESSAGE_OVERHEAD, type ResolvedSessionOptions } from "./options.js";
import { ReplayBuffer } from "./replay.js";
import { varintLength } from "./varint.js";
import { FEATURE_RUNS } from "../features.js";

/**
 * `connected`: a connection carries the session; `closing`: one still does, and this side or the peer began
 * to end the session (send() refuses; what it accepted is still delivered); `resuming`: the session waits
 * for a new connection (open or closing); `closed`: over.
 */
export type SessionState = "connected" | "closing" | "resuming" | "closed";

/** Counters of a session, for monitoring and tests. */
export interface SessionStats {
  readonly state: SessionState;
  /** Messages accepted by `send()`; also the id of the last one. */
  readonly sent: number;
  /** The highest id the peer acknowledged (every message up to it reached its application). */
  readonly acknowledged: number;
  /** Messages received in order (the highest id received). */
  readonly received: number;
  /** Messages received again after a resume and dropped. */
  readonly duplicates: number;
  /** Messages sent again on a new connection. */
  readonly replayed: number;
  /** Connections the session has run over (1 + the number of resumes). */
  readonly connections: number;
  /** Bytes held for replay (each message counts its length + 64); at most `maxBufferedBytes` (+ one message). */
  readonly bufferedBytes: number;
  /** Messages held for replay; at most `maxBufferedMessages`. */
  readonly bufferedMessages: number;
  /** Bytes received and not yet taken by the application (each message counts its length + 64). */
  readonly unreadBytes: number;
}

/** A reliable session: a {@link Connection} that outlives the connections it runs over. */
export interface ReliableSession extends Connection {
  /** The session's id, hex (32 characters), the same on both ends. */
  readonly id: string;
  readonly state: SessionState;
  readonly stats: SessionStats;
  /** Resolves when every message sent so far is acknowledged by the peer. Rejects if the session fails. */
  flush(options?: WaitOptions): Promise<void>;
}

/** What differs between the two ends: how the session gets a new connection, and what ends it. */
export interface SessionLink {
  /** The session lost its connection with `error` and is not finished: find it a new one. */
  lost(session: Session, error: Error): void;
  /** The session is over (closed or failed); forget it. */
  finished(session: Session): void;
  /**
   * True on the client: once both ends ended, it waits for the server to close the connection (which
   * the server does once it has every acknowledgement), so that no end is left waiting for a lost one.
   */
  readonly closesLast: boolean;
}

interface PendingFlush {
  readonly id: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Bytes of a received frame that its messages do not account for, beyond which their views are charged for
 * them (see Session#chargePinned): a few acks in a batch are not worth counting.
 */
const PIN_SLACK = 256;

/** Bytes a Data envelope adds to a payload, at most (tags, lengths, id and ack varints). */
export const DATA_OVERHEAD = 32;
const RESOLVED = Promise.resolve();
/** Session#roomFor: the batch must wait for room. */
const NO_ROOM = -2;
/** Session#roomFor: nothing is unacknowledged, and the batch is taken as far as the window goes. */
const PART = -1;

export class Session extends ConnectionBase implements ReliableSession {
  readonly id: string;
  readonly sessionId: Uint8Array;
  readonly maxMessageSize: number;
  readonly localAddress: string;
  readonly remoteAddress: string;
  /**
   * The user id of the process that opened the session (its first connection's `peer.uid`), where the
   * transport tells it: only that user may resume the session. `undefined`: the transport does not tell.
   */
  readonly uid: number | undefined;
  readonly #options: ResolvedSessionOptions;
  readonly #link: SessionLink;
  readonly #replay = new ReplayBuffer();
  // Unbounded here: the window announced to the peer bounds it (a peer beyond it breaks the protocol).
  protected readonly inbox = new Inbox({
    highWaterMark: Number.MAX_SAFE_INTEGER,
    // Bounded by the window, not a high-water mark: batches of the usual size, as every connection's.
    batchBytes: DEFAULT_HIGH_WATER_MARK,
    onTake: (message) => this.#took(message),
    onTakeMany: (messages, from, to, bytes) => this.#tookMany(messages, from, to, bytes),
  });
  #connection: Connection | undefined;
  /** Batches what is written to `#connection` in one burst into one frame. */
  #batch: Batcher | undefined;
  #peer: Peer | undefined;
  #state: SessionState = "resuming";
  #pendingSends: PendingSend[] = [];
  /**
   * Messages of an accepted batch too large for the window, not yet numbered: they go out one by one as the
   * peer acknowledges (before any of #pendingSends), as single messages would.
   */
  #carry: Uint8Array[] = [];
  #carryHead = 0;
  #pendingFlushes: PendingFlush[] = [];
  /** The peer's announced window (bytes in flight towards it). */
  #peerWindow = 0;
  #peerAck = 0;
  #received = 0;
  #taken = 0;
  #ackSent = 0;
  #takenCost = 0;
  #unreadCost = 0;
  #unreadCount = 0;
  #ackTimer: NodeJS.Timeout | undefined;
  #ackSoon = false;
  #localEnd = false;
  #peerEnd: number | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #sentSinceTick = false;
  #receivedSinceTick = false;
  #silentFor = 0;
  #duplicates = 0;
  #replayed = 0;
  #connections = 0;
  #lastSend: Promise<void> | undefined;
  /** Bytes of the frame being read that no message delivered from it accounts for (see #chargePinned). */
  #frameWaste = 0;
  /** The last message delivered from the frame being read, while it is unread. */
  #frameLast: Uint8Array | undefined;
  /** Unread messages charged for more than their length: the bytes of their frame they pin. */
  readonly #pinned = new Map<Uint8Array, number>();
  /** The peer reads DataRun on the current connection (both announced it in the handshake). */
  #runs = false;
  /** This side announced that it reads DataRun (a run is a protocol error otherwise). */
  readonly #readsRuns: boolean;

  constructor(sessionId: Uint8Array, options: ResolvedSessionOptions, first: Connection, link: SessionLink) {
    super();
    this.sessionId = sessionId;
    this.id = Buffer.from(sessionId).toString("hex");
    this.#options = options;
    this.#link = link;
    this.maxMessageSize = Math.max(0, first.maxMessageSize - DATA_OVERHEAD);
    this.localAddress = first.localAddress;
    this.remoteAddress = first.remoteAddress;
    this.#peer = first.peer;
    this.uid = first.peer?.uid;
    this.#readsRuns = (options.features & FEATURE_RUNS) !== 0;
    this.#heartbeat = setInterval(() => this.#tick(), options.heartbeatInterval);
    this.#heartbeat.unref();
  }

  get state(): SessionState {
    return this.#state;
  }

  get peer(): Peer | undefined {
    return this.#peer;
  }

  get stats(): SessionStats {
    return {
      state: this.#state,
      sent: this.#replay.nextId - 1 + this.#carried,
      acknowledged: this.#peerAck,
      received: this.#received,
      duplicates: this.#duplicates,
      replayed: this.#replayed,
      connections: this.#connections,
      bufferedBytes: this.#replay.cost,
      bufferedMessages: this.#replay.length,
      unreadBytes: this.#unreadCost,
    };
  }

  /** The id of the last message sent (0: none). */
  get lastSent(): number {
    return this.#replay.nextId - 1;
  }

  /** This end's position, for a Hello or Welcome on a new connection. */
  position(): Omit<Handshake, "version"> {
    return {
      session: this.sessionId,
      received: this.#received,
      ack: this.#acknowledgeable,
      window: this.#options.maxBufferedBytes,
      features: this.#options.features,
    };
  }

  /** What this end acknowledges: what its application took; once the peer ended, everything received. */
  get #acknowledgeable(): number {
    return this.#peerEnd !== undefined ? this.#received : this.#taken;
  }

  /**
   * Why the peer's Hello or Welcome cannot be true of this session (it claims messages that were never
   * sent, fewer than it acknowledged, …), or `undefined`. Checked before {@link attach}: a peer that fails it
   * is refused without touching the session (docs/wire.md §8.2.2).
   */
  impossible(peer: Handshake): string | undefined {
    return impossiblePosition(peer, this.#replay.nextId - 1, this.#peerAck);
  }

  /**
   * Runs the session over `connection`, whose handshake is done (the peer's side of it is `peer`, which
   * passed {@link impossible}); the previous connection, if any, is dropped. `greeting` (the server's
   * Welcome) goes out first.
   */
  attach(connection: Connection, peer: Handshake, greeting?: Uint8Array): void {
    if (this.#state === "closed") {
      connection.abort(new ClosedError("the session is over"));
      return;
    }
    const previous = this.#connection;
    this.#batch?.discard();
    this.#connection = connection;
    this.#batch = new Batcher((messages) => sendAll(connection, messages, this.#handleSent), connection.maxMessageSize);
    previous?.abort(new ConnectionReplaced());
    this.#connections++;
    this.#peer = connection.peer ?? this.#peer;
    this.#peerWindow = peer.window;
    // Runs only where both announced them on this connection: an older peer sees the Data it always saw.
    this.#runs = (peer.features & this.#options.features & FEATURE_RUNS) !== 0;
    this.#silentFor = 0;
    // The Welcome goes out alone and first: the client reads it on its own, before the session's reader.
    if (greeting !== undefined) this.#send(connection, greeting);
    // Replay before anything new goes out: the peer must see ids in order.
    this.#onAck(peer.ack, false);
    const replay = this.#replay.after(peer.received);
    this.#replayed += replay.length;
    if (replay.length > 0) this.#writeMessages(this.#replay.nextId - replay.length, replay, 0, replay.length, this.#taken);
    // The Hello or Welcome of this connection told the peer this end's position().ack.
    this.#ackSent = this.#acknowledgeable;
    if (this.#localEnd) this.#write(encodeSessionEnd(this.#replay.nextId - 1));
    this.#setState(this.isOpen ? "connected" : "closing");
    void this.#read(connection);
    this.#pumpSends();
    // Both ends may have ended, and the peer's Hello/Welcome acknowledged the rest: then this resume
    // only had to say so again, and the session is over.
    this.#finishIfDone();
  }

  protected override write(message: Uint8Array, options: SendOptions | undefined): Promise<void> {
    if (this.#pendingSends.length === 0 && this.#carried === 0 && this.#hasRoom(message)) {
      this.#accept(message);
      return RESOLVED;
    }
    return queueSend(this.#pendingSends, message, options, () => this.#pumpSends());
  }

  /**
   * The batch path: accepted whole when the window has room for all of it (or, like a lone message, when
   * nothing is unacknowledged); its Data frames go out in this burst's batch, which reaches the connection
   * with one `sendBatch()`, and the first carries the pending acknowledgement.
   */
  protected override writeBatch(messages: readonly Uint8Array[], options: SendOptions | undefined): Promise<void> {
    if (this.#pendingSends.length === 0 && this.#carried === 0) {
      const room = this.#roomFor(messages);
      if (room !== NO_ROOM) {
        this.#acceptAll(messages, room);
        return RESOLVED;
      }
    }
    return queueSendBatch(this.#pendingSends, messages, options, () => this.#pumpSends());
  }

  flush(options?: WaitOptions): Promise<void> {
    const id = this.#replay.nextId - 1 + this.#carried;
    if (this.#peerAck >= id) return RESOLVED;
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return wait<void>("flush", options, (resolve, reject) => {
      const entry: PendingFlush = { id, resolve, reject };
      this.#pendingFlushes.push(entry);
      return () => removeItem(this.#pendingFlushes, entry);
    });
  }

  protected override endSending(): void {
    if (this.#state === "connected") this.#setState("closing");
    this.#pumpSends();
  }

  protected override onAbort(reason: Error): void {
    const connection = this.#connection;
    this.#dropBatch();
    if (connection === undefined) return;
    // Tell the peer at once, so that it does not wait resumeTimeout for a session that is gone.
    connection.send(encodeGoodbye(ipc.Goodbye.Reason.REASON_UNSPECIFIED, `the peer aborted the session: ${reason.message}`)).catch(noop);
    void connection.close({ timeout: 1000 }).catch(noop);
    this.#connection = undefined;
  }

  /** Ends the session with `error`: pending operations reject, messages received stay readable (unless `discard`). */
  override fail(error: Error, discard = false): void {
    super.fail(error, discard);
  }

  protected override onFail(error: Error): void {
    this.#stop();
    this.#dropBatch();
    this.#connection?.abort(error);
    this.#connection = undefined;
    for (const entry of this.#pendingSends.splice(0)) entry.reject(error);
    this.#carry = [];
    this.#carryHead = 0;
    for (const entry of this.#pendingFlushes.splice(0)) entry.reject(error);
    this.#setState("closed", error);
    this.#link.finished(this);
  }

  protected override describe(): string {
    return `reliable session ${this.id}`;
  }

  /** A `SessionLostError` with the messages the peer has not acknowledged. */
  lostError(message: string, cause?: unknown): SessionLostError {
    const unacknowledged = this.#replay.all();
    // Accepted messages not yet numbered would have had the next ids.
    for (let i = this.#carryHead, id = this.#replay.nextId; i < this.#carry.length; i++, id++) unacknowledged.push({ id, message: this.#carry[i]! });
    return new SessionLostError(message, unacknowledged, { cause });
  }

  /** The peer does not know this session any more. If it was closing and had nothing left, that is its end. */
  forgotten(error: Error): void {
    if (this.#localEnd && this.#replay.length === 0 && this.#peerEnd !== undefined && this.#received === this.#peerEnd) {
      this.#finish();
      return;
    }
    this.fail(this.lostError(`the peer no longer knows session ${this.id} (its process restarted, or it expired the session)`, error));
  }

  async #read(connection: Connection): Promise<void> {
    let error: Error | undefined;
    try {
      // The batch path: everything the connection has received, with one call, into the inbox in one loop —
      // except where one message is what comes next (the last read brought one lone envelope, as in a
      // request/response exchange): that one is read with receive(), which a round trip measured faster
      // (docs/benchmarks.md, "Issue 17 — layers"). A Batch or a run brought by it means a burst: batches again.
      let lone = false;
      for (;;) {
        let messages: Uint8Array[] | undefined;
        if (lone) {
          const bytes = await connection.receive();
          messages = bytes === undefined ? undefined : [bytes];
        } else messages = await connection.receiveBatch();
        if (messages === undefined) break;
        lone = isLone(messages) && messages[0]![0] !== RUN_TAG;
        for (const bytes of messages) {
          if (connection !== this.#connection) return;
          try {
            this.#frameWaste = 0;
            this.#frameLast = undefined;
            if (!forEachInBatch(bytes, this.#onEnvelope)) this.#onEnvelope(bytes, 0, bytes.byteLength);
            if (this.#frameWaste > PIN_SLACK && this.#frameLast !== undefined) this.#chargePinned(this.#frameLast, this.#frameWaste);
          } catch (broken) {
            // The peer broke the session protocol: the session cannot go on. (A transport's own errors,
            // such as a frame cut short by a dying connection, only lose this connection: see below.)
            return this.#protocolError(connection, broken as Error);
          }
        }
      }
    } catch (caught) {
      error = caught as Error;
    }
    if (connection !== this.#connection || this.#state === "closed") return;
    if (error === undefined && this.#done()) return this.#finish();
    this.#dropBatch();
    this.#connection = undefined;
    this.#setState("resuming", error);
    this.#link.lost(this, error ?? new ClosedError("the peer closed the connection under the session"));
  }

  #protocolError(connection: Connection, error: Error): void {
    if (this.#state === "closed") return;
    this.#dropBatch();
    connection.send(encodeGoodbye(ipc.Goodbye.Reason.REASON_PROTOCOL, error.message)).catch(noop);
    void connection.close({ timeout: 1000 }).catch(noop);
    this.#connection = undefined;
    this.fail(error);
  }

  /** One envelope received, `bytes[start..end)` (alone, or an element of a Batch). */
  readonly #onEnvelope = (bytes: Uint8Array, start: number, end: number): void => {
    // A Goodbye earlier in the same batch may have ended the session.
    if (this.#state === "closed") return;
    if (bytes[start] === RUN_TAG && this.#readsRuns) return this.#onRun(bytes, start, end);
    if (parseData(bytes, start, end)) {
      // The hot path: Data, parsed in place (no frame object).
      const { id, ack, payload } = parsedData;
      this.#receivedSinceTick = true;
      this.#onAck(ack);
      this.#onData(id, payload);
      return;
    }
    const frame = decodeSessionFrame(start === 0 && end === bytes.byteLength ? bytes : bytes.subarray(start, end));
    // Bytes that no delivered message accounts for (an Ack, unknown fields): what a view of a message from
    // this frame pins beyond its own length (and the overhead each message is charged).
    this.#frameWaste += frame.kind === "data" ? Math.max(0, end - start - frame.payload.byteLength - MESSAGE_OVERHEAD) : end - start;
    this.#onFrame(frame);
  };

  /**
   * A DataRun, `bytes[start..end)`: the Data of consecutive ids in one envelope, taken with one check of the
   * ids and one of the window (the cost grows with each message, so checking it after the last is checking
   * it after each), before any of it is queued.
   */
  #onRun(bytes: Uint8Array, start: number, end: number): void {
    // The inbox takes the array itself (Inbox.pushMany): a new one per run.
    const payloads: Uint8Array[] = [];
    parseRun(bytes, start, end, payloads);
    const { first, ack } = parsedRun;
    let payloadBytes = parsedRun.payloadBytes;
    const count = payloads.length;
    this.#receivedSinceTick = true;
    this.#frameWaste += Math.max(0, end - start - payloadBytes - count * MESSAGE_OVERHEAD);
    this.#onAck(ack);
    const skip = this.#received + 1 - first;
    if (skip < 0) throw new ProtocolError(`received messages ${first} to ${first + count - 1} after ${this.#received}: messages are missing`);
    if (skip >= count) {
      this.#duplicates += count;
      return;
    }
    if (this.#peerEnd !== undefined) throw new ProtocolError(`received message ${this.#received + 1} after the peer's end at ${this.#peerEnd}`);
    // A run resent after a lost connection may start with messages that arrived before it: dropped.
    for (let i = 0; i < skip; i++) payloadBytes -= payloads[i]!.length;
    this.#duplicates += skip;
    const fresh = count - skip;
    const unreadCost = this.#unreadCost + payloadBytes + fresh * MESSAGE_OVERHEAD;
    if (this.#unreadCount + fresh > 1 && unreadCost > this.#options.maxBufferedBytes) {
      throw new ProtocolError(`the peer sent ${unreadCost} bytes beyond what was acknowledged, over the window of ${this.#options.maxBufferedBytes} bytes`);
    }
    this.#received = first + count - 1;
    this.#unreadCost = unreadCost;
    this.#unreadCount += fresh;
    this.#frameLast = payloads[count - 1];
    this.inbox.pushMany(skip === 0 ? payloads : payloads.slice(skip));
  }

  #onFrame(frame: SessionFrame): void {
    this.#receivedSinceTick = true;
    switch (frame.kind) {
      case "data":
        this.#onAck(frame.ack);
        return this.#onData(frame.id, frame.payload);
      case "ack":
        return this.#onAck(frame.id);
      case "sessionEnd":
        return this.#onPeerEnd(frame.last);
      case "goodbye":
        return this.fail(this.lostError(`the peer ended session ${this.id}: ${frame.message || "no reason given"}`));
      default:
        throw new ProtocolError(`received ${frame.kind === "other" ? frame.name : frame.kind} in an established reliable session`);
    }
  }

  #onData(id: number, payload: Uint8Array): void {
    if (id <= this.#received) {
      this.#duplicates++;
      return;
    }
    if (id !== this.#received + 1) throw new ProtocolError(`received message ${id} after ${this.#received}: messages are missing`);
    if (this.#peerEnd !== undefined) throw new ProtocolError(`received message ${id} after the peer's end at ${this.#peerEnd}`);
    this.#received = id;
    this.#unreadCost += payload.byteLength + MESSAGE_OVERHEAD;
    this.#unreadCount++;
    if (this.#unreadCount > 1 && this.#unreadCost > this.#options.maxBufferedBytes) {
      throw new ProtocolError(
        `the peer sent ${this.#unreadCost} bytes beyond what was acknowledged, over the window of ${this.#options.maxBufferedBytes} bytes`,
      );
    }
    this.#frameLast = payload;
    this.inbox.push(payload);
  }

  /**
   * A message is a view into the frame it came in, and keeps all of it in memory until it is taken: a frame
   * padded with bytes that no message accounts for (unknown fields, acks) would pin far more than the
   * window counts. Those bytes are charged to the frame's last unread message (the messages of a frame are
   * taken in order: once it is, the frame is free), against the same window.
   */
  #chargePinned(message: Uint8Array, bytes: number): void {
    this.#pinned.set(message, bytes);
    this.#unreadCost += bytes;
    if (this.#unreadCount > 1 && this.#unreadCost > this.#options.maxBufferedBytes) {
      throw new ProtocolError(
        `the peer sent ${this.#unreadCost} bytes (${bytes} of them padding that no message accounts for) beyond what was acknowledged, ` +
          `over the window of ${this.#options.maxBufferedBytes} bytes`,
      );
    }
  }

  #onAck(id: number, pump = true): void {
    if (id <= this.#peerAck) return;
    if (id > this.#replay.nextId - 1) throw new ProtocolError(`the peer acknowledged message ${id}, but only ${this.#replay.nextId - 1} were sent`);
    this.#peerAck = id;
    this.#replay.release(id);
    for (let i = 0; i < this.#pendingFlushes.length; ) {
      const entry = this.#pendingFlushes[i]!;
      if (entry.id <= id) {
        this.#pendingFlushes.splice(i, 1);
        entry.resolve();
      } else i++;
    }
    if (!pump) return;
    this.#pumpSends();
    this.#finishIfDone();
  }

  #onPeerEnd(last: number): void {
    if (this.#peerEnd !== undefined) return this.#finishIfDone(); // said again on a resumed connection
    if (last < this.#received) throw new ProtocolError(`the peer ended at message ${last}, but ${this.#received} were received`);
    if (last > this.#received) throw new ProtocolError(`the peer ended at message ${last}, but only ${this.#received} arrived before its end`);
    this.#peerEnd = last;
    this.inbox.end();
    // Everything the peer sent is here: acknowledge it all, read or not (it stays readable), so that its
    // close completes.
    this.#sendAck(this.#received);
    // This side ends too: send() refuses from now on; what it accepted, and the sends already waiting for
    // room, still go out before its SessionEnd (docs/wire.md §8.2.5).
    this.closedByPeer();
    // Already closing (the peer's end arrived on a resumed connection): nothing else may call it.
    this.#finishIfDone();
  }

  #took(message: Uint8Array): void {
    if (message === this.#frameLast) this.#frameLast = undefined;
    if (this.#pinned.size > 0) {
      const pinned = this.#pinned.get(message);
      if (pinned !== undefined) {
        this.#pinned.delete(message);
        this.#unreadCost -= pinned;
      }
    }
    this.#taken++;
    this.#unreadCount--;
    const cost = message.byteLength + MESSAGE_OVERHEAD;
    this.#unreadCost -= cost;
    this.#takenCost += cost;
    this.#ackLater();
  }

  /**
   * `messages[from..to)` (`bytes` of payload) were taken together (a `receiveBatch()`): accounted once. The frame's
   * last message is the last one pushed, so it is taken in a group only as the group's last.
   */
  #tookMany(messages: readonly Uint8Array[], from: number, to: number, bytes: number): void {
    if (messages[to - 1] === this.#frameLast) this.#frameLast = undefined;
    if (this.#pinned.size > 0) {
      for (let i = from; i < to; i++) {
        const pinned = this.#pinned.get(messages[i]!);
        if (pinned !== undefined) {
          this.#pinned.delete(messages[i]!);
          this.#unreadCost -= pinned;
        }
      }
    }
    const count = to - from;
    this.#taken += count;
    this.#unreadCount -= count;
    const cost = bytes + count * MESSAGE_OVERHEAD;
    this.#unreadCost -= cost;
    this.#takenCost += cost;
    this.#ackLater();
  }

  /** Acknowledges what was taken: in the next turn once enough was, else after `ackDelay` (docs/wire.md §8.2.3). */
  #ackLater(): void {
    if (this.#taken - this.#ackSent >= ACK_EVERY || this.#takenCost * 4 >= this.#options.maxBufferedBytes) {
      if (!this.#ackSoon) {
        // Not from inside receive(): the application's code right after it runs first (it may record
        // the message durably before the peer forgets it).
        this.#ackSoon = true;
        setImmediate(() => {
          this.#ackSoon = false;
          this.#sendAck(this.#taken);
        });
      }
    } else if (this.#ackTimer === undefined) {
      this.#ackTimer = setTimeout(() => {
        this.#ackTimer = undefined;
        this.#sendAck(this.#taken);
      }, this.#options.ackDelay);
    }
  }

  #sendAck(id: number): void {
    if (id <= this.#ackSent || this.#connection === undefined) return;
    this.#write(encodeAck(id));
    this.#acked(id);
  }

  #acked(id: number): void {
    this.#ackSent = id;
    this.#takenCost = 0;
    if (this.#ackTimer !== undefined && this.#taken <= id) {
      clearTimeout(this.#ackTimer);
      this.#ackTimer = undefined;
    }
  }

  #hasRoom(message: Uint8Array): boolean {
    if (this.#replay.length === 0) return true;
    const limit = Math.min(this.#options.maxBufferedBytes, this.#peerWindow);
    return this.#replay.cost + message.byteLength + MESSAGE_OVERHEAD <= limit && this.#replay.length < this.#options.maxBufferedMessages;
  }

  /**
   * The cost of `messages` (length + 64 each) if the window and `maxBufferedMessages` take them whole;
   * {@link PART} if not but nothing is unacknowledged (then what fits is taken and the rest waits in #carry, as
   * one message larger than the window would); {@link NO_ROOM} if they must wait. One pass over the batch.
   */
  #roomFor(messages: readonly Uint8Array[]): number {
    let cost = 0;
    for (let i = 0; i < messages.length; i++) cost += messages[i]!.length;
    cost += messages.length * MESSAGE_OVERHEAD;
    const replay = this.#replay;
    if (
      replay.length + messages.length <= this.#options.maxBufferedMessages &&
      replay.cost + cost <= Math.min(this.#options.maxBufferedBytes, this.#peerWindow)
    ) {
      return cost;
    }
    return replay.length === 0 ? PART : NO_ROOM;
  }

  /** Messages accepted and not yet numbered. */
  get #carried(): number {
    return this.#carry.length - this.#carryHead;
  }

  /**
   * Numbers and writes an accepted batch; the first Data carries the pending acknowledgement. What was batched
   * goes out at once (in a microtask), with one `sendBatch()` of the connection, so the peer starts on it while
   * this side goes on (rather than at the end of the burst, which a sender that never waits does not reach).
   */
  #acceptAll(messages: readonly Uint8Array[], room: number): void {
    let taken = messages.length;
    let cost = room;
    if (room === PART) {
      // How many fit: the same rule as #hasRoom's for each message in turn.
      const limit = Math.min(this.#options.maxBufferedBytes, this.#peerWindow);
      const maxMessages = this.#options.maxBufferedMessages;
      let count = this.#replay.length;
      cost = 0;
      for (taken = 0; taken < messages.length; taken++) {
        const next = messages[taken]!.length + MESSAGE_OVERHEAD;
        if (count > 0 && (this.#replay.cost + cost + next > limit || count >= maxMessages)) break;
        cost += next;
        count++;
      }
      for (let i = taken; i < messages.length; i++) this.#carry.push(messages[i]!);
    }
    if (taken === 0) return;
    const first = this.#replay.pushAll(messages, taken, cost);
    if (this.#connection === undefined) return;
    const ack = this.#taken > this.#ackSent ? this.#taken : 0;
    this.#writeMessages(first, messages, 0, taken, ack);
    if (ack > 0) this.#acked(ack);
    this.#batch!.flushSoon();
  }

  #accept(message: Uint8Array): void {
    const id = this.#replay.push(message);
    if (this.#connection === undefined) return;
    const ack = this.#taken > this.#ackSent ? this.#taken : 0;
    this.#writeData(id, message, ack);
    if (ack > 0) this.#acked(ack);
  }

  #pumpSends(): void {
    const carry = this.#carry;
    while (this.#carryHead < carry.length && this.#state !== "closed" && this.#hasRoom(carry[this.#carryHead]!)) this.#accept(carry[this.#carryHead++]!);
    if (this.#carryHead === carry.length && carry.length > 0) {
      this.#carry = [];
      this.#carryHead = 0;
    }
    while (this.#pendingSends.length > 0 && this.#carry.length === 0 && this.#state !== "closed") {
      const entry = this.#pendingSends[0]!;
      if (entry.batch === undefined) {
        if (!this.#hasRoom(entry.message)) break;
        this.#pendingSends.shift();
        this.#accept(entry.message);
      } else {
        const room = this.#roomFor(entry.batch);
        if (room === NO_ROOM) break;
        this.#pendingSends.shift();
        this.#acceptAll(entry.batch, room);
      }
      entry.resolve();
    }
    if (!this.isOpen && this.#pendingSends.length === 0 && this.#carry.length === 0) this.#sendEnd();
  }

  #sendEnd(): void {
    if (this.#localEnd) return;
    this.#localEnd = true;
    if (this.#connection !== undefined) this.#write(encodeSessionEnd(this.#replay.nextId - 1));
    this.#finishIfDone();
  }

  /** Both ends ended and every message of this end was acknowledged. */
  #done(): boolean {
    return this.#localEnd && this.#peerEnd !== undefined && this.#replay.length === 0 && this.#state !== "closed";
  }

  #finishIfDone(): void {
    if (!this.#done()) return;
    if (this.#link.closesLast && this.#connection !== undefined) {
      // The client ends last: its final acknowledgement must reach the server first, which then closes
      // the connection (see #read). If the connection breaks instead, the client resumes and learns it.
      this.#batch?.flush();
      return;
    }
    this.#finish();
  }

  #finish(): void {
    this.#stop();
    const connection = this.#connection;
    // What is batched (the last acknowledgements, the SessionEnd) goes out before the close.
    this.#batch?.flush();
    this.#dropBatch();
    this.#connection = undefined;
    if (connection !== undefined) void connection.close({ timeout: this.#options.handshakeTimeout }).catch(noop);
    this.inbox.end();
    this.finishClose();
    this.#setState("closed");
    this.#link.finished(this);
  }

  /** Writes an envelope to the current connection (batched with the others of this burst). */
  #write(bytes: Uint8Array): void {
    this.#sentSinceTick = true;
    this.#batch!.add(bytes);
  }

  /**
   * Writes `messages[from..to)`, numbered from `first`, the first carrying `ack`: as DataRuns where the peer
   * reads them (each as large as a batch element may be), else as one Data each.
   */
  #writeMessages(first: number, messages: readonly Uint8Array[], from: number, to: number, ack: number): void {
    if (!this.#runs) {
      for (let i = from; i < to; i++) this.#writeData(first + i - from, messages[i]!, i === from ? ack : 0);
      return;
    }
    this.#sentSinceTick = true;
    const batch = this.#batch!;
    // Room for the run's own tag, length, first id and ack (at most 1 + 3 + 1 + 8 + 1 + 8 bytes).
    const most = batch.elementLimit - 24;
    let id = first;
    for (let i = from; i < to; ) {
      runSpan(messages, i, to, most);
      const { end, payloads } = span;
      if (end - i < 2) {
        // One message (or one too large for a run in a batch): a plain Data.
        this.#writeData(id, messages[i]!, i === from ? ack : 0);
        i++;
        id++;
        continue;
      }
      const inner = runInner(id, i === from ? ack : 0, payloads);
      const offset = batch.reserve(1 + varintLength(inner) + inner); // may move to a new buffer: read `bytes` after it
      writeRun(batch.bytes, offset, id, i === from ? ack : 0, messages, i, end, inner);
      id += end - i;
      i = end;
    }
  }

  /** Writes `Data` straight into the batch when it fits: no allocation per message. */
  #writeData(id: number, message: Uint8Array, ack: number): void {
    this.#sentSinceTick = true;
    const batch = this.#batch!;
    const inner = dataInner(id, message.byteLength, ack);
    const length = 1 + varintLength(inner) + inner;
    if (batch.fits(length)) {
      const offset = batch.reserve(length); // may move to a new buffer: read `bytes` after it
      writeData(batch.bytes, offset, id, message, ack, inner);
    } else batch.add(encodeData(id, message, ack));
  }

  #send(connection: Connection, bytes: Uint8Array): void {
    this.#handleSent(connection.send(bytes));
  }

  readonly #handleSent = (sent: Promise<void>): void => {
    // A failed write shows as the connection's failure in #read, which replaces the connection. Connections
    // return one settled promise for every send they accept at once: handle it once, not per message.
    if (sent !== this.#lastSend) {
      this.#lastSend = sent;
      sent.catch(noop);
    }
  };

  #dropBatch(): void {
    this.#batch?.discard();
    this.#batch = undefined;
  }

  #tick(): void {
    const connection = this.#connection;
    if (connection === undefined) return;
    if (!this.#sentSinceTick) {
      const id = Math.max(this.#taken, this.#ackSent);
      this.#write(encodeAck(id));
      this.#acked(id);
    }
    this.#sentSinceTick = false;
    if (this.#receivedSinceTick) this.#silentFor = 0;
    else this.#silentFor += this.#options.heartbeatInterval;
    this.#receivedSinceTick = false;
    if (this.#silentFor >= this.#options.deadPeerTimeout) {
      connection.abort(new TimeoutError(`no message from the peer for ${this.#silentFor} ms: its connection is taken for dead`, this.#options.deadPeerTimeout));
    }
  }

  #stop(): void {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  #setState(state: SessionState, error?: Error): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#options.onStateChange?.(state, error);
  }
}

/** The reason a connection is dropped when a newer one resumes the same session. */
class ConnectionReplaced extends ClosedError {
  constructor() {
    super("a newer connection resumed this session");
  }
}
