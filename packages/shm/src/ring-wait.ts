/**
 * How a side of a message ring waits for the other (docs/wire.md §5.5): the doorbell it sleeps on, the
 * options of a waiting read or write, and the tuning of the adaptive spin.
 */
import { TimeoutError, abortError, type WaitOptions } from "@ipc/core";
import * as native from "./native.js";

/** See MessageRing#adaptiveSpin (ring.ts). */
export const MISSES_BEFORE_BACKOFF = 4;
export const PROBE_ODDS = 16;
/**
 * A probe spins this many times longer than a plain spin: long enough to outlast a sleeping peer's
 * wake-up through the doorbell (tens of µs), or a probe could never find the peer fast again — each side
 * would answer only after the other's short spin had ended, and both would stay asleep for good.
 */
export const PROBE_STRETCH = 8;

/** How a waiting side sleeps and is woken; the flag it sleeps on is a word of the ring (see ring-layout.ts). */
export interface Doorbell {
  /** Wakes the side asleep on the word at `index` (an Int32Array index into the ring's control words). */
  ring(words: Int32Array, index: number): void;
  /** Sleeps while `words[index]` is 1, at most `timeoutMs`; may return early (the caller re-checks). */
  wait(words: Int32Array, index: number, timeoutMs: number): Promise<void>;
  /** The same, blocking the thread (for readSync). */
  waitSync(words: Int32Array, index: number, timeoutMs: number): void;
  /**
   * Called before a waiting side spins: a doorbell whose bells leave later in the turn (a batched socket
   * write) returns a promise that settles once they are out, so a bell for the other side is not held
   * back by this side's spinning.
   */
  beforeSpin?(): Promise<void> | undefined;
}

/** Options of the waiting reads and writes. */
export interface RingWaitOptions extends WaitOptions {
  /**
   * Microseconds to spin (burning this core, event loop blocked) before sleeping. Default: the ring's
   * `spin` while spinning pays off; after 4 spins in a row that ended in sleep anyway, none, except on a
   * random 1 in 16 waits (so a busy machine or an idle peer costs no CPU, and fast peers find each other).
   */
  readonly spin?: number | undefined;
}

/** The doorbell of standalone rings: the asleep flag is itself the futex word. */
export class FutexDoorbell implements Doorbell {
  readonly #base: bigint;

  /** `base`: the address of the ring's first control word. */
  constructor(base: bigint) {
    this.#base = base;
  }

  ring(_words: Int32Array, index: number): void {
    native.futexWake(this.#base + BigInt(index * 4), 1);
  }

  async wait(_words: Int32Array, index: number, timeoutMs: number): Promise<void> {
    await native.futexWait(this.#base + BigInt(index * 4), 1, timeoutMs);
  }

  waitSync(_words: Int32Array, index: number, timeoutMs: number): void {
    native.futexWaitSync(this.#base + BigInt(index * 4), 1, timeoutMs);
  }
}

/**
 * While a write waits behind earlier ones: calls `cancel` once `options`' signal aborts or its deadline
 * `end` passes. Returns what stops watching (called when its turn comes).
 */
export function whileQueued(options: RingWaitOptions | undefined, end: number, cancel: (error: Error) => void): (() => void) | undefined {
  const signal = options?.signal;
  if (signal === undefined && end === Infinity) return undefined;
  const onAbort = (): void => cancel(abortError(signal!, "ring write"));
  signal?.addEventListener("abort", onAbort);
  const timer =
    end === Infinity
      ? undefined
      : setTimeout(
          () => cancel(new TimeoutError(`ring write timed out after ${options!.timeout} ms`, options!.timeout!)),
          Math.max(0, end - performance.now()),
        );
  return () => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
}

/** `wait`, ended early by an abort of `signal` (a sleeping wait notices its signal at once, not a slice later). */
export function untilAborted(wait: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done);
    void wait.then(done, done);
  });
}
