/**
 * The outcome of a call: a status name (gRPC's codes, by name), and {@link RpcError}, the one error every
 * call rejects with.
 */
import { IpcError, type IpcErrorOptions } from "@ipc/core";

/**
 * Wire numbers of the statuses (`ipc.RpcStatus` in proto/ipc.proto; gRPC's `google.rpc.Code`). The API
 * uses the names; these are for logs and other-language peers.
 */
export const RPC_STATUS_CODES = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const);

/** A call's outcome, by name: `"OK"`, `"CANCELLED"`, `"DEADLINE_EXCEEDED"`, `"UNAVAILABLE"`, … */
export type RpcStatus = keyof typeof RPC_STATUS_CODES;

/** A failed call's status: every {@link RpcStatus} but `"OK"`. */
export type RpcErrorStatus = Exclude<RpcStatus, "OK">;

const NAMES: readonly RpcStatus[] = Object.keys(RPC_STATUS_CODES) as RpcStatus[];

/** The name of wire status `code`; a number this version does not know is `"UNKNOWN"`. */
export function statusName(code: number): RpcStatus {
  return NAMES[code] ?? "UNKNOWN";
}

/** Options of the {@link RpcError} constructor. */
export interface RpcErrorOptions extends IpcErrorOptions {
  /** Machine-readable details for the caller (often an encoded protobuf message). Default: none. */
  readonly details?: Uint8Array | undefined;
}

/**
 * Thrown when a call fails: by the client for every failed call (the server's status, or one decided on
 * this side: `DEADLINE_EXCEEDED` and `CANCELLED` at once, `UNAVAILABLE` when the connection goes), and by
 * handlers to choose the status their caller gets. Any other error a handler throws reaches the caller as
 * `INTERNAL`. Check `status` (and `code`, `IPC_ERR_RPC`, to tell it from other toolkit errors).
 */
export class RpcError extends IpcError {
  override readonly name = "RpcError";
  readonly code = "IPC_ERR_RPC";
  /** Why the call failed. */
  readonly status: RpcErrorStatus;
  /** The details the server attached, if any. */
  readonly details: Uint8Array | undefined;

  constructor(status: RpcErrorStatus, message: string, options?: RpcErrorOptions) {
    super(message, options);
    this.status = status;
    this.details = options?.details;
  }
}

/** True when `error` is an {@link RpcError}, and, if `status` is given, carries that status. */
export function isRpcError(error: unknown, status?: RpcErrorStatus): error is RpcError {
  return error instanceof RpcError && (status === undefined || error.status === status);
}

/** The message of whatever was thrown, for status messages. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
