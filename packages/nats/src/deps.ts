/**
 * Everything this package takes from the other @ipc packages besides @ipc/rpc, in one place: the contract
 * (@ipc/core), the promise helpers of a transport author's kit (@ipc/core/transport), and the pub/sub
 * error it shares with @ipc/channels.
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
export { Deferred, noop } from "@ipc/core/transport";
export { SlowSubscriberError } from "@ipc/channels";
