/**
 * `NODE_DEBUG=ipc`: when `util.debuglog("ipc")` is enabled, @ipc/core subscribes to its own diagnostics
 * channels and writes one `IPC <pid>: …` line per event to stderr — for users of any single package, since
 * every transport loads @ipc/core. Installed once per process, even with two copies of @ipc/core.
 * Connections are numbered in the order they are first seen (`#1`, `#2`), so one connection's lines can be
 * followed.
 */
import diagnosticsChannel from "node:diagnostics_channel";
import { debuglog } from "node:util";
import {
  IPC_CHANNELS,
  type AcceptMessage,
  type BackpressureMessage,
  type CloseMessage,
  type ConnectMessage,
  type IpcChannelMessages,
  type IpcChannelName,
  type ProtocolErrorMessage,
  type RefuseMessage,
  type RpcCall,
  type RpcCallEndMessage,
  type RpcCallStartMessage,
} from "./diagnostics.js";
import type { Connection, Peer } from "./types.js";

const INSTALLED = Symbol.for("@ipc/core.debuglog");

const serials = new WeakMap<Connection, number>();
let lastSerial = 0;
const started = new WeakMap<RpcCall, number>();

/** `#n remote-address` (or `#n` alone when the connection has no address). */
function nameOf(connection: Connection | undefined): string {
  if (connection === undefined) return "(no connection)";
  let serial = serials.get(connection);
  if (serial === undefined) {
    serial = ++lastSerial;
    serials.set(connection, serial);
  }
  return connection.remoteAddress === "" ? `#${serial}` : `#${serial} ${connection.remoteAddress}`;
}

function peerOf(peer: Peer | undefined): string {
  return peer === undefined ? "" : ` (peer pid ${peer.pid} uid ${peer.uid} gid ${peer.gid})`;
}

function errorOf(error: Error | undefined): string {
  if (error === undefined) return "";
  const code = (error as { code?: unknown; status?: unknown }).code ?? (error as { status?: unknown }).status;
  return typeof code === "string" ? `${code}: ${error.message}` : error.message;
}

/** Each event as one line of text, as `NODE_DEBUG=ipc` prints it. */
const formats: { [N in IpcChannelName]: (message: IpcChannelMessages[N]) => string } = {
  "ipc:connection:connect": (m: ConnectMessage) => `connect ${nameOf(m.connection)}${peerOf(m.connection.peer)}`,
  "ipc:connection:accept": (m: AcceptMessage) => `accept ${nameOf(m.connection)} on ${m.address}${peerOf(m.connection.peer)}`,
  "ipc:connection:refuse": (m: RefuseMessage) =>
    m.side === "listener"
      ? `refuse ${m.remoteAddress ?? "a client"} on ${m.address}${peerOf(m.peer)}: ${m.reason}`
      : `refused by ${m.address}: ${errorOf(m.error) || m.reason}`,
  "ipc:connection:close": (m: CloseMessage) => `close ${nameOf(m.connection)}: ${m.reason}${m.error === undefined ? "" : ` (${errorOf(m.error)})`}`,
  "ipc:protocol:error": (m: ProtocolErrorMessage) => `protocol error ${nameOf(m.connection)}: ${errorOf(m.error)}`,
  "ipc:backpressure": (m: BackpressureMessage) =>
    `backpressure ${m.state} ${nameOf(m.connection)}: ${m.bufferedBytes} bytes unread (high-water mark ${m.highWaterMark})`,
  "ipc:rpc:call:start": (m: RpcCallStartMessage) => {
    started.set(m.call, performance.now());
    return `rpc ${m.call.side} call ${m.call.method} start ${nameOf(m.call.connection)}`;
  },
  "ipc:rpc:call:end": (m: RpcCallEndMessage) => {
    const since = started.get(m.call);
    const took = since === undefined ? "" : ` in ${(performance.now() - since).toFixed(1)} ms`;
    return `rpc ${m.call.side} call ${m.call.method} end ${m.status}${took}${m.error === undefined ? "" : ` (${m.error.message})`}`;
  },
};

/** Subscribes the `NODE_DEBUG=ipc` printer to every channel, unless some copy of @ipc/core already did. */
function install(): void {
  const global = globalThis as { [INSTALLED]?: boolean };
  if (global[INSTALLED] === true) return;
  global[INSTALLED] = true;
  const log = debuglog("ipc");
  for (const name of Object.values(IPC_CHANNELS)) {
    const format = formats[name] as (message: unknown) => string;
    diagnosticsChannel.subscribe(name, (message) => log("%s", format(message)));
  }
}

if (debuglog("ipc").enabled) install();
