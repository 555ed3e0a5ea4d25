/**
 * The contract of the @ipc toolkit and the pieces every transport shares.
 *
 * - {@link Connection}, {@link Listener} and {@link Transport}: whole messages, in order, both ways, with
 *   backpressure, graceful close, abort, and `await using`.
 * - Typed errors: {@link IpcError} and one class per condition, each with a stable `code`.
 * - Addresses as URLs: {@link parseAddress} / {@link formatAddress}.
 * - Deadlines: every wait takes `{ signal, timeout }` ({@link wait}).
 * - {@link memoryTransport} and {@link memoryPair}: in-process connections with the full semantics.
 * - {@link messageChannel}: the typed `ipc.IpcMessage` envelope of `proto/ipc.proto` over any connection.
 * - Channel layers over any connection: {@link reliable} / {@link reliableListener} (sessions that survive
 *   reconnects, exactly once and in order), {@link mux} (many streams over one connection, credit-paced),
 *   {@link publisher} / {@link subscribe} (topics, bounded per-subscriber queues, history).
 *
 * @packageDocumentation
 */
export type {
  CloseOptions,
  ConnectOptions,
  Connection,
  ConnectionOptions,
  ListenOptions,
  Listener,
  Peer,
  ReceiveOptions,
  SendOptions,
  Transport,
  WaitOptions,
} from "./types.js";
export {
  AbortError,
  AddressInUseError,
  ClosedError,
  ConnectionRefusedError,
  ConnectionResetError,
  FrameTooLargeError,
  IPC_ERROR_CODES,
  InvalidAddressError,
  InvalidArgumentError,
  IpcError,
  MessageTooLargeError,
  PeerRejectedError,
  PermissionDeniedError,
  ProtocolError,
  ResourceExhaustedError,
  SystemCallError,
  TimeoutError,
  UnsupportedError,
  fromSystemError,
  isIpcError,
  type IpcErrorCode,
  type IpcErrorOptions,
} from "./errors.js";
export {
  SCHEMES,
  SHM_NAME_MAX,
  UNIX_ABSTRACT_NAME_MAX,
  UNIX_PATH_MAX,
  formatAddress,
  parseAddress,
  parseAddressOf,
  type Address,
  type FifoAddress,
  type MemoryAddress,
  type PipeAddress,
  type Scheme,
  type ShmAddress,
  type TcpAddress,
  type UnixAbstractAddress,
  type UnixAddress,
} from "./address.js";
export { abortError, checkTimeout, deadline, race, throwIfAborted, wait } from "./deadline.js";
export {
  DEFAULT_BACKLOG,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_MESSAGE_SIZE,
  MAX_MESSAGE_SIZE_LIMIT,
  resolveBacklog,
  resolveConnectionOptions,
  type ResolvedConnectionOptions,
} from "./options.js";
export { Deferred, noop, settledOf } from "./deferred.js";
export { Inbox, type InboxOptions } from "./inbox.js";
export { AcceptQueue } from "./accept-queue.js";
export { memoryPair, memoryTransport } from "./memory.js";
export { ipc } from "./gen/ipc.js";
