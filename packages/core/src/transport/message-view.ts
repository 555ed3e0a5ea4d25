/**
 * The opt-in zero-copy receive of the contract (`ViewConnection.receiveView()`, packages/core/README.md): the
 * type guard users check a connection with, and the view a transport lends.
 */
import { InvalidArgumentError, ViewReleasedError } from "../errors.js";
import type { Connection, MessageBatchView, MessageView, ViewConnection } from "../types.js";

/**
 * True when `connection` offers the zero-copy receives `receiveView()` and `receiveViews()` (a connection from
 * @ipc/kit's `connect(url)`, a listener's, a layer's): the one way to find the capability. Layers over a
 * connection (sessions, mux, RPC) do not lend views; their `receive()` is unchanged.
 */
export function isViewConnection(connection: Connection): connection is ViewConnection {
  const candidate = connection as Partial<ViewConnection>;
  return typeof candidate.receiveView === "function" && typeof candidate.receiveViews === "function";
}

/**
 * A {@link MessageView} over `bytes` that calls `onRelease` once, at its `release()`: what a transport's
 * `receiveView()` hands out.
 */
export class LentView implements MessageView {
  #bytes: Uint8Array | undefined;
  readonly #onRelease: () => void;

  constructor(bytes: Uint8Array, onRelease: () => void) {
    this.#bytes = bytes;
    this.#onRelease = onRelease;
  }

  get bytes(): Uint8Array {
    const bytes = this.#bytes;
    if (bytes === undefined) {
      throw new ViewReleasedError("this message view was released: its memory belongs to the connection again (copy what you keep before release())");
    }
    return bytes;
  }

  get released(): boolean {
    return this.#bytes === undefined;
  }

  release(): void {
    if (this.#bytes === undefined) throw new ViewReleasedError("this message view was released already (release() each view once)");
    this.#bytes = undefined;
    this.#onRelease();
  }
}

/**
 * A {@link MessageBatchView} of `count` messages at `offsets`/`lengths` in `bytes` that calls `onRelease` once, at
 * its `release()`: what a transport's `receiveViews()` hands out (the arrays are the caller's to give; nothing
 * is copied).
 */
export class LentBatch implements MessageBatchView {
  readonly count: number;
  #bytes: Uint8Array | undefined;
  readonly #offsets: Uint32Array;
  readonly #lengths: Uint32Array;
  readonly #onRelease: () => void;

  constructor(bytes: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, onRelease: () => void) {
    this.count = offsets.length;
    this.#bytes = bytes;
    this.#offsets = offsets;
    this.#lengths = lengths;
    this.#onRelease = onRelease;
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
    return new Uint8Array(bytes.buffer, bytes.byteOffset + this.#offsets[index]!, this.#lengths[index]!);
  }

  get released(): boolean {
    return this.#bytes === undefined;
  }

  release(): void {
    if (this.#bytes === undefined) throw new ViewReleasedError("this batch of message views was released already (release() each batch once)");
    this.#bytes = undefined;
    this.#onRelease();
  }

  #lent(): Uint8Array {
    const bytes = this.#bytes;
    if (bytes === undefined) {
      throw new ViewReleasedError("this batch of message views was released: its memory belongs to the connection again (copy what you keep before release())");
    }
    return bytes;
  }
}
