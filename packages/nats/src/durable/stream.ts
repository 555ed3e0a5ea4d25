/**
 * The JetStream side of a durable channel (docs/wire.md §9.6): its stream, its consumers, and retrying
 * what a restarting or failing-over NATS server refuses for a moment.
 */
import { AckPolicy, DeliverPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { InvalidArgumentError, TimeoutError, AbortError } from "../deps.js";

/** The default first tokens of a durable channel's subjects. */
export const DEFAULT_DURABLE_PREFIX = "ipc.durable";

const NAME = /^[A-Za-z0-9_-]+$/;

export function checkName(what: string, name: string): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new InvalidArgumentError(`${what} must be letters, digits, '_' and '-' (it names NATS subjects and JetStream objects), got ${String(name)}`);
  }
  return name;
}

/** The JetStream stream of channel `channel`: `IPC_<channel>`. */
export function streamName(channel: string): string {
  return `IPC_${channel}`;
}

export interface StreamSettings {
  readonly stream: string;
  readonly subjects: string;
  readonly replicas: number;
  readonly duplicateWindowMs: number;
  readonly maxAgeMs: number;
}

const NANOS_PER_MS = 1_000_000;

/** Creates the channel's stream (file storage) unless it exists; both ends may do this at once. */
export async function ensureStream(jsm: JetStreamManager, settings: StreamSettings): Promise<void> {
  try {
    await jsm.streams.info(settings.stream);
    return;
  } catch (error) {
    if (!/not found/i.test(String((error as Error).message))) throw error;
  }
  try {
    await jsm.streams.add({
      name: settings.stream,
      subjects: [settings.subjects],
      storage: StorageType.File,
      num_replicas: settings.replicas,
      duplicate_window: settings.duplicateWindowMs * NANOS_PER_MS,
      max_age: settings.maxAgeMs * NANOS_PER_MS,
    });
  } catch (error) {
    // The other end created it meanwhile.
    await jsm.streams.info(settings.stream).catch(() => {
      throw error;
    });
  }
}

/** Creates (or finds) the durable consumer of one end: in order, one message unacknowledged at a time. */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, durable: string, filter: string, ackWaitMs: number): Promise<void> {
  await jsm.consumers.add(stream, {
    durable_name: durable,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: 1,
    ack_wait: ackWaitMs * NANOS_PER_MS,
  });
}

/** Options of a wait that retries: its limits. */
export interface RetryLimits {
  readonly signal?: AbortSignal | undefined;
  readonly timeout?: number | undefined;
}

/**
 * Runs `attempt` until it succeeds, with growing pauses (10 ms doubling to 500 ms) between failures, until
 * `limits` run out: then rejects with `TimeoutError`/`AbortError` carrying the last failure as `cause`.
 * `attempt` gets the time left (ms) for its own wait. A failure `fatal` says is final rejects at once.
 */
export async function retry<T>(
  what: string,
  limits: RetryLimits,
  attempt: (left: number) => Promise<T>,
  fatal: (error: unknown) => boolean = () => false,
): Promise<T> {
  const deadline = limits.timeout === undefined || limits.timeout === Infinity ? Infinity : Date.now() + limits.timeout;
  let pause = 10;
  let last: unknown;
  for (;;) {
    if (limits.signal?.aborted) throw new AbortError(`${what} was aborted`, { cause: limits.signal.reason ?? last });
    const left = deadline - Date.now();
    if (left <= 0)
      throw new TimeoutError(`${what} timed out after ${limits.timeout} ms (last failure: ${String((last as Error)?.message ?? last)})`, limits.timeout!, {
        cause: last,
      });
    try {
      return await attempt(left);
    } catch (error) {
      if (fatal(error)) throw error;
      last = error;
    }
    await sleep(Math.min(pause, Math.max(0, deadline - Date.now())), limits.signal);
    pause = Math.min(pause * 2, 500);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
