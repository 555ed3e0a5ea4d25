import { IpcError, type IpcErrorOptions } from "@ipc/core";

/** A message the peer never acknowledged, as `send()` accepted it. */
export interface UnacknowledgedMessage {
  /** Its session id: the n-th message accepted by `send()` has id n. */
  readonly id: number;
  /** The message as it was sent. */
  readonly message: Uint8Array;
}

/**
 * Thrown when a reliable session ends without a graceful close: the peer no longer knows the session (its
 * process restarted, or it expired the session), it could not be reached again within `resumeTimeout`,
 * or the session was aborted. `unacknowledged` lists, in order, every message the peer did not
 * acknowledge: each may or may not have reached the peer's application, and nothing else was lost.
 * Resend them (on a new session) if the application needs at-least-once delivery.
 */
export class SessionLostError extends IpcError {
  override readonly name = "SessionLostError";
  readonly code = "IPC_ERR_SESSION_LOST";
  /** The messages the peer did not acknowledge, oldest first. */
  readonly unacknowledged: readonly UnacknowledgedMessage[];

  constructor(message: string, unacknowledged: readonly UnacknowledgedMessage[], options?: IpcErrorOptions) {
    super(message, options);
    this.unacknowledged = unacknowledged;
  }

  /** The ids of {@link SessionLostError.unacknowledged}. */
  get unacknowledgedIds(): number[] {
    return this.unacknowledged.map((m) => m.id);
  }
}
