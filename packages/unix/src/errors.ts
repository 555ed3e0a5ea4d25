import { IpcError } from "@ipc/core";

/**
 * Thrown by `listen()` when the socket's directory is writable by every user and has no sticky bit:
 * anyone could delete or replace the socket there.
 */
export class InsecureDirectoryError extends IpcError {
  override readonly name = "InsecureDirectoryError";
  readonly code = "IPC_ERR_INSECURE_DIRECTORY";
}
