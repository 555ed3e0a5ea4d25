/**
 * `mux(connection)`: many independent streams over one connection (any transport, or a reliable
 * session). Either side opens streams by name; the other accepts them. Each stream is paced by its own
 * credit window, so a stream whose reader stalls never holds up the others, and the bytes buffered on
 * the receiving side are bounded by `window` × `maxStreams`.
 */
import {
  AbortError,
  ClosedError,
  ConnectionResetError,
  InvalidArgumentError,
  ProtocolError,
  race,
  wait,
  type CloseOptions,
  type Connection,
  type WaitOptions,
} from "@ipc/core";
import { AcceptQueue, Deferred, noop, settledOf } from "@ipc/core/transport";
import { Batcher, forEachInBatch, isLone, runSpan, sendAll, span } from "../batch.js";
import {
  decodeMuxFrame,
  encodeMuxData,
  encodeMuxFrame,
  muxDataLength,
  MUX_DATA_OVERHEAD,
  parseMuxData,
  parsedMuxData,
  parseMuxRun,
  parsedMuxRun,
  muxRunLength,
  writeMuxRun,
  writeMuxData,
  type MuxFrame,
} from "./codec.js";
import { StreamRefusedError } from "./errors.js";
import { FEATURE_RUNS } from "../features.js";
import { resolveMuxOptions, type MuxOptions, type ResolvedMuxOptions } from "./options.js";
import { Stream, type MuxStream, type StreamHost } from "./stream.js";

/** Counters of a mux. */
export interface MuxStats {
  /** Streams open now (both directions). */
  readonly streams: number;
  /** Bytes received on all streams and not yet read; at most `window` × `maxStreams`. */
  readonly bufferedBytes: number;
  /** Streams this side opened, and accepted, since the start. */
  readonly opened: number;
  readonly accepted: number;
  /** Streams the peer opened that were refused (over `maxStreams` or `backlog`, or closing). */
  readonly refused: number;
}

/** Many streams over one connection. */
export interface Mux extends AsyncIterable<MuxStream>, AsyncDisposable {
  /** The connection underneath. */
  readonly connection: Connection;
  readonly stats: MuxStats;
  /**
   * Opens a stream named `name` (default `""`) and waits until the peer accepted it. Rejects with
   * `StreamRefusedError` if the peer refused it, `ClosedError` once the mux is closing, or
   * `TimeoutError`/`AbortError` from the options (the stream is then reset).
   */
  open(name?: string, options?: WaitOptions): Promise<MuxStream>;
  /** The next stream the peer opened; `undefined` once the mux is closed. */
  accept(options?: WaitOptions): Promise<MuxStream | undefined>;
  /** Closes every stream gracefully, then the connection. With a timeout that expires, aborts instead. */
  close(options?: CloseOptions): Promise<void>;
  /** Aborts every stream and the connection. */
  abort(reason?: Error): void;
  /** Settles when the mux is over: resolves after `close()` or a clean end, rejects with what broke it. */
  readonly closed: Promise<void>;
}

/** Runs a mux over `connection` (both ends call it). The mux owns the connection from then on. */
export function mux(connection: Connection, options?: MuxOptions): Mux {
  return new Multiplexer(connection, resolveMuxOptions(options));
}

class Multiplexer implements Mux, StreamHost {
  readonly connection: Connection;
  readonly maxMessageSize: number;
  readonly #options: ResolvedMuxOptions;
  /** This side announced that it reads MuxDataRun (a run is a protocol error otherwise). */
  readonly #readsRuns: boolean;
  readonly #opened = new Map<number, Stream>();
  readonly #accepted = new Map<number, Stream>();
  readonly #opening = new Map<number, { resolve(stream: Stream): void; reject(error: unknown): void }>();
  readonly #queue: AcceptQueue;
  readonly #closed = new Deferred();
  /** Batches the frames written in one burst into few messages of the connection, sent with one `sendBatch()`. */
  readonly #batch: Batcher;
  #lastSend: Promise<void> | undefined;
  /** The array the next run's payloads are read into (a stream's inbox takes it: Inbox.pushMany). */
  #runPayloads: Uint8Array[] = [];
  /** A run was among the envelopes of the current read (then the next read is a batch: see #read). */
  #readRun = false;
  #nextId = 1;
  #closing = false;
  #error: Error | undefined;
  #openedCount = 0;
  #acceptedCount = 0;
  #refused = 0;

  constructor(connection: Connection, options: ResolvedMuxOptions) {
    this.connection = connection;
    this.#options = options;
    this.#readsRuns = (options.features & FEATURE_RUNS) !== 0;
    this.maxMessageSize = Math.max(0, connection.maxMessageSize - MUX_DATA_OVERHEAD);
    this.#queue = new AcceptQueue(options.backlog);
    this.#batch = new Batcher((messages) => sendAll(connection, messages, this.#handleSent), connection.maxMessageSize);
    void this.#read();
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  get stats(): MuxStats {
    let bufferedBytes = 0;
    for (const stream of this.#opened.values()) bufferedBytes += stream.bufferedBytes;
    for (const stream of this.#accepted.values()) bufferedBytes += stream.bufferedBytes;
    return {
      streams: this.#opened.size + this.#accepted.size,
      bufferedBytes,
      opened: this.#openedCount,
      accepted: this.#acceptedCount,
      refused: this.#refused,
    };
  }

  open(name = "", options?: WaitOptions): Promise<MuxStream> {
    if (typeof name !== "string") return Promise.reject(new InvalidArgumentError("a stream's name must be a string"));
    if (this.#closing || this.#error !== undefined) return Promise.reject(this.#error ?? new ClosedError("the mux is closing"));
    if (this.#opened.size + this.#accepted.size >= this.#options.maxStreams) {
      return Promise.reject(new StreamRefusedError(`this side already has ${this.#options.maxStreams} streams open (maxStreams)`));
    }
    const id = this.#nextId++;
    const stream = new Stream(this, id, name, true, this.#options.window);
    this.#opened.set(id, stream);
    this.writeFrame({ kind: "open", stream: id, name, window: this.#options.window, features: this.#options.features });
    return wait<MuxStream>(`open stream ${name}`, options, (resolve, reject) => {
      this.#opening.set(id, { resolve, reject });
      return () => {
        this.#opening.delete(id);
        stream.abort(new AbortError(`opening stream ${name} was given up`));
      };
    });
  }

  accept(options?: WaitOptions): Promise<MuxStream | undefined> {
    return this.#queue.accept(options) as Promise<MuxStream | undefined>;
  }

  [Symbol.asyncIterator](): AsyncIterator<MuxStream> {
    return this.#queue[Symbol.asyncIterator]() as AsyncIterator<MuxStream>;
  }

  async close(options?: CloseOptions): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#queue.close();
      const streams = [...this.#opened.values(), ...this.#accepted.values()];
      void Promise.all(streams.map((s) => s.close()))
        .then(() => {
          this.#batch.flush(); // the last End and credit frames go out before the close
          return this.connection.close();
        })
        .then(
          () => this.#closed.resolve(),
          (error: unknown) => this.#fail(error as Error),
        );
    }
    try {
      await race("close", settledOf(this.#closed.promise), options);
    } catch (error) {
      this.abort(error as Error);
    }
  }

  abort(reason?: Error): void {
    const error = reason ?? new AbortError("the mux was aborted");
    this.#batch.discard();
    this.connection.abort(error);
    this.#fail(error);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  writeData(stream: number, reply: boolean, payload: Uint8Array): void {
    const length = muxDataLength(stream, reply, payload.byteLength);
    if (this.#batch.fits(length)) {
      const offset = this.#batch.reserve(length); // may move to a new buffer: read `bytes` after it
      writeMuxData(this.#batch.bytes, offset, stream, reply, payload);
    } else this.#batch.add(encodeMuxData(stream, reply, payload));
  }

  writeRun(stream: number, reply: boolean, messages: readonly Uint8Array[], from: number, to: number): void {
    const batch = this.#batch;
    const most = batch.elementLimit;
    const fixed = muxRunLength(stream, reply, 0) + 4; // room for the lengths' varints to grow
    for (let i = from; i < to; ) {
      runSpan(messages, i, to, most - fixed);
      const { end, payloads } = span;
      if (end - i < 2) {
        // One message (or one too large for a run in a batch): a plain data frame.
        this.writeData(stream, reply, messages[i]!);
        i++;
        continue;
      }
      const length = muxRunLength(stream, reply, payloads);
      const offset = batch.reserve(length); // may move to a new buffer: read `bytes` after it
      writeMuxRun(batch.bytes, offset, stream, reply, messages, i, end, payloads);
      i = end;
    }
  }

  flushSoon(): void {
    this.#batch.flushSoon();
  }

  writeFrame(frame: Exclude<MuxFrame, { kind: "data" }>): void {
    this.#batch.add(encodeMuxFrame(frame));
  }

  readonly #handleSent = (sent: Promise<void>): void => {
    // A failed write shows as the connection's failure in #read, which fails every stream. Connections
    // return one settled promise for every send they accept at once: handle it once, not per frame.
    if (sent !== this.#lastSend) {
      this.#lastSend = sent;
      sent.catch(noop);
    }
  };

  release(stream: MuxStream): void {
    const table = stream.opened ? this.#opened : this.#accepted;
    if (table.get(stream.id) === stream) table.delete(stream.id);
    const opening = this.#opening.get(stream.id);
    if (stream.opened && opening !== undefined) {
      this.#opening.delete(stream.id);
      void stream.closed.catch((error: unknown) => opening.reject(error));
    }
  }

  async #read(): Promise<void> {
    try {
      // The batch path: everything the connection has received, with one call (docs/wire.md §8.1 batches
      // inside are unpacked here too), pushed into the streams' inboxes in one loop — except where one message
      // is what comes next (the last read brought one lone envelope, not a run: a request/response exchange),
      // read with receive(), which a round trip measured faster (see isLone).
      let lone = false;
      for (;;) {
        let messages: Uint8Array[] | undefined;
        if (lone) {
          const bytes = await this.connection.receive();
          messages = bytes === undefined ? undefined : [bytes];
        } else messages = await this.connection.receiveBatch();
        if (messages === undefined) break;
        this.#readRun = false;
        for (const bytes of messages) {
          if (!forEachInBatch(bytes, this.#onEnvelope)) this.#onEnvelope(bytes, 0, bytes.byteLength);
        }
        lone = isLone(messages) && !this.#readRun;
      }
    } catch (error) {
      if (error instanceof ProtocolError) this.connection.abort(error);
      return this.#fail(error as Error);
    }
    if (this.#opened.size + this.#accepted.size > 0) {
      return this.#fail(new ConnectionResetError("the connection under the mux closed while streams were open"));
    }
    this.#queue.close();
    this.#closed.resolve();
  }

  /** One envelope received, `bytes[start..end)` (alone, or an element of a Batch). */
  readonly #onEnvelope = (bytes: Uint8Array, start: number, end: number): void => {
    if (this.#closed.settled) return;
    const payloads = this.#runPayloads;
    if (this.#readsRuns && parseMuxRun(bytes, start, end, payloads)) {
      // The batch path: several messages of one stream, parsed in place, their array handed on whole.
      this.#runPayloads = [];
      this.#readRun = true;
      const { stream, reply, payloadBytes } = parsedMuxRun;
      const target = (reply ? this.#opened : this.#accepted).get(stream);
      if (target !== undefined) target.onDataRun(payloads, payloadBytes);
      return; // otherwise data still in flight for a stream that ended or was reset here
    }
    if (parseMuxData(bytes, start, end)) {
      // The hot path: data, parsed in place (no frame object).
      const { stream, reply, payload } = parsedMuxData;
      const target = (reply ? this.#opened : this.#accepted).get(stream);
      if (target !== undefined) return target.onData(payload);
      if (stream === 0) throw new ProtocolError("received a mux data frame for stream 0");
      return; // data still in flight for a stream that ended or was reset here
    }
    this.#onFrame(decodeMuxFrame(start === 0 && end === bytes.byteLength ? bytes : bytes.subarray(start, end)));
  };

  #onFrame(frame: MuxFrame): void {
    if (frame.kind === "open") return this.#onOpen(frame.stream, frame.name, frame.window, frame.features);
    const stream = frame.kind === "accept" ? this.#opened.get(frame.stream) : (frame.reply ? this.#opened : this.#accepted).get(frame.stream);
    if (stream === undefined) {
      // Frames still in flight for a stream that ended or was reset here are dropped; id 0 is never valid.
      if (frame.stream === 0) throw new ProtocolError(`received a mux ${frame.kind} frame for stream 0`);
      return;
    }
    switch (frame.kind) {
      case "accept":
        return this.#onAccept(stream, frame.window, frame.features);
      case "data":
        return stream.onData(frame.payload);
      case "credit":
        return stream.onCredit(frame.credit);
      case "end":
        return stream.onEnd();
      case "reset": {
        const opening = this.#opening.get(stream.id);
        if (opening === undefined) return stream.onReset(frame.message);
        this.#opening.delete(stream.id);
        const error = new StreamRefusedError(`the peer refused stream ${stream.name === "" ? `#${stream.id}` : `'${stream.name}'`}: ${frame.message}`);
        stream.fail(error);
        return opening.reject(error);
      }
    }
  }

  #onOpen(id: number, name: string, window: number, features: number): void {
    if (id === 0 || this.#accepted.has(id)) throw new ProtocolError(`the peer opened stream ${id}, which is ${id === 0 ? "not a valid id" : "already open"}`);
    const open = this.#opened.size + this.#accepted.size;
    if (this.#closing || open >= this.#options.maxStreams || !this.#queue.hasRoom) {
      this.#refused++;
      const why = this.#closing
        ? "the mux is closing"
        : open >= this.#options.maxStreams
          ? `maxStreams (${this.#options.maxStreams}) reached`
          : `backlog (${this.#options.backlog}) full`;
      return this.writeFrame({ kind: "reset", stream: id, reply: true, message: `refused: ${why}` });
    }
    const stream = new Stream(this, id, name, false, this.#options.window);
    this.#accepted.set(id, stream);
    this.#acceptedCount++;
    stream.onStart(window, (features & this.#options.features & FEATURE_RUNS) !== 0);
    // Of this side's features, those the opener announced too (none to an opener from before them).
    this.writeFrame({ kind: "accept", stream: id, window: this.#options.window, features: features & this.#options.features });
    this.#queue.push(stream);
  }

  #onAccept(stream: Stream, window: number, features: number): void {
    const opening = this.#opening.get(stream.id);
    if (opening === undefined) throw new ProtocolError(`the peer accepted stream ${stream.id} twice`);
    this.#opening.delete(stream.id);
    this.#openedCount++;
    stream.onStart(window, (features & this.#options.features & FEATURE_RUNS) !== 0);
    opening.resolve(stream);
  }

  #fail(error: Error): void {
    if (this.#closed.settled) return;
    this.#batch.discard();
    this.#error = error;
    this.#queue.close();
    for (const opening of this.#opening.values()) opening.reject(error);
    this.#opening.clear();
    for (const stream of [...this.#opened.values(), ...this.#accepted.values()]) stream.fail(error);
    this.#closed.reject(error);
  }
}
