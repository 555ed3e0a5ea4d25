import { IpcError, type IpcErrorOptions } from "@ipc/core";
import type { MessageRing } from "./ring.js";

/** Thrown by `SharedMemory.create()` when a segment of that name already exists. */
export class AlreadyExistsError extends IpcError {
  override readonly name = "AlreadyExistsError";
  readonly code = "IPC_ERR_ALREADY_EXISTS";
}

/** Thrown by `SharedMemory.open()` when no segment has that name. */
export class NotFoundError extends IpcError {
  override readonly name = "NotFoundError";
  readonly code = "IPC_ERR_NOT_FOUND";
}

/**
 * Thrown by a waiting {@link MessageRing} read or write when the process at the other end died (it
 * recorded its pid in the ring; the check runs while waiting, at most every 50 ms). Everything the
 * peer completed before dying has been read; a message it was still writing is dropped whole.
 */
export class PeerDiedError extends IpcError {
  override readonly name = "PeerDiedError";
  readonly code = "IPC_ERR_PEER_DIED";
  /** The process id of the peer that died. */
  readonly pid: number;

  constructor(message: string, pid: number, options?: IpcErrorOptions) {
    super(message, options);
    this.pid = pid;
  }
}

// The view errors are the contract's (docs in @ipc/core): re-exported, the same classes and codes as before.
export { ViewHeldError, ViewReleasedError } from "@ipc/core";
