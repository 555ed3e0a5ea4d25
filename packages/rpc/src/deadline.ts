/** Deadlines of calls: from `{ timeout, deadline }` to a point in time, and timers that can wait that long. */
import { InvalidArgumentError, checkTimeout, type WaitOptions } from "@ipc/core";

/** The longest delay `setTimeout` takes; a longer one is re-armed when it fires. */
const MAX_TIMER = 2 ** 31 - 1;

/** The call's deadline in ms since the epoch, or undefined; throws `InvalidArgumentError` on bad options. */
export function deadlineOf(options: { readonly timeout?: number | undefined; readonly deadline?: Date | undefined } | undefined): number | undefined {
  let deadline: number | undefined;
  const timeout = options?.timeout;
  if (timeout !== undefined) {
    checkTimeout(timeout, "call");
    if (timeout !== Infinity) deadline = Date.now() + timeout;
  }
  const date = options?.deadline;
  if (date !== undefined) {
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
      throw new InvalidArgumentError(`call: deadline must be a valid Date, got ${String(date)}`);
    }
    deadline = deadline === undefined ? date.getTime() : Math.min(deadline, date.getTime());
  }
  return deadline;
}

/**
 * Calls `fire` once `deadline` (ms since the epoch) has passed; returns the timer to clear. Delays beyond
 * what `setTimeout` takes are waited in steps.
 */
export function setDeadlineTimer(deadline: number, fire: () => void): { clear(): void } {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const left = deadline - Date.now();
    if (left <= 0) {
      fire();
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_TIMER));
  };
  timer = setTimeout(arm, Math.max(0, Math.min(deadline - Date.now(), MAX_TIMER)));
  return { clear: () => clearTimeout(timer) };
}

/** Milliseconds left until `deadline`, rounded up (as sent on the wire: 0 means none, so at least 1). */
export function timeoutMsUntil(deadline: number | undefined): number {
  if (deadline === undefined) return 0;
  return Math.max(1, Math.ceil(deadline - Date.now()));
}

/** One signal for `close({ timeout, signal })`, or undefined when neither is given. */
export function closeSignal(options: WaitOptions | undefined): AbortSignal | undefined {
  const signals: AbortSignal[] = [];
  if (options?.signal !== undefined) signals.push(options.signal);
  const timeout = options?.timeout;
  if (timeout !== undefined && timeout !== Infinity) {
    if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
      throw new InvalidArgumentError(`close: timeout must be a number of milliseconds ≥ 0, got ${String(timeout)}`);
    }
    signals.push(AbortSignal.timeout(timeout));
  }
  if (signals.length === 0) return undefined;
  if (signals.length === 1) return signals[0];
  // AbortSignal.any() is Node ≥ 20.3; this is all it would do here.
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}

/** How long a connection may take to deliver its last messages once a close's deadline passed. */
export const LAST_MESSAGES_MS = 1000;

/**
 * The options of the `Connection.close()` that ends a `close({ timeout, signal })`: the same limit while
 * it runs; once it has passed, {@link LAST_MESSAGES_MS} to deliver the last cancels or responses (an
 * already-aborted signal would drop them).
 */
export function lastCloseOptions(limit: AbortSignal | undefined): WaitOptions | undefined {
  if (limit === undefined) return undefined;
  return limit.aborted ? { timeout: LAST_MESSAGES_MS } : { signal: limit };
}

/** Waits for `promise`, or until `signal` aborts (then resolves too). */
export function waitOrAbort(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    promise.then(done, done);
  });
}
