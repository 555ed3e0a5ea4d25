/** The rules every {@link Listener} shares, written once, over its {@link AcceptQueue}. */
import { AcceptQueue } from "../accept-queue.js";
import { abortError } from "../deadline.js";
import { publishAccept, publishRefuse } from "../diagnostics-publish.js";
import type { Connection, Listener, Peer, WaitOptions } from "../types.js";

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** A listener's queue that publishes `ipc:connection:accept` for each connection it takes while open. */
class PublishingAcceptQueue extends AcceptQueue {
  readonly #listener: Listener;

  constructor(backlog: number, listener: Listener) {
    super(backlog);
    this.#listener = listener;
  }

  override push(connection: Connection): void {
    if (!this.closed) publishAccept(connection, this.#listener);
    super.push(connection);
  }
}

/**
 * A listener's shared behaviour: `accept()` and iteration (an already-aborted signal rejects at once), a
 * `close()` that runs once, `await using`. The transport pushes what it accepts into `queue` (after checking
 * `queue.hasRoom`, or waiting with `queue.waitForRoom()`) and implements `release()`.
 */
export abstract class ListenerBase<C extends Connection = Connection> implements Listener {
  abstract readonly address: string;
  protected readonly queue: AcceptQueue;
  #closing: Promise<void> | undefined;
  #closed = false;

  constructor(backlog: number) {
    this.queue = new PublishingAcceptQueue(backlog, this);
  }

  /** True once `close()` was called. */
  protected get isClosed(): boolean {
    return this.#closed;
  }

  accept(options?: WaitOptions): Promise<C | undefined> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, "accept"));
    return this.queue.accept(options) as Promise<C | undefined>;
  }

  [Symbol.asyncIterator](): AsyncIterator<C> {
    return {
      next: () => this.accept().then((c) => (c === undefined ? DONE : { done: false, value: c })),
      return: () => Promise.resolve(DONE),
    };
  }

  /** Closes the queue (connections not handed out are aborted), then `release()`; every call gets the same promise. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Tells diagnostics (`ipc:connection:refuse`) that this listener turned a client away, and why: `peer` is
   * the client's credentials, `remoteAddress` its address, where the transport knows them. The transport
   * still answers the client itself.
   */
  protected refused(reason: string, peer?: Peer, remoteAddress?: string): void {
    publishRefuse("listener", this.address, reason, peer, undefined, remoteAddress);
  }

  /** Stops accepting at the source and frees the address (once, from `close()`). */
  protected abstract release(): void | Promise<void>;

  async #close(): Promise<void> {
    this.#closed = true;
    this.queue.close();
    await this.release();
  }
}
