/**
 * What the two ends of a `fifo:` connection agree on (docs/wire.md §6.2): the file names, and the 8-byte greeting
 * each side sends once before the frames.
 */
import type { Readable } from "node:stream";

/** `IPCFIFO` and version 1: sent by the client on `.in`, answered by the server on `.out`. */
export const GREETING = Buffer.from([0x49, 0x50, 0x43, 0x46, 0x49, 0x46, 0x4f, 0x01]);

/** The files of a `fifo:` address: two FIFOs and the lock file clients take during the handshake. */
export interface FifoPaths {
  /** Client → server. */
  readonly in: string;
  /** Server → client. */
  readonly out: string;
  /** Held (flock) by a client from before it opens the FIFOs until the server's greeting. */
  readonly lock: string;
}

/** The files of the `fifo:` address whose path is `path`. */
export function fifoPaths(path: string): FifoPaths {
  return { in: `${path}.in`, out: `${path}.out`, lock: `${path}.lock` };
}

/**
 * Reads exactly the greeting's length from `stream` (paused mode, so what follows stays in the stream for
 * the framing). Resolves with the bytes read, which may be fewer if the stream ended first; rejects if the
 * stream is destroyed. Returns the function that stops waiting.
 */
export function readGreeting(stream: Readable, resolve: (bytes: Buffer) => void, reject: (error: Error) => void): () => void {
  const size = GREETING.byteLength;
  const cleanup = (): void => {
    stream.off("readable", onReadable);
    stream.off("end", onEnd);
    stream.off("close", onClose);
  };
  function onReadable(): void {
    const chunk = stream.read(size) as Buffer | null;
    if (chunk === null) return;
    cleanup();
    resolve(chunk);
  }
  function onEnd(): void {
    cleanup();
    resolve(Buffer.alloc(0));
  }
  function onClose(): void {
    cleanup();
    reject(new Error("the FIFO closed during the handshake"));
  }
  // At the end of the stream, read(size) hands out what is left even if it is shorter: the caller checks.
  stream.on("readable", onReadable);
  stream.once("end", onEnd);
  stream.once("close", onClose);
  return cleanup;
}
