/**
 * The contract of the @ipc toolkit: what every transport implements and every layer builds on.
 *
 * - {@link Connection}, {@link Listener} and {@link Transport}: whole messages, in order, both ways, with
 *   backpressure, graceful close, abort, and `await using`; their options and documented defaults.
 * - Typed errors: {@link IpcError} and one class per condition, each with a stable `code`; {@link IpcErrorCode}
 *   lists the code of every @ipc package.
 * - Addresses as URLs: {@link parseAddress} / {@link formatAddress}.
 * - The opt-in zero-copy receives: {@link ViewConnection} (`receiveView()` lending a {@link MessageView},
 *   `receiveViews()` a {@link MessageBatchView}), found
 *   with {@link isViewConnection}.
 * - Deadlines: every wait takes `{ signal, timeout }` ({@link wait}, {@link race}, {@link deadline}).
 * - {@link memoryTransport} and {@link memoryPair}: in-process connections with the full semantics.
 * - Observability: the `node:diagnostics_channel` channels every package publishes on ({@link IPC_CHANNELS},
 *   their messages, {@link subscribeDiagnostics}); `NODE_DEBUG=ipc` prints them.
 *
 * Two more entry points: `@ipc/core/transport`, the pieces a transport or layer author builds connections and
 * listeners from, and `@ipc/core/proto`, the generated code of the shared protobuf schemas (`proto/ipc.proto`).
 * This one never loads protobufjs.
 *
 * @packageDocumentation
 */
// NODE_DEBUG=ipc: prints every diagnostics event (installed only when debuglog("ipc") is enabled).
import "./diagnostics-log.js";

export type {
  CloseOptions,
  ConnectOptions,
  Connection,
  ConnectionOptions,
  ListenOptions,
  Listener,
  MessageBatchView,
  MessageView,
  Peer,
  ReceiveBatchOptions,
  ReceiveOptions,
  SendOptions,
  Transport,
  ViewConnection,
  WaitOptions,
} from "./types.js";
export { isViewConnection } from "./transport/message-view.js";
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
  ViewHeldError,
  ViewReleasedError,
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
export { BATCH_MESSAGE_OVERHEAD, DEFAULT_BACKLOG, DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE_LIMIT } from "./options.js";
export { memoryPair, memoryTransport } from "./memory.js";
export {
  IPC_CHANNELS,
  subscribeDiagnostics,
  type AcceptMessage,
  type BackpressureMessage,
  type CloseMessage,
  type CloseReason,
  type ConnectMessage,
  type IpcChannelMessages,
  type IpcChannelName,
  type ProtocolErrorMessage,
  type RefuseMessage,
  type RpcCall,
  type RpcCallEndMessage,
  type RpcCallStartMessage,
} from "./diagnostics.js";
