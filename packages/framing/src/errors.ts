/** The errors @ipc/framing adds to @ipc/core's. */
import { IpcError } from "@ipc/core";

/**
 * Thrown (as the connection's failure) when a frame that began to arrive made no progress for the
 * connection's `frameTimeout`: neither completed nor grew by 64 KiB (docs/wire.md §1, "Limits"). Its code
 * is `IPC_ERR_TIMEOUT`, as `TimeoutError`'s: it is a deadline that expired, and code that handles timeouts
 * by code (retry, report) handles it; the class and `timeout`/`received`/`length` say which one.
 */
export class FrameTimeoutError extends IpcError {
  override readonly name = "FrameTimeoutError";
  readonly code = "IPC_ERR_TIMEOUT";
  /** The `frameTimeout` that expired, in milliseconds. */
  readonly timeout: number;
  /** Bytes of the frame (header included) that had arrived. */
  readonly received: number;
  /** The payload length the frame announced; 0 if its header itself was incomplete. */
  readonly length: number;

  constructor(message: string, timeout: number, received: number, length: number) {
    super(message);
    this.timeout = timeout;
    this.received = received;
    this.length = length;
  }
}
