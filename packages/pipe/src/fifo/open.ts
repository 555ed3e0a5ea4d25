/**
 * Named pipes (docs/guide.md#fifos). A FIFO is opened with O_NONBLOCK and wrapped in a socket polled by epoll:
 * the open returns at once (a blocking open would stall the event loop until the other side comes, and an `fs`
 * stream on a FIFO holds a libuv threadpool thread while it waits — four idle readers starve every other `fs`
 * call in the process).
 */
import { chmodSync, closeSync, constants, fstatSync, openSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { InvalidArgumentError, PermissionDeniedError, fromSystemError, wait, type IpcError, type WaitOptions } from "@ipc/core";
import { mkfifo as mkfifoCall } from "../native/native.js";
import { PipeSocket } from "../native/socket.js";

/** Longest pause between two attempts to open a FIFO for writing while no reader has it open. */
const MAX_RETRY_DELAY = 50;

/**
 * Creates a FIFO at `path` with exactly `mode` (the umask does not reduce it). Throws `AddressInUseError`
 * when the path exists, `PermissionDeniedError` when the directory is not writable, `InvalidArgumentError`
 * when a directory of the path is missing.
 */
export function mkfifo(path: string, mode = 0o600): void {
  if (typeof path !== "string" || path.length === 0) throw new InvalidArgumentError("mkfifo: path must be a non-empty string");
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new InvalidArgumentError(`mkfifo: mode must be an integer from 0 to 0o7777, got ${String(mode)}`);
  }
  mkfifoCall(path, mode);
  // mkfifo(3) applies the umask; the mode asked for is the mode wanted.
  chmodSync(path, mode);
}

/** Opens `path` without blocking and checks that it is a FIFO; typed errors. */
export function openFifoFd(path: string, flags: number): number {
  let fd: number;
  try {
    fd = openSync(path, flags | constants.O_NONBLOCK);
  } catch (error) {
    throw openError(error, path);
  }
  // bigint: a plain fstatSync of a FIFO would make later require()s of symlinked packages fail (native/native.ts).
  if (!fstatSync(fd, { bigint: true }).isFIFO()) {
    closeSync(fd);
    throw new InvalidArgumentError(`${path} is not a FIFO (create one with mkfifo())`);
  }
  return fd;
}

function openError(error: unknown, path: string): IpcError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new InvalidArgumentError(`there is no FIFO at ${path} (${code}); create it with mkfifo() first`, { cause: error });
  }
  if (code === "EACCES" || code === "EPERM") {
    return new PermissionDeniedError(`open FIFO ${path}: permission denied (${code})`, { cause: error });
  }
  return fromSystemError(error, `open FIFO ${path}`);
}

/** Options of {@link openFifoReader}. */
export interface FifoReaderOptions {
  /**
   * Keep the stream open while writers come and go (the FIFO is opened read-write, so it always has a
   * writer): for a collector that many short-lived writers feed. Default: `false` — the stream ends when
   * the last writer closes (after at least one came).
   */
  readonly keepOpen?: boolean | undefined;
}

/**
 * Opens the FIFO at `path` for reading, at once, whether or not a writer has it open. Data flows when a
 * writer writes; the stream ends when the last writer closes (unless `keepOpen`). Errors are typed.
 */
export function openFifoReader(path: string, options?: FifoReaderOptions): Readable {
  const flags = options?.keepOpen === true ? constants.O_RDWR : constants.O_RDONLY;
  return new PipeSocket(openFifoFd(path, flags), "read", `FIFO ${path}`);
}

/**
 * Opens the FIFO at `path` for writing, waiting (without blocking anything) until a reader has it open:
 * the open is retried, backing off up to 50 ms between attempts, under `timeout` / `signal`. When the reader
 * goes away, writing fails with `ConnectionResetError` (EPIPE) — an 'error' event, never a crash.
 */
export function openFifoWriter(path: string, options?: WaitOptions): Promise<Writable> {
  return wait<Writable>(`open FIFO ${path} for writing`, options, (resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let delay = 1;
    const attempt = (): void => {
      let fd: number;
      try {
        fd = openFifoFd(path, constants.O_WRONLY);
      } catch (error) {
        // ENXIO: no reader has the FIFO open yet.
        if ((error as { cause?: { code?: unknown } }).cause?.code !== "ENXIO") return reject(error);
        timer = setTimeout(attempt, delay);
        delay = Math.min(delay * 2, MAX_RETRY_DELAY);
        return;
      }
      resolve(new PipeSocket(fd, "write", `FIFO ${path}`));
    };
    attempt();
    return () => clearTimeout(timer);
  });
}
