import type { ConnectOptions, ListenOptions } from "@ipc/core";
import type { FramedOptions } from "@ipc/framing";
import type { ReconnectOptions } from "./reconnect.js";

/** TLS settings, on either side (PEM strings or Buffers, as node:tls takes them). */
export interface TlsOptions {
  /** This side's private key. Required on the server; on a client, for mutual TLS. */
  readonly key?: string | Buffer | undefined;
  /** This side's certificate chain. Required on the server; on a client, for mutual TLS. */
  readonly cert?: string | Buffer | undefined;
  /** Certificates to trust (the peer's CA). Default: Node's built-in roots. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[] | undefined;
  /** Server: require a client certificate signed by `ca` (mutual TLS); others are refused. Default: false. */
  readonly requestCert?: boolean | undefined;
  /** Client: the name to verify the server's certificate against. Default: the host connected to. */
  readonly servername?: string | undefined;
}

/** Options of both sides' sockets. */
export interface TcpSocketOptions {
  /** Disable Nagle's algorithm (frames leave at once). Default: `true`. */
  readonly noDelay?: boolean | undefined;
  /** TCP keep-alive probes, so a vanished peer is noticed. Default: `true`. */
  readonly keepAlive?: boolean | undefined;
  /** Idle milliseconds before the first keep-alive probe. Default: 10 000. */
  readonly keepAliveInitialDelay?: number | undefined;
  /** SO_SNDBUF in bytes (the kernel doubles it, up to net.core.wmem_max). Default: the kernel's (autotuned). */
  readonly sendBufferSize?: number | undefined;
  /** SO_RCVBUF in bytes (the kernel doubles it, up to net.core.rmem_max). Default: the kernel's (autotuned). */
  readonly receiveBufferSize?: number | undefined;
  /** Abort a connection on which nothing was sent or received for this many ms (`TimeoutError`). Default: none. */
  readonly idleTimeout?: number | undefined;
  /**
   * Abort a connection whose pending writes make no progress for this many ms — a peer that stops reading
   * cannot hold this side forever (`TimeoutError`). Default: none.
   */
  readonly writeTimeout?: number | undefined;
  /** TLS settings; plain TCP without them. Default: none. */
  readonly tls?: TlsOptions | undefined;
}

/** Options of {@link listen}. */
export interface TcpListenOptions extends ListenOptions, TcpSocketOptions, Pick<FramedOptions, "frameTimeout"> {
  /**
   * Start every accepted connection with the status frame (docs/wire.md §2.1). `false`: plain
   * length-prefixed frames from the first byte, both ways, for clients that are not @ipc (and @ipc clients
   * that connect with `handshake: false`); a client turned away (`maxConnections`, backlog) then sees the
   * connection end, without a reason. Default: `true`.
   */
  readonly handshake?: boolean | undefined;
  /**
   * Connections this listener serves at once (handed out and still open, or waiting to be accepted);
   * beyond it, clients are turned away as busy (`ConnectionRefusedError` at the client). Default: no limit.
   */
  readonly maxConnections?: number | undefined;
  /** Called for every client turned away, with the reason. Default: a debug line (`NODE_DEBUG=ipc`). */
  readonly onReject?: ((remoteAddress: string, reason: string) => void) | undefined;
}

/** Options of {@link connect}. `timeout` and `signal` bound the TCP connect, TLS and the server's answer. */
export interface TcpConnectOptions extends ConnectOptions, TcpSocketOptions, Pick<FramedOptions, "frameTimeout"> {
  /**
   * Wait for the server's status frame (docs/wire.md §2.1) before `connect()` resolves. `false`: plain
   * length-prefixed frames from the first byte, both ways, for servers that are not @ipc (and @ipc listeners
   * with `handshake: false`). Default: `true`.
   */
  readonly handshake?: boolean | undefined;
  /**
   * Milliseconds to wait for the status frame (within `timeout`, whichever ends first). A server that is not
   * @ipc never sends one: the `TimeoutError` then suggests `handshake: false`. Default: 10 000.
   */
  readonly handshakeTimeout?: number | undefined;
  /**
   * Reconnect after the connection is lost (the server restarts…): `connect()` then returns a
   * `ReconnectingConnection` (see its guarantees). Each attempt is a full connect under `timeout`.
   * Default: none — a lost connection stays lost.
   */
  readonly reconnect?: ReconnectOptions | undefined;
}
