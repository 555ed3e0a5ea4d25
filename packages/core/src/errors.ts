/**
 * One class per condition, all extending {@link IpcError}. `name` equals the class name and `code` is a
 * stable string that tests and callers can switch on; the OS error, when there is one, is kept as `cause`.
 */

/** Options every error constructor accepts. */
export interface IpcErrorOptions {
  /** The underlying error (an OS error, an abort reason…). */
  readonly cause?: unknown;
}

/** The base of every error this toolkit throws. Check `code`, not the message. */
export abstract class IpcError extends Error {
  /** A stable identifier of the condition, e.g. `IPC_ERR_TIMEOUT`. */
  abstract readonly code: string;

  constructor(message: string, options?: IpcErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a wait took longer than its `timeout`. */
export class TimeoutError extends IpcError {
  override readonly name = "TimeoutError";
  readonly code = "IPC_ERR_TIMEOUT";
  /** The limit that was exceeded, in milliseconds. */
  readonly timeout: number;

  constructor(message: string, timeout: number, options?: IpcErrorOptions) {
    super(message, options);
    this.timeout = timeout;
  }
}

/** Thrown when an `AbortSignal` aborted a wait; `cause` is the signal's reason. */
export class AbortError extends IpcError {
  override readonly name = "AbortError";
  readonly code = "IPC_ERR_ABORTED";
}

/** Thrown when an operation needs an open connection or listener and it is closed or closing. */
export class ClosedError extends IpcError {
  override readonly name = "ClosedError";
  readonly code = "IPC_ERR_CLOSED";
}

/** Thrown when nothing is listening at the address a client connects to. */
export class ConnectionRefusedError extends IpcError {
  override readonly name = "ConnectionRefusedError";
  readonly code = "IPC_ERR_CONNECTION_REFUSED";
}

/**
 * Thrown when a connection breaks without a clean close: the peer reset or aborted it, its process died,
 * or the OS reported an I/O error (ECONNRESET, EPIPE…).
 */
export class ConnectionResetError extends IpcError {
  override readonly name = "ConnectionResetError";
  readonly code = "IPC_ERR_CONNECTION_RESET";
}

/** Thrown when a listener's address is already taken (by a live server, for Unix sockets). */
export class AddressInUseError extends IpcError {
  override readonly name = "AddressInUseError";
  readonly code = "IPC_ERR_ADDRESS_IN_USE";
}

/** Thrown when an address cannot be parsed or is not valid for its scheme. */
export class InvalidAddressError extends IpcError {
  override readonly name = "InvalidAddressError";
  readonly code = "IPC_ERR_INVALID_ADDRESS";
}

/** Thrown when an argument or option is out of range or of the wrong type. */
export class InvalidArgumentError extends IpcError {
  override readonly name = "InvalidArgumentError";
  readonly code = "IPC_ERR_INVALID_ARGUMENT";
}

/**
 * Thrown when a peer announces a frame larger than the receiver's `maxMessageSize`. The claimed size is
 * never allocated; the connection is closed after the messages received before it are delivered.
 */
export class FrameTooLargeError extends IpcError {
  override readonly name = "FrameTooLargeError";
  readonly code = "IPC_ERR_FRAME_TOO_LARGE";
  /** The length the frame claimed, in bytes. */
  readonly size: number;
  /** The receiver's `maxMessageSize`. */
  readonly limit: number;

  constructor(size: number, limit: number, options?: IpcErrorOptions) {
    super(
      `peer sent a frame of ${size} bytes, over this connection's maxMessageSize of ${limit} bytes; ` +
        `the connection was closed (raise maxMessageSize on the receiver if such messages are expected)`,
      options,
    );
    this.size = size;
    this.limit = limit;
  }
}

/** Thrown by `send()` when a message is larger than the connection's `maxMessageSize`; the connection stays open. */
export class MessageTooLargeError extends IpcError {
  override readonly name = "MessageTooLargeError";
  readonly code = "IPC_ERR_MESSAGE_TOO_LARGE";
  /** The message's size, in bytes. */
  readonly size: number;
  /** The connection's `maxMessageSize`. */
  readonly limit: number;

  constructor(size: number, limit: number, options?: IpcErrorOptions) {
    super(
      `message of ${size} bytes is over this connection's maxMessageSize of ${limit} bytes; ` +
        `split it or raise maxMessageSize on both ends`,
      options,
    );
    this.size = size;
    this.limit = limit;
  }
}

/** Thrown when a peer breaks the wire protocol: a truncated frame, an envelope that does not decode… */
export class ProtocolError extends IpcError {
  override readonly name = "ProtocolError";
  readonly code = "IPC_ERR_PROTOCOL";
}

/**
 * Thrown when a connection is refused on credentials: at a client the server refused (peer credentials,
 * its TLS certificate, policy), or at a client that does not trust the server's certificate.
 */
export class PeerRejectedError extends IpcError {
  override readonly name = "PeerRejectedError";
  readonly code = "IPC_ERR_PEER_REJECTED";
}

/** Thrown when the OS denies access (EACCES, EPERM) to a path, socket or segment. */
export class PermissionDeniedError extends IpcError {
  override readonly name = "PermissionDeniedError";
  readonly code = "IPC_ERR_PERMISSION_DENIED";
}

/** Every `code` an {@link IpcError} can carry. */
export type IpcErrorCode =
  | TimeoutError["code"]
  | AbortError["code"]
  | ClosedError["code"]
  | ConnectionRefusedError["code"]
  | ConnectionResetError["code"]
  | AddressInUseError["code"]
  | InvalidAddressError["code"]
  | InvalidArgumentError["code"]
  | FrameTooLargeError["code"]
  | MessageTooLargeError["code"]
  | ProtocolError["code"]
  | PeerRejectedError["code"]
  | PermissionDeniedError["code"]
  | "IPC_ERR_SESSION_LOST"
  | "IPC_ERR_STREAM_REFUSED"
  | "IPC_ERR_SLOW_SUBSCRIBER";

/** True when `error` is an {@link IpcError}, and, if `code` is given, carries that code. */
export function isIpcError(error: unknown, code?: IpcErrorCode): error is IpcError {
  return error instanceof IpcError && (code === undefined || error.code === code);
}

/** The shape of Node's system errors (`err.code === "ECONNRESET"` …). */
interface SystemErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
}

/**
 * Turns an OS error into the matching typed error, keeping the original as `cause`. `what` names the
 * operation and its target for the message, e.g. `connect to unix:///run/app.sock`. An error that is
 * already an {@link IpcError} is returned as is; an unknown errno becomes a {@link ConnectionResetError}
 * (the connection is unusable either way).
 */
export function fromSystemError(error: unknown, what: string): IpcError {
  if (error instanceof IpcError) return error;
  const code = (error as SystemErrorLike | null)?.code;
  const detail = typeof code === "string" ? code : String((error as SystemErrorLike | null)?.message ?? error);
  const options = { cause: error };
  switch (code) {
    case "ECONNREFUSED":
    case "ENOENT":
      return new ConnectionRefusedError(`${what}: nothing is listening there (${detail})`, options);
    case "EADDRINUSE":
      return new AddressInUseError(`${what}: the address is already in use (${detail})`, options);
    case "EADDRNOTAVAIL":
      return new InvalidAddressError(`${what}: the address is not one of this machine's (${detail})`, options);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new InvalidAddressError(`${what}: the host name does not resolve (${detail})`, options);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new ConnectionRefusedError(`${what}: the host cannot be reached (${detail})`, options);
    case "EACCES":
    case "EPERM":
      return new PermissionDeniedError(`${what}: permission denied (${detail})`, options);
    case "ETIMEDOUT":
      return new TimeoutError(`${what}: the operating system timed out (${detail})`, 0, options);
    case "ERR_STREAM_PREMATURE_CLOSE":
    case "ERR_STREAM_DESTROYED":
    case "ERR_STREAM_WRITE_AFTER_END":
      return new ConnectionResetError(`${what}: the stream was closed under the connection (${detail})`, options);
    default:
      return new ConnectionResetError(`${what}: the connection broke (${detail})`, options);
  }
}
