/** A promise with its settle functions, for the `closed` promises of connections and listeners. */
export class Deferred<T = void> {
  readonly promise: Promise<T>;
  #resolve!: (value: T) => void;
  #reject!: (error: unknown) => void;
  #settled = false;

  /**
   * @param handled mark a rejection as handled, so that a `closed` promise nobody awaits never becomes
   * an unhandled rejection (awaiting it still throws). Default: true.
   */
  constructor(handled = true) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (handled) this.promise.catch(noop);
  }

  /** True once resolved or rejected. */
  get settled(): boolean {
    return this.#settled;
  }

  resolve(value: T): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(value);
  }

  reject(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(error);
  }
}

/** Does nothing; for `.catch(noop)`. */
export function noop(): void {}

/** A promise that resolves when `promise` settles, either way. */
export function settledOf(promise: Promise<unknown>): Promise<void> {
  return promise.then(noop, noop);
}
