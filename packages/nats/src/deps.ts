/**
 * Everything this package takes from @ipc/core, in one place: issue 15 moves the channel layers to
 * @ipc/channels and the transport author's pieces to @ipc/core/transport, and that move is a change here
 * only.
 */
export {
  AbortError,
  ClosedError,
  ConnectionRefusedError,
  ConnectionResetError,
  InvalidArgumentError,
  IpcError,
  MessageTooLargeError,
  ProtocolError,
  TimeoutError,
  isIpcError,
  type Connection,
  type IpcErrorOptions,
  type Listener,
  type Peer,
  type ReceiveOptions,
  type SendOptions,
  type WaitOptions,
} from "@ipc/core";
// Channel layers (to @ipc/channels with issue 15).
export { SlowSubscriberError } from "@ipc/core";
export { Deferred, noop } from "@ipc/core";
