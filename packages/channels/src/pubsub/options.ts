import { InvalidArgumentError } from "@ipc/core";
import { integerOption } from "../reliable/options.js";

/** What a publisher does with a message for a subscriber whose queue is full. */
export type SlowSubscriberPolicy = "block" | "drop-oldest" | "disconnect";

/** Options of `publisher()`. */
export interface PublisherOptions {
  /**
   * `block`: `publish()` waits until every matching subscriber has room (a slow subscriber slows the
   * publisher; nothing is lost). `drop-oldest`: the subscriber's oldest queued message is dropped, and the
   * next one it gets says how many it missed. `disconnect`: the subscriber is told it was too slow
   * (`SlowSubscriberError`) and its connection closed. Default: `block`.
   */
  readonly policy?: SlowSubscriberPolicy | undefined;
  /** Messages queued per subscriber (on top of its connection's own buffer) before the policy applies. Default: 1024. */
  readonly queueMessages?: number | undefined;
  /** Bytes queued per subscriber (on top of its connection's own buffer) before the policy applies. Default: 1 MiB. */
  readonly queueBytes?: number | undefined;
  /** Messages kept per topic for subscribers that ask for history (late joiners). Default: 0 (none). */
  readonly history?: number | undefined;
  /** Bytes of history kept across all topics; the oldest messages go first beyond it. Default: 1 MiB. */
  readonly historyBytes?: number | undefined;
  /** Topics and prefixes one subscriber may subscribe to; beyond is a protocol error. Default: 1024. */
  readonly maxSubscriptions?: number | undefined;
  /** The longest topic (or prefix), in UTF-8 bytes. Default: 1024. */
  readonly maxTopicLength?: number | undefined;
}

export interface ResolvedPublisherOptions {
  readonly policy: SlowSubscriberPolicy;
  readonly queueMessages: number;
  readonly queueBytes: number;
  readonly history: number;
  readonly historyBytes: number;
  readonly maxSubscriptions: number;
  readonly maxTopicLength: number;
}

const POLICIES: readonly SlowSubscriberPolicy[] = ["block", "drop-oldest", "disconnect"];

export function resolvePublisherOptions(options: PublisherOptions | undefined): ResolvedPublisherOptions {
  const policy = options?.policy ?? "block";
  if (!POLICIES.includes(policy)) {
    throw new InvalidArgumentError(`policy must be one of ${POLICIES.join(", ")}, got ${String(policy)}`);
  }
  return {
    policy,
    queueMessages: integerOption("queueMessages", options?.queueMessages, 1024, 1),
    queueBytes: integerOption("queueBytes", options?.queueBytes, 1024 * 1024, 1),
    history: integerOption("history", options?.history, 0, 0, 1 << 20),
    historyBytes: integerOption("historyBytes", options?.historyBytes, 1024 * 1024, 0),
    maxSubscriptions: integerOption("maxSubscriptions", options?.maxSubscriptions, 1024, 1),
    maxTopicLength: integerOption("maxTopicLength", options?.maxTopicLength, 1024, 1),
  };
}
