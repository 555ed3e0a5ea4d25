/**
 * The opt-in zero-copy receive of the contract (`ViewConnection.receiveView()`, packages/core/README.md): the
 * type guard users check a connection with, and the view a transport lends.
 */
import { ViewReleasedError } from "../errors.js";
import type { Connection, MessageView, ViewConnection } from "../types.js";

/**
 * True when `connection` offers `receiveView()`, the zero-copy receive (a connection from @ipc/kit's
 * `connect(url)`, a listener's, a layer's): the one way to find the capability. Layers over a connection
 * (sessions, mux, RPC) do not lend views; their `receive()` is unchanged.
 */
export function isViewConnection(connection: Connection): connection is ViewConnection {
  return typeof (connection as Partial<ViewConnection>).receiveView === "function";
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
