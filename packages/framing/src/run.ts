/**
 * The frames of one read, queued as one item for `receiveViews()` (packages/framing/README.md): a view of the
 * read buffer from the first frame's header to the last frame's end, with each payload's offset (from the start
 * of the run) and length — no view per frame.
 */
export class FrameRun extends Uint8Array {
  /** Views made from a run (`subarray()`, `slice()`, `map()`) are plain `Uint8Array`s, not runs. */
  static get [Symbol.species](): Uint8ArrayConstructor {
    return Uint8Array;
  }

  /** Where each payload starts, from the start of the run. */
  offsets: Uint32Array<ArrayBufferLike> = EMPTY_INDEX;
  /** Each payload's length. */
  lengths: Uint32Array<ArrayBufferLike> = EMPTY_INDEX;
  /** The sum of `lengths`. */
  payloadBytes = 0;
}

const EMPTY_INDEX = new Uint32Array(0);
