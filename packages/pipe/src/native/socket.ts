/**
 * `PipeSocket`: a `net.Socket` over one end of a pipe, a FIFO or a socketpair. libuv polls the descriptor
 * with epoll: no threadpool thread is ever held (an `fs` stream on a FIFO holds one while it waits). Its
 * errors are typed (`ConnectionResetError` for EPIPE…), and the owner can hold back its end-of-stream or an
 * error until it knows more (how the process at the other end exited).
 */
import net from "node:net";
import { fromSystemError } from "@ipc/core";

/** Decides what a stream's end-of-file or error becomes: `undefined` keeps it as it is. */
export type Verdict = (error: Error | undefined) => Promise<Error | undefined>;

/** One end of a pipe, FIFO or socketpair as a Node stream. The socket owns `fd` and closes it when destroyed. */
export class PipeSocket extends net.Socket {
  readonly #what: string;
  readonly #direction: "read" | "write";
  #verdict: Verdict | undefined;
  #ending = false;

  /**
   * @param fd the descriptor (its O_NONBLOCK flag is set; it must not be shared with a child's stdio), or
   *   `undefined` for a socket that is then `connect()`ed (one end of a socket pair made through node:net,
   *   where native calls cannot be made: see process/stdio-pair.ts)
   * @param direction which way the data goes from this process
   * @param what names the stream in error messages, e.g. `stdout of \`grep x\``
   */
  constructor(fd: number | undefined, direction: "read" | "write", what: string) {
    // A connected socket is both readable and writable: a write end keeps writing after its read side
    // ends (the peer closed its end), as a pipe's write end knows nothing of reading.
    super(fd === undefined ? { allowHalfOpen: direction === "write" } : { fd, readable: direction === "read", writable: direction === "write" });
    this.#what = what;
    this.#direction = direction;
    if (fd === undefined && direction === "read") this.#deferReading();
  }

  /**
   * A read end connected before the child starts reads nothing until a consumer attaches a 'data'
   * listener (or reads): otherwise a child that exits at once could end and close the stream before
   * anyone listens for its end, while this process is still starting the next stage of a pipeline.
   */
  #deferReading(): void {
    this.pause(); // before connect(): no first read once connected
    const onListener = (event: string | symbol): void => {
      if (event !== "data") return;
      this.off("newListener", onListener);
      this.resume();
    };
    this.on("newListener", onListener);
  }

  /**
   * Holds end-of-file and errors until `verdict` settles: an error it returns replaces them (the stream is
   * destroyed with it), `undefined` lets them through unchanged.
   */
  holdUntil(verdict: Verdict): void {
    this.#verdict = verdict;
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    const verdict = this.#verdict;
    // The end-of-file of a write end's read side (a connected socket's) is not the stream's: no verdict.
    if (chunk !== null || verdict === undefined || this.#ending || this.#direction === "write") return super.push(chunk, encoding);
    this.#ending = true;
    void verdict(undefined).then((error) => {
      if (this.destroyed) return;
      if (error !== undefined) this.destroy(error);
      else super.push(null);
    });
    return false;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    super._destroy(error, (closeError) => {
      const raw = closeError ?? null;
      if (raw === null) return callback(null);
      const typed = fromSystemError(raw, this.#what);
      const verdict = this.#verdict;
      if (verdict === undefined) return callback(typed);
      void verdict(typed).then((replacement) => callback(replacement ?? typed));
    });
  }
}
