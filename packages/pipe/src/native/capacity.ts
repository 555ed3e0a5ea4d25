/**
 * Real pipes and their capacity (docs/guide.md#pipe-capacity-and-the-deadlock). Node's child_process stdio
 * `'pipe'` is a Unix socketpair, whose size F_GETPIPE_SZ cannot read or change; a real pipe comes from `pipe2`,
 * as a shell makes them, and its capacity can be raised up to /proc/sys/fs/pipe-max-size (1 MiB by default)
 * without privileges.
 */
import { closeSync } from "node:fs";
import { InvalidArgumentError } from "@ipc/core";
import { getPipeSize, pipe2, readPipeMaxSize, setPipeSize } from "./native.js";

/** The two ends of a pipe created by {@link createPipe}. */
export interface PipeEnds {
  /** The end to read from. */
  readonly readFd: number;
  /** The end to write to. */
  readonly writeFd: number;
}

/** Options of {@link createPipe}. */
export interface CreatePipeOptions {
  /**
   * Capacity to ask for, in bytes (the kernel rounds it up to a power of two pages). Default: the system's
   * (64 KiB on Linux).
   */
  readonly capacity?: number | undefined;
}

function checkCapacity(bytes: number, what: string): void {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`${what} must be an integer number of bytes from 1 to 2147483647, got ${String(bytes)}`);
  }
}

function checkFd(fd: number): void {
  if (!Number.isInteger(fd) || fd < 0) throw new InvalidArgumentError(`fd must be an integer ≥ 0, got ${String(fd)}`);
}

/**
 * Creates a pipe (close-on-exec, blocking), optionally with a given capacity. The caller owns both
 * descriptors: pass one to a child (`spawn(…, { stdio: [fd, …] })`), wrap the other in
 * `new net.Socket({ fd })`, and close what is left with `fs.closeSync`.
 */
export function createPipe(options?: CreatePipeOptions): PipeEnds {
  const capacity = options?.capacity;
  if (capacity !== undefined) checkCapacity(capacity, "capacity");
  const [readFd, writeFd] = pipe2();
  if (capacity !== undefined) {
    try {
      setPipeSize(writeFd, capacity);
    } catch (error) {
      closeSync(readFd);
      closeSync(writeFd);
      throw error;
    }
  }
  return { readFd, writeFd };
}

/**
 * The capacity of the pipe or FIFO `fd` refers to, in bytes (F_GETPIPE_SZ). Throws `InvalidArgumentError`
 * when `fd` is not a pipe (a socketpair, a file…).
 */
export function pipeCapacity(fd: number): number {
  checkFd(fd);
  return getPipeSize(fd);
}

/**
 * Sets the capacity of the pipe or FIFO `fd` refers to (F_SETPIPE_SZ) and returns the capacity the kernel
 * gave, at least `bytes`. Throws `PermissionDeniedError` above /proc/sys/fs/pipe-max-size (see
 * {@link maxPipeCapacity}) for processes without CAP_SYS_RESOURCE, `InvalidArgumentError` when `fd` is not a
 * pipe or holds more data than `bytes`.
 */
export function setPipeCapacity(fd: number, bytes: number): number {
  checkFd(fd);
  checkCapacity(bytes, "bytes");
  return setPipeSize(fd, bytes);
}

/** The largest capacity an unprivileged process may give a pipe: /proc/sys/fs/pipe-max-size, in bytes. */
export function maxPipeCapacity(): number {
  return readPipeMaxSize();
}
