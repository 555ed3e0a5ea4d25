/**
 * What @ipc publishes on `node:diagnostics_channel`: the channel names (part of the API: they never change
 * within a major version), the shape of each message, and the publishing side used by core, framing, the
 * transports and @ipc/rpc. The channels are global to the process (Node keys them by name), so a subscriber
 * sees every connection of every @ipc package, even with two copies of @ipc/core installed.
 *
 * Publishing costs one `hasSubscribers` check when nobody listens: no message is built, nothing is allocated.
 * The channels are listed with their messages in packages/core/README.md ("Observability").
 */
import diagnosticsChannel from "node:diagnostics_channel";
import type { Connection, Listener, Peer } from "./types.js";

/** The name of every channel @ipc publishes on. */
export const IPC_CHANNELS = {
  /** A client's `connect()` succeeded: {@link ConnectMessage}. */
  connect: "ipc:connection:connect",
  /** A listener took a new connection (before `accept()` hands it out): {@link AcceptMessage}. */
  accept: "ipc:connection:accept",
  /** A listener turned a client away, or a client was turned away: {@link RefuseMessage}. */
  refuse: "ipc:connection:refuse",
  /** A connection ended, cleanly or not: {@link CloseMessage}. */
  close: "ipc:connection:close",
  /** A peer broke the protocol (a bad frame, a frame over the limit, a bad envelope): {@link ProtocolErrorMessage}. */
  protocolError: "ipc:protocol:error",
  /** A connection's receive queue reached its high-water mark (`on`) or drained to half (`off`): {@link BackpressureMessage}. */
  backpressure: "ipc:backpressure",
  /** An RPC call began, on the client or the server: {@link RpcCallStartMessage}. */
  rpcCallStart: "ipc:rpc:call:start",
  /** An RPC call ended with its status: {@link RpcCallEndMessage}. */
  rpcCallEnd: "ipc:rpc:call:end",
} as const;

/** One of the {@link IPC_CHANNELS} names. */
export type IpcChannelName = (typeof IPC_CHANNELS)[keyof typeof IPC_CHANNELS];

/** `ipc:connection:connect`: published once the transport's connect (and its handshake) succeeded. */
export interface ConnectMessage {
  readonly connection: Connection;
  /** The address that was connected to, as a URL (`unix:///run/app.sock`, `tcp://127.0.0.1:7000`). */
  readonly address: string;
}

/** `ipc:connection:accept`: published when a listener queues a new connection for `accept()`. */
export interface AcceptMessage {
  readonly connection: Connection;
  /** The listener's address. */
  readonly address: string;
  readonly listener: Listener;
}

/** `ipc:connection:refuse`: a client was turned away before any message was exchanged. */
export interface RefuseMessage {
  /** `"listener"`: this process's listener refused a client; `"client"`: this process's connect was refused. */
  readonly side: "listener" | "client";
  /** The listener's address (either side). */
  readonly address: string;
  /** Why, in words (`not authorized`, `the listener's backlog is full`, the server's reason). */
  readonly reason: string;
  /** The refused client's credentials, on a listener that read them; otherwise `undefined`. */
  readonly peer: Peer | undefined;
  /** The refused client's address, on a listener that knows it (`tcp://…`); otherwise `undefined`. */
  readonly remoteAddress: string | undefined;
  /** On the client side, the error `connect()` rejects with; otherwise `undefined`. */
  readonly error: Error | undefined;
}

/**
 * Why a connection ended, from the error it ended with (its `code`): `end` — both sides closed gracefully;
 * `abort` — `abort()` on this side; `reset` — the peer vanished or reset it; `refused` — the server refused
 * the client during the handshake; `too-large` — a frame over `maxMessageSize`; `protocol` — the peer broke
 * the protocol; `timeout` — a deadline passed; `error` — any other failure (see `error`).
 */
export type CloseReason = "end" | "abort" | "reset" | "refused" | "too-large" | "protocol" | "timeout" | "error";

/** `ipc:connection:close`: published once per connection, when `closed` settles. */
export interface CloseMessage {
  readonly connection: Connection;
  readonly reason: CloseReason;
  /** What `closed` rejected with; `undefined` for `end`. */
  readonly error: Error | undefined;
}

/** `ipc:protocol:error`: what the peer sent cannot be understood. */
export interface ProtocolErrorMessage {
  readonly connection: Connection;
  /** A typed error: `IPC_ERR_PROTOCOL`, `IPC_ERR_FRAME_TOO_LARGE`, or a layer's own (an `RpcError`). */
  readonly error: Error;
}

/** `ipc:backpressure`: the receiving side of a connection stops (`on`) or resumes (`off`) reading its source. */
export interface BackpressureMessage {
  /**
   * The connection, if it was made while someone subscribed to this channel (so subscribe before connecting or
   * listening: naming the connection costs each new connection a microtask, paid only then); otherwise `undefined`.
   */
  readonly connection: Connection | undefined;
  readonly state: "on" | "off";
  /** Bytes received and not yet read by the application. */
  readonly bufferedBytes: number;
  /** The connection's `highWaterMark`; `off` is published at half of it. */
  readonly highWaterMark: number;
}

/** One RPC call, the same object in its start and end messages (key spans or timers on it). */
export interface RpcCall {
  /** The side of the call this process is: the caller, or the server running the handler. */
  readonly side: "client" | "server";
  /** The method's path: `/package.Service/Method`. */
  readonly method: string;
  readonly kind: "unary" | "server-stream" | "client-stream" | "bidi";
  /** The connection the call travels on. */
  readonly connection: Connection;
}

/** `ipc:rpc:call:start`. */
export interface RpcCallStartMessage {
  readonly call: RpcCall;
}

/** `ipc:rpc:call:end`: published exactly once for every call whose start was published (and only those). */
export interface RpcCallEndMessage {
  readonly call: RpcCall;
  /** The call's status: `"OK"` or an RPC status name (`"DEADLINE_EXCEEDED"`, `"UNAVAILABLE"`, …). */
  readonly status: string;
  /** The `RpcError` the call failed with; `undefined` when `status` is `"OK"`. */
  readonly error: Error | undefined;
}

/** The message type of each channel, for {@link subscribeDiagnostics}. */
export interface IpcChannelMessages {
  "ipc:connection:connect": ConnectMessage;
  "ipc:connection:accept": AcceptMessage;
  "ipc:connection:refuse": RefuseMessage;
  "ipc:connection:close": CloseMessage;
  "ipc:protocol:error": ProtocolErrorMessage;
  "ipc:backpressure": BackpressureMessage;
  "ipc:rpc:call:start": RpcCallStartMessage;
  "ipc:rpc:call:end": RpcCallEndMessage;
}

/**
 * Subscribes `onMessage` to the channel `name`, typed; returns the function that unsubscribes it. The same as
 * `diagnostics_channel.subscribe(name, …)`. A throwing subscriber does not break the connection (Node reports
 * its error on the next tick as an uncaught exception, as for any channel).
 */
export function subscribeDiagnostics<N extends IpcChannelName>(name: N, onMessage: (message: IpcChannelMessages[N]) => void): () => void {
  const listener = onMessage as (message: unknown, name: string | symbol) => void;
  diagnosticsChannel.subscribe(name, listener);
  return () => void diagnosticsChannel.unsubscribe(name, listener);
}

/** The channels, created once: publishers check `hasSubscribers` before building a message. */
export const channels = {
  connect: diagnosticsChannel.channel(IPC_CHANNELS.connect),
  accept: diagnosticsChannel.channel(IPC_CHANNELS.accept),
  refuse: diagnosticsChannel.channel(IPC_CHANNELS.refuse),
  close: diagnosticsChannel.channel(IPC_CHANNELS.close),
  protocolError: diagnosticsChannel.channel(IPC_CHANNELS.protocolError),
  backpressure: diagnosticsChannel.channel(IPC_CHANNELS.backpressure),
  rpcCallStart: diagnosticsChannel.channel(IPC_CHANNELS.rpcCallStart),
  rpcCallEnd: diagnosticsChannel.channel(IPC_CHANNELS.rpcCallEnd),
};
