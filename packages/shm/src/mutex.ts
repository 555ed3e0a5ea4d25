/**
 * A mutex that lives in shared memory (docs/guide.md#locks-that-survive-a-crash; the bytes: docs/wire.md §5.3):
 * uncontended locking is one atomic compare-and-swap; a contended locker spins briefly, then sleeps on a futex;
 * the owner is recorded, and if it dies holding the lock the next locker gets it with `ownerDied: true` (like a
 * robust pthread mutex) instead of waiting forever.
 *
 * The lock word (4 bytes, in {@link Mutex.size} = 8): 0 when free, else the owner's thread id (its pid on
 * a main thread) with bit 31 set when others may be waiting. docs/wire.md has the protocol, so that C
 * code can take the same lock.
 */
import { ClosedError, InvalidArgumentError, TimeoutError, abortError, checkTimeout, type WaitOptions } from "@ipc/core";
import { alive } from "./liveness.js";
import * as native from "./native.js";
import type { SharedMemory } from "./segment.js";

const WAITERS = 0x8000_0000;
const OWNER = 0x7fff_ffff;
/** Compare-and-swap attempts before sleeping. */
const SPINS = 200;
/** Longest single futex sleep: the owner's liveness is re-checked at least this often. */
const SLICE_MS = 50;

/** A held lock: unlock it (or let `using` do it). */
export interface MutexGuard extends Disposable, AsyncDisposable {
  /** True if the previous owner died holding the lock: the data it protects may be half-updated. */
  readonly ownerDied: boolean;
  /** Releases the lock. Safe to call more than once. */
  unlock(): void;
}

/** Options of the sync lock: it blocks this thread, so it takes a timeout but no signal. */
export interface LockSyncOptions {
  /** Milliseconds to wait before `TimeoutError`. Default: no limit. */
  readonly timeout?: number | undefined;
}

/** A robust mutex over 8 bytes of a segment. */
export class Mutex {
  /** Bytes a mutex takes in a segment (at a 4-byte aligned offset). */
  static readonly size = 8;
  readonly #memory: SharedMemory;
  readonly #word: Int32Array;
  readonly #address: bigint;
  /** Async lockers of this process wait here, so only one holds a thread-pool thread at a time. */
  #queue: Promise<void> = Promise.resolve();

  /** The mutex at `byteOffset` of `memory`'s data (zero-filled memory is an unlocked mutex). */
  constructor(memory: SharedMemory, byteOffset: number) {
    if (byteOffset % 4 !== 0 || byteOffset + Mutex.size > memory.size) {
      throw new InvalidArgumentError(`a mutex needs ${Mutex.size} bytes at a 4-byte aligned offset within the segment`);
    }
    this.#memory = memory;
    this.#word = new Int32Array(memory.buffer, byteOffset, 1);
    this.#address = native.addressOf(memory.mapping, memory.dataOffset + byteOffset);
  }

  /** The thread id of the holder, or undefined when free. */
  get owner(): number | undefined {
    const state = Atomics.load(this.#word, 0) & OWNER;
    return state === 0 ? undefined : state;
  }

  /** Takes the lock if it is free (or its owner is dead); never waits. */
  tryLock(): MutexGuard | undefined {
    this.#check();
    const me = native.threadId();
    if (Atomics.compareExchange(this.#word, 0, 0, me) === 0) return this.#guard(false);
    return this.#stealFromDead(me, 0);
  }

  /**
   * Takes the lock, blocking this thread while it waits (spin, then futex sleep). For code that may
   * block; an event loop stalls meanwhile — use {@link Mutex.lock} there.
   */
  lockSync(options?: LockSyncOptions): MutexGuard {
    checkTimeout(options?.timeout, "lock");
    const end = options?.timeout === undefined ? Infinity : performance.now() + options.timeout;
    const me = native.threadId();
    for (let waited = 0; ; ) {
      const held = this.#attempt(me, waited > 0);
      if (held !== undefined) return held;
      const left = end - performance.now();
      if (left <= 0) throw this.#timeout(options!.timeout!);
      const state = this.#markWaiting();
      if (state !== 0) {
        native.futexWaitSync(this.#address, state, Math.min(SLICE_MS, left));
        waited++;
      }
    }
  }

  /**
   * Takes the lock without blocking the event loop: contended waits sleep on a futex in a thread-pool
   * thread (one at a time per mutex and process), in slices of 50 ms. Honours `timeout` and `signal`.
   */
  lock(options?: WaitOptions): Promise<MutexGuard> {
    checkTimeout(options?.timeout, "lock");
    const turn = this.#queue.then(() => this.#lockAsync(options));
    this.#queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** Releases the lock; `InvalidArgumentError` if this thread does not hold it. */
  unlock(): void {
    this.#check();
    const me = native.threadId();
    const state = Atomics.load(this.#word, 0);
    if ((state & OWNER) !== me) {
      throw new InvalidArgumentError(`unlock() by thread ${me}, but the mutex is ${state === 0 ? "free" : `held by ${state & OWNER}`}`);
    }
    if (Atomics.exchange(this.#word, 0, 0) & WAITERS) native.futexWake(this.#address, 1);
  }

  async #lockAsync(options: WaitOptions | undefined): Promise<MutexGuard> {
    const end = options?.timeout === undefined ? Infinity : performance.now() + options.timeout;
    const me = native.threadId();
    for (let waited = 0; ; ) {
      if (options?.signal?.aborted) throw abortError(options.signal, "lock");
      const held = this.#attempt(me, waited > 0);
      if (held !== undefined) return held;
      const left = end - performance.now();
      if (left <= 0) throw this.#timeout(options!.timeout!);
      const state = this.#markWaiting();
      if (state !== 0) {
        await native.futexWait(this.#address, state, Math.min(SLICE_MS, left));
        waited++;
      }
    }
  }

  /** Spins on compare-and-swap; takes a dead owner's lock; undefined if held by a live owner. */
  #attempt(me: number, waited: boolean): MutexGuard | undefined {
    this.#check();
    // After sleeping, take it marked "waiters": others may still sleep, and our unlock must wake them.
    const mine = waited ? me | WAITERS : me;
    for (let i = 0; i < SPINS; i++) {
      const state = Atomics.load(this.#word, 0);
      if (state === 0 && Atomics.compareExchange(this.#word, 0, 0, mine) === 0) return this.#guard(false);
    }
    return this.#stealFromDead(me, WAITERS);
  }

  /** If the holder is dead, takes the lock from it (keeping the waiters mark). */
  #stealFromDead(me: number, waiters: number): MutexGuard | undefined {
    const state = Atomics.load(this.#word, 0);
    const owner = state & OWNER;
    if (owner === 0 || owner === me || alive(owner)) return undefined;
    if (Atomics.compareExchange(this.#word, 0, state, me | (state & WAITERS) | waiters) !== state) return undefined;
    return this.#guard(true);
  }

  /** Sets the waiters bit; returns the word to sleep on (0 if the lock came free meanwhile). */
  #markWaiting(): number {
    for (;;) {
      const state = Atomics.load(this.#word, 0);
      if (state === 0 || state & WAITERS) return state;
      if (Atomics.compareExchange(this.#word, 0, state, state | WAITERS) === state) return state | WAITERS;
    }
  }

  #guard(ownerDied: boolean): MutexGuard {
    let held = true;
    const unlock = (): void => {
      if (!held) return;
      held = false;
      this.unlock();
    };
    return { ownerDied, unlock, [Symbol.dispose]: unlock, [Symbol.asyncDispose]: async () => unlock() };
  }

  #timeout(timeout: number): TimeoutError {
    return new TimeoutError(`lock timed out after ${timeout} ms (held by thread ${this.owner ?? "none"})`, timeout);
  }

  #check(): void {
    if (this.#memory.closed) throw new ClosedError(`the mutex's segment '${this.#memory.name}' is closed`);
  }
}
