/**
 * The in-memory transport (`memory://name`): connections between two places in one process with the full
 * semantics of a real one — ordering, backpressure, size limits, graceful close, abort, timeouts. Tests
 * and examples run on it without the OS, and the conformance suite is checked against it.
 */
import { AcceptQueue } from "./accept-queue.js";
import { formatAddress, parseAddressOf } from "./address.js";
import { throwIfAborted, race } from "./deadline.js";
import { Deferred, settledOf } from "./deferred.js";
import {
  AbortError,
  AddressInUseError,
  ClosedError,
  ConnectionRefusedError,
  ConnectionResetError,
  FrameTooLargeError,
  InvalidArgumentError,
  MessageTooLargeError,
} from "./errors.js";
import { Inbox } from "./inbox.js";
import { queueSend, type PendingSend } from "./send-queue.js";
import { resolveBacklog, resolveConnectionOptions, type ResolvedConnectionOptions } from "./options.js";
import type {
  CloseOptions,
  ConnectOptions,
  Connection,
  ListenOptions,
  Listener,
  Peer,
  ReceiveOptions,
  SendOptions,
  Transport,
  WaitOptions,
} from "./types.js";

const RESOLVED = Promise.resolve();

const enum State {
  Open,
  Closing,
  Closed,
}

function selfPeer(): Peer {
  return { pid: process.pid, uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };
}

/** One end of an in-memory connection. */
class MemoryConnection implements Connection {
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly peer: Peer = selfPeer();
  readonly maxMessageSize: number;
  readonly #inbox: Inbox;
  readonly #closed = new Deferred();
  #other!: MemoryConnection;
  #state = State.Open;
  #error: Error | undefined;
  #pending: PendingSend[] = [];
  #sentEnd = false;
  #receivedEnd = false;

  constructor(options: ResolvedConnectionOptions, localAddress: string, remoteAddress: string) {
    this.maxMessageSize = options.maxMessageSize;
    this.localAddress = localAddress;
    this.remoteAddress = remoteAddress;
    this.#inbox = new Inbox({
      highWaterMark: options.highWaterMark,
      onDrain: () => this.#other.#pump(),
    });
  }

  static pair(a: ResolvedConnectionOptions, b: ResolvedConnectionOptions, address: string): [Connection, Connection] {
    const client = new MemoryConnection(a, address, address);
    const server = new MemoryConnection(b, address, address);
    client.#other = server;
    server.#other = client;
    return [client, server];
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    if (!(message instanceof Uint8Array)) {
      return Promise.reject(new InvalidArgumentError("send() takes a Uint8Array"));
    }
    if (this.#state !== State.Open) return Promise.reject(this.#sendError());
    if (message.byteLength > this.maxMessageSize) {
      return Promise.reject(new MessageTooLargeError(message.byteLength, this.maxMessageSize));
    }
    if (options?.signal?.aborted) {
      try {
        throwIfAborted(options.signal, "send");
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.#pending.length === 0 && this.#other.#inbox.hasRoom) {
      this.#deliver(message);
      return RESOLVED;
    }
    return queueSend(this.#pending, message, options, () => this.#finishSendingIfClosing());
  }

  receive(options?: ReceiveOptions): Promise<Uint8Array | undefined> {
    return this.#inbox.receive(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  async close(options?: CloseOptions): Promise<void> {
    if (this.#state === State.Open) {
      this.#state = State.Closing;
      this.#finishSendingIfClosing();
    }
    try {
      await race("close", settledOf(this.#closed.promise), options);
    } catch (error) {
      this.abort(error as Error);
    }
  }

  abort(reason?: Error): void {
    if (this.#state === State.Closed) return;
    const error = reason ?? new AbortError("the connection was aborted");
    this.#fail(error, true);
    this.#other.#fail(new ConnectionResetError("the peer aborted the connection", { cause: reason }), false);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Hands a copy of `message` to the other end, which owns it from then on. */
  #deliver(message: Uint8Array): void {
    const other = this.#other;
    if (message.byteLength > other.maxMessageSize) {
      // What a stream transport's receiver does with an oversize frame: refuse it and close.
      const error = new FrameTooLargeError(message.byteLength, other.maxMessageSize);
      other.#fail(error, false);
      this.#fail(new ConnectionResetError("the peer closed the connection: message over its maxMessageSize", { cause: error }), false);
      return;
    }
    other.#inbox.push(message.slice());
  }

  /** Accepts waiting sends while the other end has room. */
  #pump(): void {
    const other = this.#other;
    while (this.#pending.length > 0 && other.#inbox.hasRoom && this.#state !== State.Closed) {
      const entry = this.#pending.shift()!;
      this.#deliver(entry.message);
      entry.resolve();
    }
    this.#finishSendingIfClosing();
  }

  #finishSendingIfClosing(): void {
    if (this.#state !== State.Closing || this.#sentEnd || this.#pending.length > 0) return;
    this.#sentEnd = true;
    this.#other.#onPeerEnd();
    this.#settleIfDone();
  }

  #onPeerEnd(): void {
    this.#receivedEnd = true;
    this.#inbox.end();
    if (this.#state === State.Open) this.#state = State.Closing;
    this.#finishSendingIfClosing();
    this.#settleIfDone();
  }

  #settleIfDone(): void {
    if (this.#sentEnd && this.#receivedEnd && this.#state !== State.Closed) {
      this.#state = State.Closed;
      this.#closed.resolve();
    }
  }

  #fail(error: Error, discardInbox: boolean): void {
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    this.#error = error;
    if (discardInbox) this.#inbox.destroy(error);
    else this.#inbox.fail(error);
    for (const entry of this.#pending.splice(0)) entry.reject(error);
    this.#closed.reject(error);
  }

  #sendError(): Error {
    if (this.#error !== undefined) return this.#error;
    return new ClosedError(
      this.#receivedEnd && !this.#sentEnd
        ? "the peer closed the connection; no more messages can be sent"
        : "the connection is closing or closed; no more messages can be sent",
    );
  }
}

/** The listeners of this process's memory transport, by name. */
const listeners = new Map<string, MemoryListener>();

class MemoryListener implements Listener {
  readonly address: string;
  readonly options: ResolvedConnectionOptions;
  readonly queue: AcceptQueue;
  readonly #name: string;

  constructor(name: string, options: ResolvedConnectionOptions, backlog: number) {
    this.#name = name;
    this.address = formatAddress({ scheme: "memory", name });
    this.options = options;
    this.queue = new AcceptQueue(backlog);
  }

  accept(options?: WaitOptions): Promise<Connection | undefined> {
    return this.queue.accept(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return this.queue[Symbol.asyncIterator]();
  }

  async close(): Promise<void> {
    if (listeners.get(this.#name) === this) listeners.delete(this.#name);
    this.queue.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The memory transport: `listen("memory://name")` and `connect("memory://name")` within this process.
 * `connect()` waits (under its `timeout`/`signal`) while the listener's backlog is full.
 */
export const memoryTransport: Transport = {
  scheme: "memory",

  async listen(address: string, options?: ListenOptions): Promise<Listener> {
    const { name } = parseAddressOf(address, "memory");
    const resolved = resolveConnectionOptions(options);
    const backlog = resolveBacklog(options);
    if (listeners.has(name)) {
      throw new AddressInUseError(`${address} is already in use by a listener in this process`);
    }
    const listener = new MemoryListener(name, resolved, backlog);
    listeners.set(name, listener);
    return listener;
  },

  async connect(address: string, options?: ConnectOptions): Promise<Connection> {
    const { name } = parseAddressOf(address, "memory");
    const resolved = resolveConnectionOptions(options);
    throwIfAborted(options?.signal, `connect to ${address}`);
    const listener = listeners.get(name);
    if (listener === undefined) throw new ConnectionRefusedError(`connect to ${address}: nothing is listening there`);
    try {
      await listener.queue.waitForRoom(options);
    } catch (error) {
      if (error instanceof ClosedError) {
        throw new ConnectionRefusedError(`connect to ${address}: the listener closed`, { cause: error });
      }
      throw error;
    }
    const [client, server] = MemoryConnection.pair(resolved, listener.options, listener.address);
    listener.queue.push(server);
    return client;
  },
};

/**
 * Two connected in-memory connections, without a listener: the quickest way to test code that takes a
 * `Connection`. Each end gets its own options.
 */
export function memoryPair(
  options?: ConnectOptions,
  peerOptions: ConnectOptions | undefined = options,
): [Connection, Connection] {
  return MemoryConnection.pair(
    resolveConnectionOptions(options),
    resolveConnectionOptions(peerOptions),
    "memory://pair",
  );
}
