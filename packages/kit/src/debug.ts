/**
 * Debug logging of connections, the Node way: `NODE_DEBUG=ipc` (through `util.debuglog("ipc")`) or a
 * `logger` passed to `connect()` / `listen()`. It logs each connection opened, accepted, closed and failed,
 * and the size of every message sent and received. When neither is on, `connect()` and `listen()` return
 * the transport's own objects untouched: logging that is off costs nothing per message.
 *
 * Built on @ipc/core's diagnostics channels (packages/core/README.md, "Observability"): a connection's end
 * comes from `ipc:connection:close`, and with `NODE_DEBUG=ipc` @ipc/core itself prints every channel's events
 * (connect, accept, refuse, close, protocol errors, backpressure, RPC calls). What this module adds is what the
 * channels leave out on purpose, since they are free when unobserved: the listener's address, and the size of
 * each message, for which a connection is wrapped only while someone logs it.
 */
import { debuglog } from "node:util";
import { isViewConnection, subscribeDiagnostics, type CloseMessage, type Connection, type Listener, type ViewConnection } from "@ipc/core";

/** One thing that happened to a connection or listener. */
export type DebugEvent =
  | { readonly event: "listen"; readonly address: string }
  | { readonly event: "connect" | "accept"; readonly local: string; readonly remote: string; readonly pid?: number | undefined }
  | { readonly event: "send" | "receive"; readonly remote: string; readonly bytes: number }
  | { readonly event: "close"; readonly remote: string }
  | { readonly event: "error"; readonly remote: string; readonly code: string; readonly message: string };

/** Receives every {@link DebugEvent}; must not throw. */
export type DebugLogger = (event: DebugEvent) => void;

/** The logging option of `connect()` and `listen()`. */
export interface DebugOptions {
  /**
   * Called with every {@link DebugEvent} of this connection (or of every connection of this listener).
   * Default: none — but with `NODE_DEBUG=ipc` in the environment, the events are written to stderr as
   * `IPC <pid>: …` lines by `util.debuglog("ipc")`.
   */
  readonly logger?: DebugLogger | undefined;
}

const nodeDebug = debuglog("ipc");

/** An event as one line of text, as `NODE_DEBUG=ipc` prints it. */
export function formatDebugEvent(event: DebugEvent): string {
  switch (event.event) {
    case "listen":
      return `listening on ${event.address}`;
    case "connect":
    case "accept":
      return `${event.event === "connect" ? "connected" : "accepted"} ${event.local} ↔ ${event.remote}${event.pid === undefined ? "" : ` (peer pid ${event.pid})`}`;
    case "send":
      return `→ ${event.remote} ${event.bytes} B`;
    case "receive":
      return `← ${event.remote} ${event.bytes} B`;
    case "close":
      return `closed ${event.remote}`;
    case "error":
      return `failed ${event.remote}: ${event.code}: ${event.message}`;
  }
}

/**
 * `NODE_DEBUG=ipc`'s logger: the events @ipc/core's own `NODE_DEBUG=ipc` lines do not already print (the
 * listener's address and message sizes), so that no event is printed twice.
 */
const nodeDebugLogger: DebugLogger = (event) => {
  if (event.event === "listen" || event.event === "send" || event.event === "receive") nodeDebug("%s", formatDebugEvent(event));
};

/** The logger in effect: the option's, else `NODE_DEBUG=ipc`'s, else none (checked once per call). */
export function activeLogger(options: DebugOptions | undefined): DebugLogger | undefined {
  if (options?.logger !== undefined) return options.logger;
  return nodeDebug.enabled ? nodeDebugLogger : undefined;
}

/** The loggers of the connections being logged, told of their end by `ipc:connection:close`. */
const closeLoggers = new WeakMap<Connection, DebugLogger>();
let logged = 0;
let unsubscribe: (() => void) | undefined;

/** Logs the end of `connection` once, if it is still being logged. */
function ended(connection: Connection, error: unknown): void {
  const log = closeLoggers.get(connection);
  if (log === undefined) return;
  closeLoggers.delete(connection);
  const remote = connection.remoteAddress;
  log(error === undefined ? { event: "close", remote } : errorEvent(remote, error));
  // Subscribed only while some connection is logged: otherwise the channel stays free for every other one.
  if (--logged === 0) {
    unsubscribe?.();
    unsubscribe = undefined;
  }
}

function onClose(message: CloseMessage): void {
  ended(message.connection, message.error);
}

/** Logs the end of `connection` (its close, or the error it failed with) to `log`, once. */
function logClose(connection: Connection, log: DebugLogger): void {
  if (closeLoggers.has(connection)) return;
  closeLoggers.set(connection, log);
  logged++;
  unsubscribe ??= subscribeDiagnostics("ipc:connection:close", onClose);
  // A Connection not built on @ipc/core/transport's ConnectionBase publishes no close: its `closed` tells.
  // (ConnectionBase publishes as `closed` settles, before this reaction runs, so nothing is logged twice.)
  connection.closed.then(
    () => ended(connection, undefined),
    (error: unknown) => ended(connection, error),
  );
}

function errorEvent(remote: string, error: unknown): DebugEvent {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return { event: "error", remote, code: typeof code === "string" ? code : "ERROR", message: String(message ?? error) };
}

function withLogging(connection: Connection, log: DebugLogger): Connection {
  const remote = connection.remoteAddress;
  logClose(connection, log);
  // A send is logged once the connection accepted it (a refused one is not a send).
  const send: Connection["send"] = (message, options) =>
    connection.send(message, options).then(() => log({ event: "send", remote, bytes: message.byteLength }));
  const receive: Connection["receive"] = async (options) => {
    const message = await connection.receive(options);
    if (message !== undefined) log({ event: "receive", remote, bytes: message.byteLength });
    return message;
  };
  const sendBatch: Connection["sendBatch"] = (messages, options) =>
    connection.sendBatch(messages, options).then(() => {
      for (const message of messages) log({ event: "send", remote, bytes: message.byteLength });
    });
  const receiveBatch: Connection["receiveBatch"] = async (options) => {
    const batch = await connection.receiveBatch(options);
    if (batch !== undefined) for (const message of batch) log({ event: "receive", remote, bytes: message.byteLength });
    return batch;
  };
  // Lent views are logged as receives too (each message of a lent batch); a connection that lends none keeps
  // answering `undefined` here, so isViewConnection() tells the same of the logged connection as of the real one.
  const receiveView: ViewConnection["receiveView"] | undefined = isViewConnection(connection)
    ? async (options) => {
        const view = await connection.receiveView(options);
        if (view !== undefined) log({ event: "receive", remote, bytes: view.bytes.length });
        return view;
      }
    : undefined;
  const receiveViews: ViewConnection["receiveViews"] | undefined = isViewConnection(connection)
    ? async (options) => {
        const batch = await connection.receiveViews(options);
        if (batch !== undefined) for (const length of batch.lengths) log({ event: "receive", remote, bytes: length });
        return batch;
      }
    : undefined;
  async function* iterate(): AsyncGenerator<Uint8Array, void> {
    for (;;) {
      const message = await receive();
      if (message === undefined) return;
      yield message;
    }
  }
  // A Proxy, not a wrapper class: whatever else the transport's connection has (a child's pid and kill(),
  // a reconnecting connection's state) stays reachable, and its private fields see the real object.
  return new Proxy(connection, {
    get(target, key) {
      if (key === "send") return send;
      if (key === "receive") return receive;
      if (key === "sendBatch") return sendBatch;
      if (key === "receiveBatch") return receiveBatch;
      if (key === "receiveView") return receiveView;
      if (key === "receiveViews") return receiveViews;
      if (key === Symbol.asyncIterator) return iterate;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** `connection`, logging to `log` (or unchanged when there is no logger). */
export function traceConnection<C extends Connection>(connection: C, log: DebugLogger | undefined, event: "connect" | "accept"): C {
  if (log === undefined) return connection;
  log({ event, local: connection.localAddress, remote: connection.remoteAddress, pid: connection.peer?.pid });
  return withLogging(connection, log) as C;
}

/** `listener`, whose connections log to `log` (or unchanged when there is no logger). */
export function traceListener(listener: Listener, log: DebugLogger | undefined): Listener {
  if (log === undefined) return listener;
  log({ event: "listen", address: listener.address });
  const accept: Listener["accept"] = async (options) => {
    const connection = await listener.accept(options);
    return connection === undefined ? undefined : traceConnection(connection, log, "accept");
  };
  async function* iterate(): AsyncGenerator<Connection, void> {
    for (;;) {
      const connection = await accept();
      if (connection === undefined) return;
      yield connection;
    }
  }
  return new Proxy(listener, {
    get(target, key) {
      if (key === "accept") return accept;
      if (key === Symbol.asyncIterator) return iterate;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
