/**
 * Deadlines: every wait in the toolkit takes `{ signal, timeout }` and goes through {@link wait}, so a
 * timeout is always a `TimeoutError` and an abort always an `AbortError` carrying the signal's reason.
 */
import { AbortError, InvalidArgumentError, TimeoutError } from "./errors.js";
import type { WaitOptions } from "./types.js";

/** The `AbortError` for an aborted `signal`; its `cause` is the signal's reason. */
export function abortError(signal: AbortSignal, what: string): AbortError {
  return new AbortError(`${what} was aborted`, { cause: signal.reason });
}

/** Throws an `AbortError` if `signal` has already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}

/** Checks a `timeout` option: undefined or a number ≥ 0 (Infinity means no limit). */
export function checkTimeout(timeout: number | undefined, what: string): void {
  if (timeout === undefined) return;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
    throw new InvalidArgumentError(`${what}: timeout must be a number of milliseconds ≥ 0, got ${String(timeout)}`);
  }
}

/**
 * Starts an operation and waits for it under `options`. `start(resolve, reject, disarm)` begins the
 * operation and returns a function that cancels it; that function is called (once) when the timeout
 * expires or the signal aborts, before the returned promise rejects, so a cancelled operation leaves
 * nothing behind (a send that timed out is not sent later). `disarm()` ends the deadline early, for an
 * operation that can no longer be cancelled but has not finished (a message half on the wire). Timers
 * and listeners exist only while the wait is pending.
 */
export function wait<T>(
  what: string,
  options: WaitOptions | undefined,
  start: (resolve: (value: T) => void, reject: (error: unknown) => void, disarm: () => void) => () => void,
): Promise<T> {
  const signal = options?.signal;
  const timeout = options?.timeout;
  if (signal?.aborted) return Promise.reject(abortError(signal, what));
  checkTimeout(timeout, what);

  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    let armed = true;
    const disarm = (): void => {
      if (!armed) return;
      armed = false;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      disarm();
      return true;
    };
    const cancel = start(
      (value) => {
        if (finish()) resolve(value);
      },
      (error) => {
        if (finish()) reject(error);
      },
      disarm,
    );
    const giveUp = (error: Error): void => {
      if (!armed || !finish()) return;
      cancel();
      reject(error);
    };
    function onAbort(): void {
      giveUp(abortError(signal!, what));
    }
    if (done || !armed) return;
    if (timeout !== undefined && timeout !== Infinity) {
      timer = setTimeout(() => giveUp(new TimeoutError(`${what} timed out after ${timeout} ms`, timeout)), timeout);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits for `promise` under `options`; `onGiveUp` runs when the wait is abandoned (timeout or abort), to
 * cancel whatever `promise` stands for. Prefer {@link wait} when starting the operation yourself.
 */
export function race<T>(what: string, promise: Promise<T>, options: WaitOptions | undefined, onGiveUp?: () => void): Promise<T> {
  if (options?.signal === undefined && (options?.timeout === undefined || options.timeout === Infinity)) {
    return promise;
  }
  return wait<T>(what, options, (resolve, reject) => {
    promise.then(resolve, reject);
    return onGiveUp ?? noop;
  });
}

function noop(): void {}

/**
 * One deadline over several waits: returns a function giving, at each call, the options for the next
 * wait — the same signal, and the time left of `options.timeout` (counted from now). For operations made
 * of steps, such as a connect followed by a handshake.
 */
export function deadline(options: WaitOptions | undefined): () => WaitOptions {
  const timeout = options?.timeout;
  const signal = options?.signal;
  if (timeout === undefined || timeout === Infinity) return () => ({ signal });
  const end = performance.now() + timeout;
  return () => ({ signal, timeout: Math.max(0, end - performance.now()) });
}
