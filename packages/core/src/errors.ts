/**
 * One class per condition, all extending {@link IpcError}. `name` equals the class name and `code` is a
 * stable string that tests and callers can switch on; the OS error, when there is one, is kept as `cause`.
 *
 * Every code of every @ipc package is listed in {@link IpcErrorCode}, so `isIpcError(e, "IPC_ERR_PEER_DIED")`
 * type-checks without importing @ipc/shm. Errors carry a `Symbol.for("@ipc/error")` brand, so `isIpcError()`
 * and `instanceof` work across two installed copies of @ipc/core (one under an application, one under a
 * transport it depends on).
 */

/** Every `code` an {@link IpcError} of any @ipc package can carry, one per class. */
export const IPC_ERROR_CODES = [
  // @ipc/core
  "IPC_ERR_TIMEOUT",
  "IPC_ERR_ABORTED",
  "IPC_ERR_CLOSED",
  "IPC_ERR_CONNECTION_REFUSED",
  "IPC_ERR_CONNECTION_RESET",
  "IPC_ERR_ADDRESS_IN_USE",
  "IPC_ERR_INVALID_ADDRESS",
  "IPC_ERR_INVALID_ARGUMENT",
  "IPC_ERR_FRAME_TOO_LARGE",
  "IPC_ERR_MESSAGE_TOO_LARGE",
  "IPC_ERR_PROTOCOL",
  "IPC_ERR_PEER_REJECTED",
  "IPC_ERR_PERMISSION_DENIED",
  "IPC_ERR_RESOURCE_EXHAUSTED",
  "IPC_ERR_SYSTEM_CALL",
  "IPC_ERR_UNSUPPORTED",
  // the channel layers: reliable sessions, mux, pub/sub
  "IPC_ERR_SESSION_LOST",
  "IPC_ERR_STREAM_REFUSED",
  "IPC_ERR_SLOW_SUBSCRIBER",
  // @ipc/unix
  "IPC_ERR_INSECURE_DIRECTORY",
  // @ipc/shm
  "IPC_ERR_ALREADY_EXISTS",
  "IPC_ERR_NOT_FOUND",
  "IPC_ERR_PEER_DIED",
  "IPC_ERR_VIEW_RELEASED",
  "IPC_ERR_VIEW_HELD",
  // @ipc/pipe
  "IPC_ERR_PROCESS_EXIT",
  "IPC_ERR_OUTPUT_TOO_LARGE",
  "IPC_ERR_SPAWN",
  // @ipc/rpc
  "IPC_ERR_RPC",
] as const;

/**
 * Every `code` an {@link IpcError} can carry. A class of any @ipc package whose code is not listed here does
 * not compile (`IpcError.code` has this type).
 */
export type IpcErrorCode = (typeof IPC_ERROR_CODES)[number];

/** Options every error constructor accepts. */
export interface IpcErrorOptions {
  /** The underlying error (an OS error, an abort reason…). */
  readonly cause?: unknown;
}

/**
 * The brand every {@link IpcError} carries: the names of its class and of the classes it extends, up to
 * `IpcError`. `Symbol.for` makes it the same symbol in every copy of @ipc/core loaded in a process.
 */
const BRAND = Symbol.for("@ipc/error");

/** The class names of each error constructor, from it up to IpcError, computed once per class. */
const lineages = new WeakMap<object, readonly string[]>();

function lineageOf(errorClass: object): readonly string[] {
  let names = lineages.get(errorClass);
  if (names === undefined) {
    const chain: string[] = [];
    for (let c: unknown = errorClass; typeof c === "function" && c !== Error && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
      chain.push((c as { name: string }).name);
    }
    names = Object.freeze(chain);
    lineages.set(errorClass, names);
  }
  return names;
}

/** The brand of `value` if it is an error of some copy of @ipc/core, else undefined. */
function brandOf(value: unknown): readonly string[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const brand = (value as { [BRAND]?: unknown })[BRAND];
  return Array.isArray(brand) ? (brand as readonly string[]) : undefined;
}

/**
 * The base of every error this toolkit throws. Check `code`, not the message. `instanceof` works across
 * duplicate installs of @ipc/core: an error is an instance of a class when its prototype chain says so, or
 * when its brand names that class (an error thrown by another copy of the same class).
 */
export abstract class IpcError extends Error {
  /** A stable identifier of the condition, e.g. `IPC_ERR_TIMEOUT`. */
  abstract readonly code: IpcErrorCode;

  constructor(message: string, options?: IpcErrorOptions) {
    super(message, options);
    Object.defineProperty(this, BRAND, { value: lineageOf(new.target) });
  }

  // biome-ignore-start lint/complexity/noThisInStatic: `this` is the class `instanceof` was asked about, a subclass as often as not.
  static override [Symbol.hasInstance](instance: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, instance)) return true;
    return brandOf(instance)?.includes(this.name) ?? false;
  }
  // biome-ignore-end lint/complexity/noThisInStatic: the method above
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

  /**
   * `options.batch`: the number of messages when `size` is the cost of a `sendBatch()` (their bytes plus 128
   * each) over the batch bound (`limit` + 128).
   */
  constructor(size: number, limit: number, options?: IpcErrorOptions & { readonly batch?: number | undefined }) {
    const batch = options?.batch;
    super(
      batch === undefined
        ? `message of ${size} bytes is over this connection's maxMessageSize of ${limit} bytes; split it or raise maxMessageSize on both ends`
        : `a batch of ${batch} messages costs ${size} bytes (their sizes plus 128 each), over this connection's bound of ${limit + 128} (maxMessageSize + 128); send it in smaller batches`,
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

/**
 * Thrown when the system has run out of something a call needs: descriptors (EMFILE, ENFILE), memory
 * (ENOMEM, ENOBUFS), space (ENOSPC, EDQUOT: a full disk or /dev/shm), locks (ENOLCK), or a resource that
 * is busy for now (EAGAIN, EBUSY). The message says which, and what to do.
 */
export class ResourceExhaustedError extends IpcError {
  override readonly name = "ResourceExhaustedError";
  readonly code = "IPC_ERR_RESOURCE_EXHAUSTED";
}

/**
 * Thrown when a message view lent by `receiveView()` (see {@link MessageView}) is used after its `release()`:
 * its bytes read, or released again. A released view's memory belongs to the connection again, and the next
 * message may already be written there. A misuse of the API.
 */
export class ViewReleasedError extends IpcError {
  override readonly name = "ViewReleasedError";
  readonly code = "IPC_ERR_VIEW_RELEASED";
}

/**
 * The rejection of `receive()`, `receiveBatch()`, iteration or `receiveView()` on a connection while a view it
 * lent with `receiveView()` is not released yet (or another `receiveView()` still waits): the view pins the
 * connection's memory, and messages are taken in order, so release it first. A misuse of the API.
 */
export class ViewHeldError extends IpcError {
  override readonly name = "ViewHeldError";
  readonly code = "IPC_ERR_VIEW_HELD";
}

/**
 * Thrown when a system call fails for a reason no other class covers. `syscall` names the call, `errno`
 * the OS error (`"ENOTEMPTY"`); the OS-style error is the `cause`.
 */
export class SystemCallError extends IpcError {
  override readonly name = "SystemCallError";
  readonly code = "IPC_ERR_SYSTEM_CALL";
  /** The system call that failed, e.g. `"pipe2"`. */
  readonly syscall: string;
  /** The OS error's name, e.g. `"EINTR"`. */
  readonly errno: string;

  constructor(message: string, syscall: string, errno: string, options?: IpcErrorOptions) {
    super(message, options);
    this.syscall = syscall;
    this.errno = errno;
  }
}

/**
 * Thrown when a feature needs a system call that this platform lacks (today the native calls support Linux
 * on x86-64 and arm64 with glibc), or when the native layer is switched off with the environment variable
 * `IPC_NATIVE=off`. `feature` and `platform` say what and where; see docs/platforms.md for what works
 * without native calls.
 */
export class UnsupportedError extends IpcError {
  override readonly name = "UnsupportedError";
  readonly code = "IPC_ERR_UNSUPPORTED";
  /** What was asked for: a feature of @ipc/native's table (`"shm"`, `"unix.peerCredentials"`) or a call (`"futex()"`). */
  readonly feature: string;
  /** Where, e.g. `"linux-x64 (glibc 2.36)"` or `"darwin-arm64"`. */
  readonly platform: string;

  constructor(message: string, feature: string, platform: string, options?: IpcErrorOptions) {
    super(message, options);
    this.feature = feature;
    this.platform = platform;
  }
}

/** True when `error` is an {@link IpcError} (of any copy of @ipc/core), and, if `code` is given, carries that code. */
export function isIpcError<C extends IpcErrorCode = IpcErrorCode>(error: unknown, code?: C): error is IpcError & { readonly code: C } {
  const brand = brandOf(error);
  return (brand?.includes("IpcError") ?? false) && (code === undefined || (error as IpcError).code === code);
}

/** The shape of Node's system errors (`err.code === "ECONNRESET"`, `err.syscall === "connect"` …). */
interface SystemErrorLike {
  readonly code?: unknown;
  readonly syscall?: unknown;
  readonly message?: unknown;
}

type Make = (message: string, options: IpcErrorOptions, code: string, syscall: string | undefined) => IpcError;

const refused: Make = (m, o) => new ConnectionRefusedError(m, o);
const reset: Make = (m, o) => new ConnectionResetError(m, o);
const inUse: Make = (m, o) => new AddressInUseError(m, o);
const badAddress: Make = (m, o) => new InvalidAddressError(m, o);
const badArgument: Make = (m, o) => new InvalidArgumentError(m, o);
const denied: Make = (m, o) => new PermissionDeniedError(m, o);
const exhausted: Make = (m, o) => new ResourceExhaustedError(m, o);
const timedOut: Make = (m, o) => new TimeoutError(m, 0, o);
const unsupported: Make = (m, o, _code, syscall) =>
  new UnsupportedError(m, syscall === undefined ? "this call" : callName(syscall), `${process.platform}-${process.arch}`, o);

/** `connect()` for `connect`; a call with its option already in parentheses stays as it is: `fcntl(F_SETPIPE_SZ)`. */
function callName(syscall: string): string {
  return syscall.includes("(") ? syscall : `${syscall}()`;
}

/** The calls that address something: an errno there is about the address (EINVAL: not valid for this socket). */
const ADDRESSING = new Set(["connect", "bind", "listen", "sendto", "sendmsg", "getaddrinfo", "open", "shm_open", "mkfifo"]);
/** The calls that move bytes on an established connection: an errno there means the connection broke. */
const DATA_PATH = new Set(["read", "write", "writev", "recv", "recvmsg", "send", "shutdown", "close"]);

/** errno name → what it means, as the typed error and a phrase for the message. */
const ERRNO_MAP: Readonly<Record<string, readonly [Make, string]>> = {
  ECONNREFUSED: [refused, "nothing is listening there"],
  ENXIO: [refused, "nobody has the other end open (a FIFO without a reader)"],
  EHOSTUNREACH: [refused, "the host cannot be reached"],
  ENETUNREACH: [refused, "the network cannot be reached"],
  EHOSTDOWN: [refused, "the host is down"],
  ENETDOWN: [refused, "the network is down"],
  EADDRINUSE: [inUse, "the address is already in use"],
  EEXIST: [inUse, "it already exists"],
  EADDRNOTAVAIL: [badAddress, "the address is not one of this machine's"],
  ENOTFOUND: [badAddress, "the host name does not resolve"],
  EAI_AGAIN: [badAddress, "the host name does not resolve"],
  EAI_NONAME: [badAddress, "the host name does not resolve"],
  EAI_FAIL: [badAddress, "the host name does not resolve"],
  ENAMETOOLONG: [badAddress, "the path or name is too long"],
  ENOTDIR: [badAddress, "a component of the path is not a directory"],
  ELOOP: [badAddress, "the path has too many symbolic links"],
  EISDIR: [badAddress, "the path is a directory"],
  ENODEV: [badAddress, "the path is not a device, file or object this call can use"],
  EAFNOSUPPORT: [badAddress, "this address family is not supported by the socket or the system"],
  EPFNOSUPPORT: [badAddress, "this protocol family is not supported"],
  EPROTONOSUPPORT: [badAddress, "this protocol is not supported for the address"],
  EPROTOTYPE: [badAddress, "the socket type does not match the address (a datagram socket?)"],
  ESOCKTNOSUPPORT: [badAddress, "this socket type is not supported"],
  EDESTADDRREQ: [badAddress, "no destination address was given"],
  EINVAL: [badArgument, "the system rejected an argument"],
  ENOTSOCK: [badArgument, "the descriptor is not a socket"],
  EBADF: [badArgument, "the descriptor is not open for this"],
  EFAULT: [badArgument, "an argument points outside this process's memory"],
  EISCONN: [badArgument, "the socket is already connected"],
  EALREADY: [badArgument, "a connect is already in progress on the socket"],
  EINPROGRESS: [badArgument, "a connect is already in progress on the socket"],
  ENOPROTOOPT: [badArgument, "the socket has no such option"],
  EOVERFLOW: [badArgument, "a value is too large for the call"],
  EACCES: [denied, "permission denied"],
  EPERM: [denied, "permission denied"],
  EROFS: [denied, "the file system is read-only"],
  ETIMEDOUT: [timedOut, "the operating system timed out"],
  ECONNRESET: [reset, "the peer reset the connection"],
  EPIPE: [reset, "the connection broke (the peer closed its end)"],
  ECONNABORTED: [reset, "the connection was aborted"],
  ENETRESET: [reset, "the network reset the connection"],
  ENOTCONN: [reset, "the socket is not connected"],
  ESHUTDOWN: [reset, "the socket was shut down"],
  EIO: [reset, "an I/O error"],
  ERR_STREAM_PREMATURE_CLOSE: [reset, "the stream was closed under the connection"],
  ERR_STREAM_DESTROYED: [reset, "the stream was closed under the connection"],
  ERR_STREAM_WRITE_AFTER_END: [reset, "the stream was closed under the connection"],
  EMFILE: [exhausted, "this process has too many open files; close some, or raise its limit (ulimit -n)"],
  ENFILE: [exhausted, "the system has too many open files; raise fs.file-max or close some"],
  ENOMEM: [exhausted, "out of memory (or over a memory or mapping limit)"],
  ENOBUFS: [exhausted, "the system is out of buffer space for sockets"],
  ENOSPC: [exhausted, "no space left (a full file system or /dev/shm, or a kernel limit such as inotify's)"],
  EDQUOT: [exhausted, "the disk quota is exceeded"],
  EFBIG: [exhausted, "over the file size limit (ulimit -f)"],
  EMLINK: [exhausted, "too many links"],
  ENOLCK: [exhausted, "the system is out of file locks"],
  EBUSY: [exhausted, "the resource is busy; try again"],
  EAGAIN: [exhausted, "the resource is temporarily unavailable; try again"],
  ENOSYS: [unsupported, "the kernel does not implement this call"],
  EOPNOTSUPP: [unsupported, "the operation is not supported here"],
  ENOTSUP: [unsupported, "the operation is not supported here"],
};

/**
 * Turns an OS error into the matching typed error, keeping the original as `cause`. `what` names the
 * operation and its target for the message, e.g. `connect to unix:///run/app.sock`; the message also names
 * the errno and, when the error says, the system call: `connect to tcp://[::1]:1: this address family is
 * not supported … (EAFNOSUPPORT from connect())`.
 *
 * - An error that is already an {@link IpcError} is returned as is.
 * - Where an errno means different things in different calls, the call decides: ENOENT from `connect` (or
 *   from a stream) is a {@link ConnectionRefusedError}, from `bind`/`open`… an {@link InvalidAddressError};
 *   EINVAL from a call that takes an address is an {@link InvalidAddressError}, elsewhere an
 *   {@link InvalidArgumentError}; EAGAIN from `connect` is a {@link ConnectionRefusedError} (the listener's
 *   backlog is full), elsewhere a {@link ResourceExhaustedError}; EADDRNOTAVAIL from `connect` is a
 *   {@link ResourceExhaustedError} (no free local port), elsewhere an {@link InvalidAddressError}.
 * - An errno not listed is a {@link ConnectionResetError} on a connection's reads and writes (or when the
 *   error names no call: the connection is unusable either way), a {@link SystemCallError} elsewhere.
 */
export function fromSystemError(error: unknown, what: string): IpcError {
  if (isIpcError(error)) return error;
  const system = (typeof error === "object" && error !== null ? error : {}) as SystemErrorLike;
  const code = typeof system.code === "string" ? system.code : undefined;
  const syscall = typeof system.syscall === "string" && system.syscall !== "" ? system.syscall : undefined;
  const detail = code === undefined ? String(system.message ?? error) : syscall === undefined ? code : `${code} from ${callName(syscall)}`;
  const options = { cause: error };
  const at = (phrase: string): string => `${what}: ${phrase} (${detail})`;
  const call = syscall?.replace(/\(.*$/s, ""); // `fcntl` of `fcntl(F_SETPIPE_SZ)`
  if (code === undefined) return reset(at("the connection broke"), options, "", syscall);
  if (code === "ENOENT") {
    return call === undefined || call === "connect"
      ? refused(at("nothing is listening there"), options, code, syscall)
      : badAddress(at("no such file or directory"), options, code, syscall);
  }
  if ((code === "EAGAIN" || code === "EWOULDBLOCK") && call === "connect") {
    return refused(at("the listener's backlog is full; it is not accepting fast enough"), options, code, syscall);
  }
  if (code === "EADDRNOTAVAIL" && call === "connect") {
    // connect(2): no local port was free to bind the socket to (the address connected to is not the problem).
    return exhausted(at("no local port is free (the ephemeral port range, net.ipv4.ip_local_port_range, is used up)"), options, code, syscall);
  }
  if (code === "EINVAL" && call !== undefined && ADDRESSING.has(call)) {
    return badAddress(at("the address is not valid for this socket or call"), options, code, syscall);
  }
  const rule = ERRNO_MAP[code === "EWOULDBLOCK" ? "EAGAIN" : code];
  if (rule !== undefined) return rule[0](at(rule[1]), options, code, syscall);
  if (syscall === undefined || call === undefined || DATA_PATH.has(call)) return reset(at("the connection broke"), options, code, syscall);
  return new SystemCallError(at(`${callName(syscall)} failed`), syscall, code, options);
}
