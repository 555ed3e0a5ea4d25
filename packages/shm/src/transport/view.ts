/**
 * The zero-copy receive of the shm transport (`ShmConnection.receiveView()`, packages/shm/README.md): a
 * received message lent as a view of the ring itself, until released.
 */
import { InvalidArgumentError, type MessageBatchView as CoreMessageBatchView } from "@ipc/core";
import { ViewReleasedError } from "../errors.js";

/**
 * A message received without a copy: `bytes` is a view of the connection's receiving ring, valid until
 * `release()`. Until then the sender cannot reuse that space, and the connection lends no other message
 * (`receive()`, `receiveBatch()` and `receiveView()` reject with `ViewHeldError`): release it as soon as
 * you are done. After `release()`, reading `bytes` or releasing again throws `ViewReleasedError`; a
 * reference to `bytes` kept past `release()` cannot be checked — it sees whatever the sender writes there
 * next, so keep none (copy what you keep: `view.bytes.slice()`).
 */
export interface ShmMessageView {
  /** The message, in the ring's memory. Throws `ViewReleasedError` once released. */
  readonly bytes: Uint8Array;
  /** Gives the space back to the sender. Throws `ViewReleasedError` the second time. */
  release(): void;
  /** True once `release()` was called. */
  readonly released: boolean;
}

export class MessageView implements ShmMessageView {
  #bytes: Uint8Array | undefined;
  readonly #release: () => void;

  constructor(bytes: Uint8Array, release: () => void) {
    this.#bytes = bytes;
    this.#release = release;
  }

  get bytes(): Uint8Array {
    const bytes = this.#bytes;
    if (bytes === undefined)
      throw new ViewReleasedError("this message view was released: its bytes belong to the ring again (copy what you keep before release())");
    return bytes;
  }

  get released(): boolean {
    return this.#bytes === undefined;
  }

  release(): void {
    if (this.#bytes === undefined) throw new ViewReleasedError("this message view was released already (release() each view once)");
    this.#bytes = undefined;
    this.#release();
  }
}

/**
 * Messages received without a copy, all at once (`ShmConnection.receiveViews()`): the contract's
 * `MessageBatchView` (@ipc/core), where `bytes` is a view of the connection's receiving ring and `release()`
 * gives all their space back to the sender at once.
 */
export type ShmBatchView = CoreMessageBatchView;

export class MessageBatchView implements ShmBatchView {
  readonly count: number;
  #bytes: Uint8Array | undefined;
  readonly #offsets: Uint32Array;
  readonly #lengths: Uint32Array;
  readonly #release: () => void;

  constructor(bytes: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, release: () => void) {
    this.count = offsets.length;
    this.#bytes = bytes;
    this.#offsets = offsets;
    this.#lengths = lengths;
    this.#release = release;
  }

  get bytes(): Uint8Array {
    return this.#lent();
  }

  get offsets(): Uint32Array {
    this.#lent();
    return this.#offsets;
  }

  get lengths(): Uint32Array {
    this.#lent();
    return this.#lengths;
  }

  at(index: number): Uint8Array {
    const bytes = this.#lent();
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new InvalidArgumentError(`message index ${index} is outside this batch of ${this.count} (0 to ${this.count - 1})`);
    }
    const offset = this.#offsets[index]!;
    return bytes.subarray(offset, offset + this.#lengths[index]!);
  }

  get released(): boolean {
    return this.#bytes === undefined;
  }

  release(): void {
    if (this.#bytes === undefined) throw new ViewReleasedError("this batch of message views was released already (release() each batch once)");
    this.#bytes = undefined;
    this.#release();
  }

  #lent(): Uint8Array {
    const bytes = this.#bytes;
    if (bytes === undefined) {
      throw new ViewReleasedError("this batch of message views was released: its bytes belong to the ring again (copy what you keep before release())");
    }
    return bytes;
  }
}
