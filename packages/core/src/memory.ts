/**
 * The in-memory transport (`memory://name`): connections between two places in one process with the full
 * semantics of a real one — ordering, backpressure, size limits, graceful close, abort, timeouts. Tests
 * and examples run on it without the OS, and the conformance suite is checked against it.
 */
import { formatAddress, parseAddressOf } from "./address.js";
import { throwIfAborted } from "./deadline.js";
import { AddressInUseError, ClosedError, ConnectionRefusedError, ConnectionResetError, FrameTooLargeError } from "./errors.js";
import { Inbox } from "./inbox.js";
import { queueSend, queueSendBatch, type PendingSend } from "./send-queue.js";
import { resolveBacklog, resolveConnectionOptions, type ResolvedConnectionOptions } from "./options.js";
import { publishConnect } from "./diagnostics-publish.js";
import { ConnectionBase } from "./transport/connection-base.js";
import { ListenerBase } from "./transport/listener-base.js";
import type { ConnectOptions, Connection, ListenOptions, Listener, Peer, SendOptions, Transport } from "./types.js";

const RESOLVED = Promise.resolve();

function selfPeer(): Peer {
  return { pid: process.pid, uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };
}

/** One end of an in-memory connection. */
class MemoryConnection extends ConnectionBase {
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly peer: Peer = selfPeer();
  readonly maxMessageSize: number;
  protected readonly inbox: Inbox;
  #other!: MemoryConnection;
  #pending: PendingSend[] = [];
  #sentEnd = false;
  #receivedEnd = false;

  constructor(options: ResolvedConnectionOptions, localAddress: string, remoteAddress: string) {
    super();
    this.maxMessageSize = options.maxMessageSize;
    this.localAddress = localAddress;
    this.remoteAddress = remoteAddress;
    this.inbox = new Inbox({ highWaterMark: options.highWaterMark, onDrain: () => this.#other.#pump() });
  }

  static pair(a: ResolvedConnectionOptions, b: ResolvedConnectionOptions, address: string): [Connection, Connection] {
    const client = new MemoryConnection(a, address, address);
    const server = new MemoryConnection(b, address, address);
    client.#other = server;
    server.#other = client;
    return [client, server];
  }

  protected override write(message: Uint8Array, options: SendOptions | undefined): Promise<void> {
    if (this.#pending.length === 0 && this.#other.inbox.hasRoom) {
      this.#deliver(message);
      return RESOLVED;
    }
    return queueSend(this.#pending, message, options, () => this.#finishSendingIfClosing());
  }

  /** The whole batch goes into the other end's inbox at once (each message copied), when it has room. */
  protected override writeBatch(messages: readonly Uint8Array[], options: SendOptions | undefined): Promise<void> {
    if (this.#pending.length === 0 && this.#other.inbox.hasRoom) {
      this.#deliverAll(messages);
      return RESOLVED;
    }
    return queueSendBatch(this.#pending, messages, options, () => this.#finishSendingIfClosing());
  }

  protected override endSending(): void {
    this.#finishSendingIfClosing();
  }

  protected override onAbort(reason: Error): void {
    this.#other.fail(new ConnectionResetError("the peer aborted the connection", { cause: reason }));
  }

  protected override onFail(error: Error): void {
    for (const entry of this.#pending.splice(0)) entry.reject(error);
  }

  /** Hands a copy of `message` to the other end, which owns it from then on. */
  #deliver(message: Uint8Array): void {
    const other = this.#other;
    if (message.byteLength > other.maxMessageSize) {
      // What a stream transport's receiver does with an oversize frame: refuse it and close.
      const error = new FrameTooLargeError(message.byteLength, other.maxMessageSize);
      other.fail(error);
      this.fail(new ConnectionResetError("the peer closed the connection: message over its maxMessageSize", { cause: error }));
      return;
    }
    other.inbox.push(message.slice());
  }

  #deliverAll(messages: readonly Uint8Array[]): void {
    for (const message of messages) {
      if (this.isClosed) return;
      this.#deliver(message);
    }
  }

  /** Accepts waiting sends while the other end has room. */
  #pump(): void {
    const other = this.#other;
    while (this.#pending.length > 0 && other.inbox.hasRoom && !this.isClosed) {
      const entry = this.#pending.shift()!;
      if (entry.batch === undefined) this.#deliver(entry.message);
      else this.#deliverAll(entry.batch);
      entry.resolve();
    }
    this.#finishSendingIfClosing();
  }

  #finishSendingIfClosing(): void {
    if (this.isOpen || this.isClosed || this.#sentEnd || this.#pending.length > 0) return;
    this.#sentEnd = true;
    this.#other.#onPeerEnd();
    if (this.#receivedEnd) this.finishClose();
  }

  #onPeerEnd(): void {
    this.#receivedEnd = true;
    this.inbox.end();
    this.closedByPeer();
    if (this.#sentEnd) this.finishClose();
  }
}

/** The listeners of this process's memory transport, by name. */
const listeners = new Map<string, MemoryListener>();

class MemoryListener extends ListenerBase {
  readonly address: string;
  readonly #options: ResolvedConnectionOptions;
  readonly #name: string;

  constructor(name: string, options: ResolvedConnectionOptions, backlog: number) {
    super(backlog);
    this.#name = name;
    this.address = formatAddress({ scheme: "memory", name });
    this.#options = options;
  }

  /** A client's connect(): waits (under `options`) for room in the backlog, then queues the server's end. */
  async connect(options: ResolvedConnectionOptions, wait: ConnectOptions | undefined): Promise<Connection> {
    try {
      await this.queue.waitForRoom(wait);
    } catch (error) {
      if (error instanceof ClosedError) {
        throw new ConnectionRefusedError(`connect to ${this.address}: the listener closed`, { cause: error });
      }
      throw error;
    }
    const [client, server] = MemoryConnection.pair(options, this.#options, this.address);
    this.queue.push(server);
    publishConnect(client, this.address);
    return client;
  }

  protected override release(): void {
    if (listeners.get(this.#name) === this) listeners.delete(this.#name);
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
    return listener.connect(resolved, options);
  },
};

/**
 * Two connected in-memory connections, without a listener: the quickest way to test code that takes a
 * `Connection`. Each end gets its own options.
 */
export function memoryPair(options?: ConnectOptions, peerOptions: ConnectOptions | undefined = options): [Connection, Connection] {
  return MemoryConnection.pair(resolveConnectionOptions(options), resolveConnectionOptions(peerOptions), "memory://pair");
}
