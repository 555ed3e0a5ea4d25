/**
 * `durableChannel(nats, { channel, self, peer })`: @ipc's reliable channel with its messages kept by
 * JetStream in file storage (docs/wire.md §9.6). Each end publishes on its own subject and reads the
 * peer's through a durable consumer, so the channel survives a restart of either process and of the NATS
 * server: a message whose `send()` resolved is stored and reaches the peer's `receive()` exactly once, in
 * the order sent.
 */
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import { AbortError, ClosedError, Deferred, InvalidArgumentError, MessageTooLargeError, TimeoutError, type ReceiveOptions, type SendOptions } from "../deps.js";
import { DEFAULT_DURABLE_PREFIX, checkName, ensureConsumer, ensureStream, retry, streamName } from "./stream.js";

/** Options of {@link durableChannel}. */
export interface DurableChannelOptions {
  /** The channel's name: its JetStream stream is `IPC_<channel>`. Letters, digits, `_`, `-`. */
  readonly channel: string;
  /** This end's name (stable across restarts: it names its subject and its durable consumer). */
  readonly self: string;
  /** The other end's name: this end receives what it sends. */
  readonly peer: string;
  /** The first tokens of the channel's subjects: `<prefix>.<channel>.<self>`. Default: `"ipc.durable"`. */
  readonly prefix?: string | undefined;
  /** Copies JetStream keeps of each message (1, or 3 in a cluster of 3). Default: 1. */
  readonly replicas?: number | undefined;
  /**
   * How long JetStream remembers a message's id to drop a second copy (a `send()` retried after a
   * failover). Default: 2 minutes.
   */
  readonly duplicateWindow?: number | undefined;
  /** How long a message is kept when never received, in ms; 0 keeps it until received. Default: 0. */
  readonly maxAge?: number | undefined;
  /**
   * Milliseconds after which JetStream gives a delivered message whose acknowledgement it did not get
   * to this end again (it was lost in a failing connection). Default: 2 000.
   */
  readonly ackWait?: number | undefined;
  /** Bounds opening the channel (creating the stream and consumer). Default: none. */
  readonly signal?: AbortSignal | undefined;
  /** Milliseconds to open the channel. Default: 30 000. */
  readonly timeout?: number | undefined;
}

/** A message received on a durable channel. */
export interface DurableMessage {
  readonly message: Uint8Array;
  /** The sender's number for it: the n-th message an end ever sent on the channel has number n. */
  readonly sequence: number;
  /** Its sequence in the JetStream stream. */
  readonly streamSequence: number;
}

/** Counters of one end. */
export interface DurableChannelStats {
  /** The number of the last message this end stored (its messages so far, across restarts). */
  readonly sent: number;
  /** The number of the last message received from the peer. */
  readonly received: number;
  /** Attempts that had to be made again (failovers, restarts). */
  readonly retries: number;
  /** Copies delivered again by JetStream and dropped here. */
  readonly duplicates: number;
}

/** One end of a durable channel. */
export interface DurableChannel extends AsyncIterable<DurableMessage>, AsyncDisposable {
  readonly channel: string;
  readonly self: string;
  readonly peer: string;
  /** The largest message: the NATS server's `max_payload` (less the headers). */
  readonly maxMessageSize: number;
  readonly stats: DurableChannelStats;
  /**
   * Stores `message` in the channel and resolves with its number once JetStream has it (with the
   * configured replicas). Sends are stored in call order. Retries through restarts and failovers until
   * `timeout` (default: none) or `signal`: then rejects with `TimeoutError`/`AbortError`, and the message
   * may or may not be stored (`stats.sent` after reopening tells). `MessageTooLargeError` over
   * `maxMessageSize`, `ClosedError` once closed.
   */
  send(message: Uint8Array, options?: SendOptions): Promise<number>;
  /**
   * The next message from the peer, once JetStream has recorded that this end took it (so it is never
   * given again, not even after a restart). Waits for one; `undefined` once this end is closed.
   */
  receive(options?: ReceiveOptions): Promise<DurableMessage | undefined>;
  /** Waits for the sends in flight, then stops; the channel and its messages stay in JetStream. */
  close(): Promise<void>;
  /** Stops at once: sends and receives in flight reject with `reason`. */
  abort(reason?: Error): void;
  readonly closed: Promise<void>;
}

const H_SEQ = "Ipc-Seq";
/** Milliseconds a pull request waits for a message before it is renewed. */
const PULL_EXPIRES = 5000;
/** Headers and protocol line bytes a message costs within `max_payload`, at most (generously). */
const HEADER_ROOM = 256;

class Channel implements DurableChannel {
  readonly channel: string;
  readonly self: string;
  readonly peer: string;
  readonly #nats: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #subject: string;
  readonly #consumer: Consumer;
  readonly #stop = new AbortController();
  readonly #closed = new Deferred();
  #sent: number;
  #received = 0;
  #lastStreamSeq = 0;
  #retries = 0;
  #duplicates = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #closing = false;
  #receiving = false;
  #unconfirmed: JsMsg | undefined;

  constructor(
    nats: NatsConnection,
    js: JetStreamClient,
    jsm: JetStreamManager,
    names: { channel: string; self: string; peer: string; stream: string; subject: string },
    consumer: Consumer,
    sent: number,
  ) {
    this.#nats = nats;
    this.#js = js;
    this.#jsm = jsm;
    this.channel = names.channel;
    this.self = names.self;
    this.peer = names.peer;
    this.#stream = names.stream;
    this.#subject = names.subject;
    this.#consumer = consumer;
    this.#sent = sent;
    void nats.closed().then(() => this.abort(new ClosedError("the NATS connection closed")));
  }

  get maxMessageSize(): number {
    return Math.max(0, (this.#nats.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM);
  }

  get stats(): DurableChannelStats {
    return { sent: this.#sent, received: this.#received, retries: this.#retries, duplicates: this.#duplicates };
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  send(message: Uint8Array, options?: SendOptions): Promise<number> {
    if (!(message instanceof Uint8Array)) return Promise.reject(new InvalidArgumentError("send() takes a Uint8Array"));
    if (this.#closing) return Promise.reject(new ClosedError(`durable channel ${this.channel} (${this.self}) is closed`));
    if (message.byteLength > this.maxMessageSize) return Promise.reject(new MessageTooLargeError(message.byteLength, this.maxMessageSize));
    // One store at a time, in call order: a retried message never lands after a later one.
    const sending = this.#tail.then(() => this.#store(message, options));
    this.#tail = sending.catch(() => undefined);
    return sending;
  }

  async #store(message: Uint8Array, options: SendOptions | undefined): Promise<number> {
    const { signal, release } = linkSignals(options?.signal, this.#stop.signal);
    let sequence = this.#sent + 1;
    let attempts = 0;
    try {
      await retry(`send on durable channel ${this.channel}`, { signal, timeout: options?.timeout }, async (left) => {
        if (attempts++ > 0) this.#retries++;
        const headers = natsHeaders();
        headers.set(H_SEQ, String(sequence));
        const ack = await this.#js.publish(this.#subject, message, { msgID: `${this.self}-${sequence}`, headers, timeout: Math.min(left, 5000) });
        if (ack.duplicate && attempts === 1) {
          // A first attempt cannot be a copy of itself: an earlier run of this end stored a message under
          // this number after this one read its count. Count again and send under the next free number.
          this.#sent = await lastSequence(this.#jsm, this.#stream, this.#subject);
          sequence = this.#sent + 1;
          attempts = 0;
          throw new Error(`message number ${sequence - 1} was already taken`);
        }
      });
    } finally {
      release();
    }
    this.#sent = sequence;
    return sequence;
  }

  async receive(options?: ReceiveOptions): Promise<DurableMessage | undefined> {
    if (this.#closing) return undefined;
    if (this.#receiving) throw new InvalidArgumentError("receive() is already waiting: one reader at a time");
    this.#receiving = true;
    const timeout = options?.timeout;
    const timer = new AbortController();
    const timing = timeout === undefined || timeout === Infinity ? undefined : setTimeout(() => timer.abort(), timeout);
    const { signal, release } = linkSignals(options?.signal, this.#stop.signal, timer.signal);
    const stopped = new Promise<null>((resolve) => {
      if (signal.aborted) resolve(null);
      else signal.addEventListener("abort", () => resolve(null), { once: true });
    });
    try {
      // A failed attempt (a restarting server, a failover) is made again until the limits.
      return await retry(`receive on durable channel ${this.channel}`, { signal }, async () => {
        const unconfirmed = await this.#settleUnconfirmed();
        if (unconfirmed !== undefined) return unconfirmed;
        for (;;) {
          // One pull per message: JetStream has one unacknowledged at a time anyway, and a pull lost in a
          // failover is renewed when it expires. A message pulled but not taken (stopped meanwhile) is
          // given again after ackWait.
          const msg = await Promise.race([this.#consumer.next({ expires: PULL_EXPIRES }), stopped]);
          if (signal.aborted) return undefined;
          if (msg === null) continue;
          const taken = await this.#take(msg);
          if (taken !== undefined) return taken;
        }
      }).then((message) => {
        if (message === undefined && timer.signal.aborted && !this.#closing) throw timedOut(timeout!);
        if (message === undefined && options?.signal?.aborted) throw new AbortError("receive was aborted", { cause: options.signal.reason });
        return message;
      });
    } catch (error) {
      if (this.#closing) return undefined;
      if (timer.signal.aborted) throw timedOut(timeout!);
      throw error;
    } finally {
      clearTimeout(timing);
      release();
      this.#receiving = false;
    }
  }

  /** Acknowledges `msg` for sure (JetStream confirms it), then gives it out, unless it was a copy. */
  async #take(msg: JsMsg): Promise<DurableMessage | undefined> {
    const confirmed = await msg.ackAck({ timeout: 5000 }).catch(() => false);
    if (!confirmed) {
      // The confirmation may be what was lost: settled on the next attempt, by the consumer's ack floor.
      this.#unconfirmed = msg;
      throw new Error(`the acknowledgement of message ${msg.seq} was not confirmed`);
    }
    return this.#deliver(msg);
  }

  /**
   * A message whose acknowledgement was not confirmed: JetStream has it acknowledged (its ack floor says so:
   * one message is pending at a time), then it is given out now; or not, and JetStream gives it again.
   */
  async #settleUnconfirmed(): Promise<DurableMessage | undefined> {
    const msg = this.#unconfirmed;
    if (msg === undefined) return undefined;
    const info = await this.#jsm.consumers.info(this.#stream, this.self);
    this.#unconfirmed = undefined;
    return info.ack_floor.stream_seq >= msg.seq ? this.#deliver(msg) : undefined;
  }

  #deliver(msg: JsMsg): DurableMessage | undefined {
    const streamSequence = msg.seq;
    if (streamSequence <= this.#lastStreamSeq) {
      this.#duplicates++;
      return undefined;
    }
    this.#lastStreamSeq = streamSequence;
    this.#received = Number(msg.headers?.get(H_SEQ) ?? 0);
    return { message: msg.data, sequence: this.#received, streamSequence };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<DurableMessage> {
    for (;;) {
      const message = await this.receive();
      if (message === undefined) return;
      yield message;
    }
  }

  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      await this.#tail;
      this.#stop.abort(new ClosedError(`durable channel ${this.channel} (${this.self}) is closed`));
      this.#closed.resolve();
    }
    await this.#closed.promise;
  }

  abort(reason?: Error): void {
    if (this.#closing && this.#stop.signal.aborted) return;
    this.#closing = true;
    this.#stop.abort(reason ?? new AbortError(`durable channel ${this.channel} (${this.self}) was aborted`));
    this.#closed.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The number (`Ipc-Seq`) of the last message stored on `subject`, or 0. */
async function lastSequence(jsm: JetStreamManager, stream: string, subject: string): Promise<number> {
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  return last === null ? 0 : Number(last.header.get(H_SEQ) || 0);
}

function timedOut(timeout: number): TimeoutError {
  return new TimeoutError(`receive timed out after ${timeout} ms`, timeout);
}

/** A signal that aborts with any of `signals`, and the function that unhooks it from them. */
function linkSignals(...signals: (AbortSignal | undefined)[]): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const hooks: (() => void)[] = [];
  for (const signal of signals) {
    if (signal === undefined) continue;
    if (signal.aborted) {
      controller.abort(signal.reason);
      continue;
    }
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    hooks.push(() => signal.removeEventListener("abort", onAbort));
  }
  return {
    signal: controller.signal,
    release: () => {
      for (const unhook of hooks) unhook();
    },
  };
}

/**
 * Opens this end (`self`) of durable channel `channel` with `peer`: creates the JetStream stream and this
 * end's durable consumer if they do not exist yet (retrying while JetStream is not ready, within
 * `timeout`), and learns how many messages this end already stored. The NATS connection stays the
 * caller's.
 */
export async function durableChannel(nats: NatsConnection, options: DurableChannelOptions): Promise<DurableChannel> {
  if (typeof nats?.publish !== "function") throw new InvalidArgumentError("durableChannel() takes a NatsConnection");
  const channel = checkName("channel", options.channel);
  const self = checkName("self", options.self);
  const peer = checkName("peer", options.peer);
  if (self === peer) throw new InvalidArgumentError("self and peer must be different names");
  const prefix = options.prefix ?? DEFAULT_DURABLE_PREFIX;
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new InvalidArgumentError(`replicas must be 1 to 5, got ${String(replicas)}`);
  const stream = streamName(channel);
  const subject = `${prefix}.${channel}.${self}`;
  const limits = { signal: options.signal, timeout: options.timeout ?? 30_000 };
  return retry(`open durable channel ${channel}`, limits, async () => {
    const jsm = await jetstreamManager(nats);
    await ensureStream(jsm, {
      stream,
      subjects: `${prefix}.${channel}.*`,
      replicas,
      duplicateWindowMs: options.duplicateWindow ?? 120_000,
      maxAgeMs: options.maxAge ?? 0,
    });
    await ensureConsumer(jsm, stream, self, `${prefix}.${channel}.${peer}`, options.ackWait ?? 2000);
    const sent = await lastSequence(jsm, stream, subject);
    const js = jetstream(nats);
    const consumer = await js.consumers.get(stream, self);
    return new Channel(nats, js, jsm, { channel, self, peer, stream, subject }, consumer, sent);
  });
}
