import net from "node:net";
import tls from "node:tls";
import {
  PeerRejectedError,
  ProtocolError,
  TimeoutError,
  deadline,
  fromSystemError,
  isIpcError,
  throwIfAborted,
  wait,
  type IpcError,
  type TcpAddress,
} from "@ipc/core";
import { publishConnect, resolveConnectionOptions } from "@ipc/core/transport";
import { FrameReader, awaitAccepted, framed, isHandshakeTimeout, resolveHandshake, streamFraming } from "@ipc/framing";
import type { TcpConnectOptions } from "./options.js";
import { createPool, type Pool, type PoolOptions } from "./pool.js";
import { connectReconnecting, type ReconnectOptions, type ReconnectingConnection } from "./reconnect.js";
import { checkSocketOptions, configureSocket, watch, withSettings, type TcpConnection } from "./socket.js";
import { resolveTarget, urlOf, type TcpTarget } from "./target.js";

/** TLS alerts that mean "the server does not accept this client's certificate". */
const REFUSED_BY_SERVER = /CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE|ACCESS_DENIED/;
/** Verification failures that mean "this client does not trust the server's certificate". */
const REFUSED_BY_CLIENT = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;

function tlsError(error: unknown, what: string): IpcError {
  const code = String((error as { code?: unknown } | null)?.code ?? "");
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_PACKET_LENGTH_TOO_LONG") {
    return new ProtocolError(`${what}: the server does not answer in TLS (${code}); is it a plain TCP server? Connect without tls`, {
      cause: error,
    });
  }
  if (REFUSED_BY_SERVER.test(code)) {
    return new PeerRejectedError(`${what}: the server refused this client's certificate (${code})`, { cause: error });
  }
  if (REFUSED_BY_CLIENT.test(code)) {
    return new PeerRejectedError(`${what}: this client does not trust the server's certificate (${code}); check tls.ca and tls.servername`, {
      cause: error,
    });
  }
  // Any other failure of the TLS layer itself is a broken protocol, not a broken connection.
  if (/^ERR_(SSL|TLS)_/.test(code)) return new ProtocolError(`${what}: the TLS handshake failed (${code})`, { cause: error });
  return fromSystemError(error, what);
}

function once(
  stream: net.Socket,
  event: string,
  what: string,
  options: ReturnType<ReturnType<typeof deadline>>,
  mapError: (e: unknown) => IpcError,
): Promise<void> {
  return wait<void>(what, options, (resolve, reject) => {
    stream.once(event, () => resolve());
    stream.once("error", (error) => reject(mapError(error)));
    return () => stream.destroy();
  });
}

/**
 * Connects to a TCP (or, with `tls`, TLS) listener and waits for it to accept this client. Rejects with
 * `ConnectionRefusedError` (nobody listens, or the server is busy), `PeerRejectedError` (the server
 * refused this client's certificate), `TimeoutError`, `AbortError`, or the OS error, typed. With
 * `reconnect`, returns a connection that survives losing the server (see `ReconnectingConnection`).
 */
export function connect(target: TcpTarget, options: TcpConnectOptions & { readonly reconnect: ReconnectOptions }): Promise<ReconnectingConnection>;
export function connect(target: TcpTarget, options?: TcpConnectOptions): Promise<TcpConnection>;
export function connect(target: TcpTarget, options?: TcpConnectOptions): Promise<TcpConnection | ReconnectingConnection> {
  if (options?.reconnect === undefined) return connectOnce(target, options);
  const { reconnect, ...once } = options;
  checkSocketOptions(once);
  return connectReconnecting((o) => connectOnce(target, o), url(resolveTarget(target)), once, reconnect);
}

/** Opens a pool of connections to `target` (see `Pool`). */
export function pool(target: TcpTarget, options?: PoolOptions): Pool {
  const { min, max, acquireTimeout, idleTimeout, validate, reconnect, ...once } = options ?? {};
  void reconnect; // a pool replaces lost connections itself
  resolveTarget(target);
  checkSocketOptions(once);
  return createPool(() => connectOnce(target, once), { min, max, acquireTimeout, idleTimeout, validate });
}

function url(address: TcpAddress): string {
  return `tcp://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
}

async function connectOnce(target: TcpTarget, options?: TcpConnectOptions): Promise<TcpConnection> {
  const { host, port } = resolveTarget(target);
  const address = url({ scheme: "tcp", host, port });
  const what = `connect to ${address}`;
  const settings = { ...resolveConnectionOptions(options), ...streamFraming(options) };
  const handshakeTimeout = resolveHandshake(options);
  checkSocketOptions(options);
  throwIfAborted(options?.signal, what);
  const remaining = deadline(options);
  const t = options?.tls;
  // Plain TCP reads large messages in place; TLS decrypts into its own buffers.
  const reader = t === undefined ? new FrameReader({ maxMessageSize: settings.maxMessageSize }) : undefined;
  const socket = net.connect({ host, port, allowHalfOpen: true, ...(reader === undefined ? {} : { onread: reader.onread }) });
  let stream: net.Socket = socket;
  try {
    await once(socket, "connect", what, remaining(), (error) => fromSystemError(error, what));
    const socketOptions = configureSocket(socket, options, what);
    // With TLS 1.3 the server checks the client's certificate after the client's side of the handshake is
    // done: its refusal arrives as an alert while we wait for the status frame, sometimes after the end.
    let tlsFailure: unknown;
    if (t !== undefined) {
      // `host` too: the certificate is checked against it (without it, Node checks "localhost").
      stream = tls.connect({
        socket,
        host,
        key: t.key,
        cert: t.cert,
        ca: t.ca as tls.ConnectionOptions["ca"],
        servername: t.servername ?? (net.isIP(host) ? undefined : host),
      });
      stream.on("error", (error) => (tlsFailure ??= error));
      await once(stream, "secureConnect", what, remaining(), (error) => tlsError(error, what));
    }
    const local = urlOf(socket.localAddress, socket.localPort);
    const connection = framed(stream, { ...settings, reader, localAddress: local, remoteAddress: address });
    try {
      // With handshake: false, plain frames from the first byte (docs/wire.md §2.1): nothing to wait for.
      if (options?.handshake !== false) await awaitAccepted(connection, address, remaining(), handshakeTimeout);
      else publishConnect(connection, address); // no status frame to wait for: connected now
    } catch (error) {
      if (t === undefined) throw error;
      await new Promise((resolve) => setImmediate(resolve)); // let a pending TLS error event arrive
      if (tlsFailure !== undefined) throw tlsError(tlsFailure, what);
      // Some refusals (a certificate from an unknown CA) come as a bare close, without an alert: a
      // server that ends the connection between the TLS handshake and the status frame refused it.
      if (isIpcError(error, "IPC_ERR_CONNECTION_RESET")) {
        throw new PeerRejectedError(
          `${what}: the server closed the connection after the TLS handshake without accepting it ` +
            `(it refuses this client's certificate, or has none to check)`,
          { cause: error },
        );
      }
      throw error;
    }
    watch(stream, connection, options, `connection to ${address}`);
    return withSettings(connection, socketOptions);
  } catch (error) {
    stream.destroy();
    socket.destroy();
    if (error instanceof TimeoutError && options?.timeout !== undefined && !isHandshakeTimeout(error)) {
      throw new TimeoutError(`${what} timed out after ${options.timeout} ms`, options.timeout, { cause: error });
    }
    throw error;
  }
}
