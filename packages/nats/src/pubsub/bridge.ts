/**
 * `bridgeTopics(source, target)`: carries publications from one pub/sub to another — an @ipc publisher's
 * subscription (any transport) onto NATS subjects, or a NATS subscription into an @ipc publisher.
 */
import { InvalidArgumentError, type WaitOptions } from "../deps.js";

/** Anything that yields publications: @ipc's `Subscription`, or a {@link NatsSubscription}. */
export type PublicationSource = AsyncIterable<{ readonly topic: string; readonly message: Uint8Array }>;

/** Anything that publishes: @ipc's `Publisher`, or a {@link NatsPublisher}. */
export interface PublicationTarget {
  publish(topic: string, message: Uint8Array, options?: WaitOptions): Promise<void>;
}

/** Options of {@link bridgeTopics}. */
export interface BridgeOptions {
  /** Stops the bridge (it then resolves with the count so far). Default: none. */
  readonly signal?: AbortSignal | undefined;
  /** Maps each topic on the way (e.g. `/` to `.` for NATS subjects). Default: unchanged. */
  readonly topic?: ((topic: string) => string) | undefined;
}

/**
 * Publishes every publication of `source` on `target`, in order, waiting for each (so a `block`
 * publisher's back-pressure reaches the source). Resolves with the number carried when the source ends
 * or `signal` aborts; rejects with the first error of either side.
 */
export async function bridgeTopics(source: PublicationSource, target: PublicationTarget, options?: BridgeOptions): Promise<number> {
  if (typeof source?.[Symbol.asyncIterator] !== "function" || typeof target?.publish !== "function") {
    throw new InvalidArgumentError("bridgeTopics() takes a source of publications and a target with publish()");
  }
  const signal = options?.signal;
  const map = options?.topic ?? ((topic: string) => topic);
  let carried = 0;
  const iterator = source[Symbol.asyncIterator]();
  const stop = new Promise<IteratorResult<never>>((resolve) => {
    if (signal?.aborted) resolve({ done: true, value: undefined as never });
    signal?.addEventListener("abort", () => resolve({ done: true, value: undefined as never }), { once: true });
  });
  try {
    for (;;) {
      const next = signal === undefined ? await iterator.next() : await Promise.race([iterator.next(), stop]);
      if (next.done) return carried;
      await target.publish(map(next.value.topic), next.value.message, { signal });
      carried++;
    }
  } finally {
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
