import { IpcError } from "@ipc/core";

/**
 * Thrown at a subscriber whose publisher disconnected it for falling behind (the `disconnect` policy):
 * its queue at the publisher was full. Subscribe again (with `history` to catch up), or read faster.
 */
export class SlowSubscriberError extends IpcError {
  override readonly name = "SlowSubscriberError";
  readonly code = "IPC_ERR_SLOW_SUBSCRIBER";
}
