/**
 * The transport's doorbell: a ring's asleep flag is in shared memory; the waker sends an empty message on
 * the rendezvous connection (docs/wire.md §5.6), which the sleeper's event loop receives. Where the
 * connection allows (@ipc/framing's `signalFrames`: the rendezvous socket is a framed() connection), the bell
 * is written to the socket at once and rung from the socket's read, past the message layers. It also ends every wait when the connection ends, so a side
 * sleeping on a dead peer wakes up to find out.
 */
import type { Doorbell } from "../ring.js";

export class SocketDoorbell implements Doorbell {
  readonly #send: () => void;
  /** `#send` writes to the socket at once (else the bell waits for the end of the turn, with the other sends). */
  readonly #immediate: boolean;
  #waiters = new Set<() => void>();
  #ended = false;
  /** A bell was sent in this turn and may still sit in the writer's batch. */
  #pending = false;

  /** `send()` sends one bell to the peer; `immediate`: it is written before `send()` returns. */
  constructor(send: () => void, immediate: boolean) {
    this.#send = send;
    this.#immediate = immediate;
  }

  ring(): void {
    if (this.#ended) return;
    this.#send();
    if (!this.#immediate) this.#pending = true;
  }

  /**
   * A bell sent through the connection's writer goes out at the end of the turn (the framing batches writes
   * on nextTick); a side about to spin first lets it go — else the peer would sleep through our spin and
   * both sides would keep finding each other asleep. A bell written at once is never pending.
   */
  get pending(): boolean {
    return this.#pending;
  }

  beforeSpin(): Promise<void> | undefined {
    if (!this.#pending) return undefined;
    this.#pending = false;
    return new Promise((resolve) => process.nextTick(resolve));
  }

  wait(_words: Int32Array, _index: number, timeoutMs: number): Promise<void> {
    // Ended: return, but never within this turn of the event loop (a caller looping on it must not starve it).
    if (this.#ended) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#waiters.add(done);
    });
  }

  waitSync(): void {
    throw new Error("a transport connection cannot block: its doorbell comes through the event loop");
  }

  /** A bell arrived: every sleeper re-checks. */
  rang(): void {
    this.onRing?.();
    if (this.#waiters.size > 0) for (const done of [...this.#waiters]) done();
  }

  /** Called first on every bell, and when the connection ends (a receive parked on the doorbell itself). */
  onRing: (() => void) | undefined;

  /** The connection ended: waits return at once from now on. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The connection ended: wake everyone, now and from now on. */
  end(): void {
    this.#ended = true;
    this.rang();
  }
}
