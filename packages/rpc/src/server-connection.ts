/**
 * The server's side of one connection: reads requests and routes the messages of each call by id, runs
 * at most `maxConcurrentCalls` handlers and queues up to `maxQueuedCalls` more (within `maxQueuedBytes` of
 * requests), and stops reading while
 * the connection does not take its responses (so a client that floods without reading bounds the
 * server's memory). Anything the peer sends that is not a call is answered on id 0 and the connection
 * goes on.
 */
import { BATCH_MESSAGE_OVERHEAD, type Connection, type Peer } from "@ipc/core";
import { Deferred, publishProtocolError } from "@ipc/core/transport";
import type { ResolvedServeOptions } from "./options.js";
import { EventLoopTurns, READ_TURN } from "./flow.js";
import type { RouteTable } from "./routes.js";
import { ServerCall, failureFrame, undecodable, type CallOwner } from "./server-call.js";
import { RpcError, messageOf } from "./status.js";
import type { ServerInterceptor } from "./types.js";
import { decodeEnvelope } from "./decode.js";
import { EnvelopeWriter } from "./encode.js";
import { MAX_METADATA_BYTES, MAX_METADATA_ENTRIES, utf8Text, type CallId, type RequestEnvelope } from "./wire.js";

/** What the server shares with each of its connections. */
export interface ServedService {
  readonly name: string;
  readonly routes: RouteTable;
  readonly options: ResolvedServeOptions;
}

/** Bytes of responses the connection has not taken yet at which reading stops. */
const PAUSE_BYTES = 256 * 1024;

/** Counts of one connection, summed by `Server.stats()`. */
export interface ConnectionStats {
  calls: number;
  running: number;
  queued: number;
  pendingBytes: number;
}

export class ServerConnection implements CallOwner {
  readonly connection: Connection;
  readonly writer = new EnvelopeWriter();
  readonly peer: Peer | undefined;
  readonly interceptors: readonly ServerInterceptor[];
  readonly maxMessageSize: number;
  readonly streamWindow: number;
  /** Resolves when the connection is gone and every call of it has ended. */
  readonly finished: Promise<void>;
  readonly #service: ServedService;
  /** Calls whose outcome is not decided yet, running or queued. */
  readonly #calls = new Map<CallId, ServerCall>();
  /** Queued calls, oldest first, with the size of their request. */
  readonly #queue = new Map<ServerCall, number>();
  #queuedBytes = 0;
  #running = 0;
  #pendingBytes = 0;
  /** Sizes of the sends not settled yet, oldest first (from `#sizesHead`). */
  #sizes: number[] = [];
  #sizesHead = 0;
  #drained: Deferred | undefined;
  #idle: Deferred | undefined;
  /** Stream messages of this burst (`sendSoon`), their bytes, and their cost against the batch bound. */
  #soon: Uint8Array[] = [];
  #soonBytes = 0;
  #soonCost = 0;
  #shuttingDown = false;

  constructor(connection: Connection, service: ServedService) {
    this.connection = connection;
    this.#service = service;
    this.peer = connection.peer;
    this.interceptors = service.options.interceptors;
    this.maxMessageSize = service.options.maxMessageSize ?? connection.maxMessageSize;
    this.streamWindow = service.options.streamWindow;
    this.finished = this.#read();
  }

  stats(): ConnectionStats {
    return {
      calls: this.#calls.size,
      running: this.#running,
      queued: this.#queue.size,
      pendingBytes: this.#pendingBytes,
    };
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.#soon.length > 0) this.#flushSoon();
    const size = frame.byteLength;
    this.#pendingBytes += size;
    this.#sizes.push(size);
    const sent = this.connection.send(frame);
    sent.then(this.#onSent, this.#onSent);
    return sent;
  }

  sendSoon(frame: Uint8Array): void {
    const size = frame.byteLength;
    // One too large for the connection is refused alone, not with the burst.
    if (size > this.connection.maxMessageSize) {
      void this.send(frame);
      return;
    }
    const cost = size + BATCH_MESSAGE_OVERHEAD;
    if (this.#soonCost + cost > this.connection.maxMessageSize + BATCH_MESSAGE_OVERHEAD) this.#flushSoon();
    if (this.#soon.length === 0) process.nextTick(this.#flushSoon);
    this.#soon.push(frame);
    this.#soonCost += cost;
    this.#soonBytes += size;
    // Counted now: backlog() sees what is about to be sent.
    this.#pendingBytes += size;
  }

  /** Sends the frames of `sendSoon` with one call (counted as one send in `#sizes`). */
  readonly #flushSoon = (): void => {
    const frames = this.#soon;
    if (frames.length === 0) return;
    this.#soon = [];
    this.#sizes.push(this.#soonBytes);
    this.#soonBytes = 0;
    this.#soonCost = 0;
    const sent = frames.length === 1 ? this.connection.send(frames[0]!) : this.connection.sendBatch(frames);
    sent.then(this.#onSent, this.#onSent);
  };

  backlog(): Promise<void> | undefined {
    if (this.#pendingBytes <= PAUSE_BYTES) return undefined;
    this.#drained ??= new Deferred();
    return this.#drained.promise;
  }

  /**
   * A send settled. A connection accepts sends in order, so the oldest size is the one to take off (a
   * send refused at once can jump the line; the total is right again once the older ones settle).
   */
  readonly #onSent = (): void => {
    this.#pendingBytes -= this.#sizes[this.#sizesHead++]!;
    if (this.#sizesHead === this.#sizes.length) {
      this.#sizes.length = 0;
      this.#sizesHead = 0;
    } else if (this.#sizesHead >= 1024 && this.#sizesHead * 2 >= this.#sizes.length) {
      this.#sizes = this.#sizes.slice(this.#sizesHead);
      this.#sizesHead = 0;
    }
    if (this.#pendingBytes <= PAUSE_BYTES / 2 && this.#drained !== undefined) {
      this.#drained.resolve();
      this.#drained = undefined;
    }
  };

  settled(call: ServerCall): void {
    this.#calls.delete(call.id);
    if (!call.started) this.#dequeue(call);
    if (this.#calls.size === 0 && this.#idle !== undefined) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }

  released(_call: ServerCall): void {
    this.#running--;
    const max = this.#service.options.maxConcurrentCalls;
    while (this.#running < max && this.#queue.size > 0) {
      const next = this.#queue.keys().next().value!;
      this.#dequeue(next);
      this.#running++;
      next.start();
    }
  }

  /** Stops taking new calls: they fail with `UNAVAILABLE`. */
  shutdown(): void {
    this.#shuttingDown = true;
  }

  /** Resolves once no call is in flight. */
  idle(): Promise<void> {
    if (this.#calls.size === 0) return Promise.resolve();
    this.#idle ??= new Deferred();
    return this.#idle.promise;
  }

  /** Ends every call in flight with `error` (sent to its client; handlers' signals abort). */
  failAll(error: RpcError): void {
    for (const call of [...this.#calls.values()]) call.fail(error);
  }

  async #read(): Promise<void> {
    let failure: RpcError;
    try {
      const turns = new EventLoopTurns(READ_TURN);
      // The batch path: everything received with one call (a client stream's messages come many at a time);
      // the pause for the responses' backlog still comes before each frame.
      for (;;) {
        let paused = this.#backlogDrained();
        if (paused !== undefined) await paused;
        // With no call open, the next request is read with receive(): a unary round trip over @ipc/unix measured
        // 5 % (unpinned) to 20 % (split-core) slower reading with receiveBatch() (docs/benchmarks.md, "Issue 17 —
        // RPC"). With calls open (pipelined requests, a client stream), the batch path.
        if (this.#calls.size === 0) {
          const frame = await this.connection.receive();
          if (frame === undefined) break;
          this.#dispatch(frame);
          const turn = turns.next();
          if (turn !== undefined) await turn;
          continue;
        }
        const frames = await this.connection.receiveBatch();
        if (frames === undefined) break;
        for (const frame of frames) {
          paused = this.#backlogDrained();
          if (paused !== undefined) await paused;
          this.#dispatch(frame);
          const turn = turns.next();
          if (turn !== undefined) await turn;
        }
      }
      failure = new RpcError("UNAVAILABLE", "the client closed the connection");
    } catch (error) {
      failure = new RpcError("UNAVAILABLE", `the connection failed: ${messageOf(error)}`, { cause: error });
    }
    for (const call of [...this.#calls.values()]) call.abandon(failure);
    this.#queue.clear();
    this.#queuedBytes = 0;
    this.#drained?.resolve();
    await this.connection.close().catch(() => undefined);
  }

  /** Waits while the responses not yet accepted by the connection are over PAUSE_BYTES. */
  #backlogDrained(): Promise<void> | undefined {
    if (this.#pendingBytes <= PAUSE_BYTES) return undefined;
    this.#drained ??= new Deferred();
    return this.#drained.promise;
  }

  #dispatch(frame: Uint8Array): void {
    let envelope;
    try {
      envelope = decodeEnvelope(frame);
    } catch (error) {
      this.#unattributed(`a message of ${frame.byteLength} bytes is not an ipc.IpcMessage envelope: ${messageOf(error)}`);
      return;
    }
    switch (envelope.kind) {
      case "request":
        this.#onRequest(envelope);
        return;
      case "cancel":
        this.#calls.get(envelope.id)?.onCancel(envelope.status);
        return;
      case "message":
        this.#calls.get(envelope.id)?.onStreamMessage(envelope.payload);
        return;
      case "end":
        this.#calls.get(envelope.id)?.onEnd();
        return;
      case "window":
        this.#calls.get(envelope.id)?.onWindow(envelope.credit);
        return;
      case "response":
        this.#unattributed("a client sent an RpcResponse; only a server does");
        return;
      default:
        this.#unattributed(
          envelope.field === 0
            ? "an empty envelope: no @ipc/rpc message in it"
            : `an envelope of kind ${envelope.field}, which is not an @ipc/rpc request or call message`,
        );
    }
  }

  #onRequest(request: RequestEnvelope): void {
    const id = request.id;
    if (id === 0) return this.#unattributed("a request with id 0: call ids start at 1");
    if (this.#calls.has(id)) return this.#unattributed(`a request with id ${id}, which a call in flight already has`);
    if (this.#shuttingDown) return this.#reply(id, new RpcError("UNAVAILABLE", "the server is shutting down"));
    if (request.metadataTooLarge) {
      const limits = `${MAX_METADATA_ENTRIES} entries or ${MAX_METADATA_BYTES} bytes`;
      return this.#reply(id, new RpcError("RESOURCE_EXHAUSTED", `${utf8Text(request.method)}: the request's metadata is over ${limits}`));
    }
    const route = this.#service.routes.get(request.method);
    if (route?.handler === undefined) {
      return this.#reply(id, this.#unimplemented(utf8Text(request.method), route !== undefined));
    }
    const method = route.method;
    let input: unknown;
    if (method.kind === "unary" || method.kind === "server-stream") {
      const size = request.payload.byteLength;
      if (size > this.maxMessageSize) {
        const limit = this.maxMessageSize;
        const message = `${method.path}: the request is ${size} bytes, over the server's maxMessageSize of ${limit} bytes`;
        return this.#reply(id, new RpcError("RESOURCE_EXHAUSTED", message));
      }
      try {
        input = method.requestType.decode(request.payload);
      } catch (error) {
        return this.#reply(id, undecodable(method, error));
      }
    }
    const runNow = this.#running < this.#service.options.maxConcurrentCalls && this.#queue.size === 0;
    const size = request.payload.byteLength;
    if (!runNow && !this.#hasRoom(id, method.path, size)) return;
    const call = new ServerCall(this, id, method, route.info, route.handler as never, input, request);
    this.#calls.set(id, call);
    if (runNow) {
      this.#running++;
      call.start();
    } else {
      this.#queue.set(call, size);
      this.#queuedBytes += size;
    }
  }

  /** Whether a call with a request of `size` bytes may wait in the queue; if not, it is refused. */
  #hasRoom(id: CallId, path: string, size: number): boolean {
    const { maxConcurrentCalls, maxQueuedCalls, maxQueuedBytes } = this.#service.options;
    const queued = this.#queue.size;
    let full: string | undefined;
    if (queued >= maxQueuedCalls) full = `maxQueuedCalls ${maxQueuedCalls}`;
    else if (queued > 0 && this.#queuedBytes + size > maxQueuedBytes) full = `maxQueuedBytes ${maxQueuedBytes}`;
    if (full === undefined) return true;
    const message =
      `${path}: ${this.#running} calls are running and ${queued} waiting (${this.#queuedBytes} bytes of requests) ` +
      `on this connection (maxConcurrentCalls ${maxConcurrentCalls}, ${full}); retry later`;
    this.#reply(id, new RpcError("RESOURCE_EXHAUSTED", message));
    return false;
  }

  #dequeue(call: ServerCall): void {
    const size = this.#queue.get(call);
    if (size === undefined) return;
    this.#queue.delete(call);
    this.#queuedBytes -= size;
  }

  #unimplemented(path: string, known: boolean): RpcError {
    if (known) return new RpcError("UNIMPLEMENTED", `${path} has no handler on this server`);
    const paths = this.#service.routes.paths.join(", ");
    return new RpcError("UNIMPLEMENTED", `unknown method '${path}': this server serves ${this.#service.name} (${paths})`);
  }

  #reply(id: CallId, error: RpcError): void {
    this.send(failureFrame(this.writer, id, error)).catch(ignore);
  }

  /** Answers a message that belongs to no call: a response on id 0 (docs/wire.md §7.6). */
  #unattributed(message: string): void {
    const error = new RpcError("INVALID_ARGUMENT", message);
    publishProtocolError(this.connection, error);
    this.#reply(0, error);
  }
}

function ignore(): void {}
