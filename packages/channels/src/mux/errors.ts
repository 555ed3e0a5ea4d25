import { IpcError } from "@ipc/core";

/**
 * Thrown by `Mux.open()` when the stream cannot be opened: the peer refused it (its `maxStreams` or
 * `backlog` is reached, or it is closing), or this side already has `maxStreams` open. Retry later, or
 * raise the limits.
 */
export class StreamRefusedError extends IpcError {
  override readonly name = "StreamRefusedError";
  readonly code = "IPC_ERR_STREAM_REFUSED";
}
