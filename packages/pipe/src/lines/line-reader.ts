/**
 * `LineReader`: splits a process's output into lines and queues them, bounded: when `highWaterMark` bytes of
 * lines wait unread, reading from the pipe pauses, the pipe fills, and the process blocks in its next write —
 * a slow consumer slows the producer instead of growing memory.
 */
import type { Readable } from "node:stream";
import { Inbox } from "@ipc/core/transport";
import { OutputTooLargeError } from "../errors.js";
import { STDERR_TAIL } from "../process/io.js";

const NEWLINE = 0x0a;
const RETURN = 0x0d;
const decoder = new TextDecoder();

/** The lines of one output stream. */
export class LineReader {
  readonly #inbox: Inbox;
  readonly #maxLineLength: number;
  readonly #name: "stdout" | "stderr";
  readonly #onTooLong: (error: OutputTooLargeError) => void;
  /** Pieces of the line being assembled across chunks. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #failed = false;

  /**
   * @param stream the output to read; it is paused and resumed for backpressure
   * @param highWaterMark bytes of unread lines at which reading pauses
   * @param maxLineLength a longer line calls `onTooLong` (once) and stops reading
   * @param keepTail keep the last 8 KiB seen, for error messages (stderr)
   */
  constructor(
    stream: Readable,
    name: "stdout" | "stderr",
    highWaterMark: number,
    maxLineLength: number,
    keepTail: boolean,
    onTooLong: (error: OutputTooLargeError) => void,
  ) {
    this.#name = name;
    this.#maxLineLength = maxLineLength;
    this.#onTooLong = onTooLong;
    this.#inbox = new Inbox({ highWaterMark, onFull: () => stream.pause(), onDrain: () => stream.resume() });
    stream.on("data", (chunk: Buffer) => {
      if (keepTail) this.#keep(chunk);
      this.#split(chunk);
    });
    stream.once("end", () => this.#finish());
    // A read error (a socketpair reset by a process that read from its stdout) ends the lines with it.
    stream.on("error", (error) => this.fail(error));
    // A pipe torn down without an end (the process was stopped): whatever reason the owner gives wins.
    stream.once("close", () => this.#finish());
  }

  /** Every line, without its `\n` (or `\r\n`), decoded as UTF-8. */
  async *lines(): AsyncGenerator<string, void, undefined> {
    for await (const line of this.#inbox) yield decoder.decode(line);
  }

  /** Ends the lines with `error` after those already queued. */
  fail(error: Error): void {
    this.#failed = true;
    this.#inbox.fail(error);
  }

  /** The last 8 KiB of the stream, decoded (only with `keepTail`). */
  tail(): string {
    const bytes = Buffer.concat(this.#tail);
    return bytes.subarray(Math.max(0, bytes.byteLength - STDERR_TAIL)).toString("utf8");
  }

  #keep(chunk: Buffer): void {
    this.#tail.push(chunk);
    this.#tailBytes += chunk.byteLength;
    while (this.#tail.length > 1 && this.#tailBytes - this.#tail[0]!.byteLength >= STDERR_TAIL) {
      this.#tailBytes -= this.#tail.shift()!.byteLength;
    }
  }

  #split(chunk: Buffer): void {
    if (this.#failed) return;
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end >= 0; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end);
      start = end + 1;
      if (this.#partialBytes > 0) {
        this.#partial.push(piece);
        this.#emit(Buffer.concat(this.#partial, this.#partialBytes + piece.byteLength));
        this.#partial = [];
        this.#partialBytes = 0;
      } else {
        this.#emit(piece);
      }
      if (this.#failed) return;
    }
    if (start < chunk.byteLength) {
      const rest = chunk.subarray(start);
      this.#partial.push(rest);
      this.#partialBytes += rest.byteLength;
      if (this.#partialBytes > this.#maxLineLength) this.#tooLong();
    }
  }

  #emit(line: Buffer): void {
    if (line.byteLength > this.#maxLineLength) return this.#tooLong();
    const end = line.byteLength > 0 && line[line.byteLength - 1] === RETURN ? line.byteLength - 1 : line.byteLength;
    this.#inbox.push(end === line.byteLength ? line : line.subarray(0, end));
  }

  #tooLong(): void {
    const error = new OutputTooLargeError(
      `a line of ${this.#name} is longer than maxLineLength (${this.#maxLineLength} bytes); the process was stopped`,
      this.#name,
      this.#maxLineLength,
    );
    this.fail(error);
    this.#onTooLong(error);
  }

  #finish(): void {
    if (this.#failed || this.#inbox.finished) return;
    if (this.#partialBytes > 0) {
      this.#emit(Buffer.concat(this.#partial, this.#partialBytes));
      this.#partial = [];
      this.#partialBytes = 0;
    }
    this.#inbox.end();
  }
}
