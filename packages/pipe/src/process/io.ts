/**
 * Feeding a process's stdin and collecting its output, both bounded and both concurrent with everything else
 * (docs/guide.md#pipe-capacity-and-the-deadlock: a parent that writes all of a large input before reading
 * deadlocks once both pipes are full; here input is written while output is read, through the event loop).
 */
import { pipeline } from "node:stream/promises";
import type { Readable, Writable } from "node:stream";
import { InvalidArgumentError } from "@ipc/core";
import { OutputTooLargeError } from "../errors.js";

/** What can be written to a process's stdin: bytes, text (UTF-8), or a stream / async iterable of either. */
export type ProcessInput = string | Uint8Array | AsyncIterable<string | Uint8Array>;

/** The ways output is returned: decoded text in a Node encoding, or `"buffer"` for the bytes. */
export type OutputEncoding = BufferEncoding | "buffer";

/** What output becomes for an encoding: bytes for `"buffer"`, a string otherwise. */
export type Output<E extends OutputEncoding> = E extends "buffer" ? Uint8Array : string;

/** Bytes of stderr kept for error messages (`ProcessExitError.stderr`). */
export const STDERR_TAIL = 8 * 1024;

/** Errors of a stdin whose reader is gone: the process's exit status says what happened, not these. */
export function isBrokenPipe(error: unknown): boolean {
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | null)?.code;
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return [code, cause].some((c) => c === "EPIPE" || c === "ECONNRESET" || c === "ERR_STREAM_DESTROYED" || c === "ERR_STREAM_PREMATURE_CLOSE");
}

/** Checks an `input` option. */
export function checkInput(input: unknown): void {
  if (input === undefined || typeof input === "string" || input instanceof Uint8Array) return;
  if (typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") return;
  throw new InvalidArgumentError("input must be a string, a Uint8Array, or a stream / async iterable of them");
}

/**
 * Writes `input` to `stdin` and ends it, with backpressure. A reader that stops early (EPIPE) is not an
 * error: the process's exit status tells. Any other failure (a throwing input iterable) goes to `onError`.
 */
export function feed(stdin: Writable, input: ProcessInput, onError: (error: unknown) => void): void {
  stdin.on("error", (error) => {
    if (!isBrokenPipe(error)) onError(error);
  });
  if (typeof input === "string" || input instanceof Uint8Array) {
    stdin.end(input);
    return;
  }
  pipeline(input, stdin).catch((error: unknown) => {
    if (!isBrokenPipe(error)) onError(error);
  });
}

/** Collects one output stream of a process in memory, up to a limit. */
export class OutputCollector {
  /** Resolves when the stream has ended or closed (never rejects: a broken pipe is an end). */
  readonly done: Promise<void>;
  readonly #chunks: Buffer[] = [];
  #bytes = 0;

  /**
   * @param stream the process's stdout or stderr
   * @param limit bytes beyond which `onOverflow` is called (once) and collecting stops
   * @param name which stream, for the error
   * @param command the command line, for the error message
   */
  constructor(stream: Readable, limit: number, name: "stdout" | "stderr", command: string, onOverflow: (error: OutputTooLargeError) => void) {
    this.done = new Promise((resolve) => {
      stream.once("close", resolve);
      stream.on("error", () => resolve());
    });
    const onData = (chunk: Buffer): void => {
      if (this.#bytes + chunk.byteLength > limit) {
        stream.off("data", onData);
        onOverflow(
          new OutputTooLargeError(
            `\`${command}\` wrote more than maxOutput (${limit} bytes) to ${name}; it was stopped ` +
              "(raise maxOutput, or stream the output with spawnLines() or pipeline({ output }))",
            name,
            limit,
          ),
        );
        return;
      }
      this.#bytes += chunk.byteLength;
      this.#chunks.push(chunk);
    };
    stream.on("data", onData);
  }

  /** Bytes collected so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Everything collected, as bytes or decoded. */
  value(encoding: OutputEncoding): string | Uint8Array {
    const bytes = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#bytes);
    return encoding === "buffer" ? bytes : bytes.toString(encoding);
  }

  /** The last {@link STDERR_TAIL} bytes, decoded as UTF-8 (for error messages). */
  tail(): string {
    const parts: Buffer[] = [];
    let have = 0;
    for (let i = this.#chunks.length - 1; i >= 0 && have < STDERR_TAIL; i--) {
      parts.unshift(this.#chunks[i]!);
      have += this.#chunks[i]!.byteLength;
    }
    const bytes = Buffer.concat(parts);
    return bytes.subarray(Math.max(0, bytes.byteLength - STDERR_TAIL)).toString("utf8");
  }
}
