/**
 * The publishing side of @ipc's diagnostics channels (names and messages in ./diagnostics.ts), for transport
 * and layer authors through `@ipc/core/transport`. Each function returns at once when nobody subscribes to its
 * channel, before any message is built. `ConnectionBase` and `ListenerBase` publish close, protocol errors and
 * accepts themselves; a transport publishes its connects and refusals.
 */
import { channels, type CloseReason, type RpcCall } from "./diagnostics.js";
import "./diagnostics-log.js";
import type { Connection, Listener, Peer } from "./types.js";

/** `ipc:connection:connect`: `connection` is connected to `address` and ready (after any handshake). */
export function publishConnect(connection: Connection, address: string): void {
  if (channels.connect.hasSubscribers) channels.connect.publish({ connection, address });
}

/** `ipc:connection:accept`: `listener` queued `connection` for `accept()`. */
export function publishAccept(connection: Connection, listener: Listener): void {
  if (channels.accept.hasSubscribers) channels.accept.publish({ connection, address: listener.address, listener });
}

/**
 * `ipc:connection:refuse`: the listener at `address` turned a client away (`side` `"listener"`, with the
 * client's credentials where known), or this process's connect to it was refused (`"client"`, with the error).
 */
export function publishRefuse(side: "listener" | "client", address: string, reason: string, peer?: Peer, error?: Error, remoteAddress?: string): void {
  if (channels.refuse.hasSubscribers) channels.refuse.publish({ side, address, reason, peer, remoteAddress, error });
}

/** `ipc:protocol:error`: the peer of `connection` sent something that breaks the protocol. */
export function publishProtocolError(connection: Connection, error: Error): void {
  if (channels.protocolError.hasSubscribers) channels.protocolError.publish({ connection, error });
}

/** The stable `code` of an error, if it has one. */
function codeOf(error: Error): unknown {
  return (error as { code?: unknown }).code;
}

/** True for the errors that say the peer broke the protocol (docs/wire.md §1: a frame over the limit too). */
export function isProtocolError(error: Error): boolean {
  const code = codeOf(error);
  return code === "IPC_ERR_PROTOCOL" || code === "IPC_ERR_FRAME_TOO_LARGE";
}

/** The {@link CloseReason} of a connection that failed with `error` (`aborted`: through this side's `abort()`). */
export function closeReasonOf(error: Error, aborted: boolean): CloseReason {
  switch (codeOf(error)) {
    case "IPC_ERR_CONNECTION_RESET":
    case "IPC_ERR_PEER_DIED":
      return "reset";
    case "IPC_ERR_PEER_REJECTED":
    case "IPC_ERR_CONNECTION_REFUSED":
      return "refused";
    case "IPC_ERR_FRAME_TOO_LARGE":
      return "too-large";
    case "IPC_ERR_PROTOCOL":
      return "protocol";
    case "IPC_ERR_TIMEOUT":
      return "timeout";
    default:
      return aborted ? "abort" : "error";
  }
}

/** `ipc:connection:close` (with `ipc:protocol:error` first when the error says so), from `ConnectionBase`. */
export function publishClose(connection: Connection, error: Error | undefined, aborted: boolean): void {
  if (error !== undefined && isProtocolError(error)) publishProtocolError(connection, error);
  if (!channels.close.hasSubscribers) return;
  const reason = error === undefined ? "end" : closeReasonOf(error, aborted);
  channels.close.publish({ connection, reason, error });
}

/** True while someone subscribes to `ipc:backpressure`: connections made meanwhile are named in its messages. */
export function watchingBackpressure(): boolean {
  return channels.backpressure.hasSubscribers;
}

/**
 * `ipc:backpressure`: `inbox` (an `Inbox`, whose `owner` is its connection) holds `bufferedBytes` against
 * `highWaterMark`, and stops (`on`) or resumes reading.
 */
export function publishBackpressure(inbox: { readonly owner: Connection | undefined }, on: boolean, bufferedBytes: number, highWaterMark: number): void {
  if (!channels.backpressure.hasSubscribers) return;
  channels.backpressure.publish({ connection: inbox.owner, state: on ? "on" : "off", bufferedBytes, highWaterMark });
}

/**
 * `ipc:rpc:call:start`: returns the call object to hand to {@link publishRpcCallEnd} when the call ends, or
 * `undefined` when nobody subscribes (then the end is not published either, so every end has its start).
 */
export function publishRpcCallStart(side: RpcCall["side"], method: string, kind: RpcCall["kind"], connection: Connection): RpcCall | undefined {
  if (!channels.rpcCallStart.hasSubscribers && !channels.rpcCallEnd.hasSubscribers) return undefined;
  const call: RpcCall = { side, method, kind, connection };
  channels.rpcCallStart.publish({ call });
  return call;
}

/** `ipc:rpc:call:end` for a call {@link publishRpcCallStart} returned, with its status (`"OK"` or the error's). */
export function publishRpcCallEnd(call: RpcCall | undefined, status: string, error: Error | undefined): void {
  if (call !== undefined) channels.rpcCallEnd.publish({ call, status, error });
}
