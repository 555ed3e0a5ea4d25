/**
 * A TCP (or TLS) listener: admits each connection against its limits, takes plain sockets over so large
 * messages are read in place, and answers with the status frame (docs/wire.md §2.1).
 */
import net from "node:net";
import tls from "node:tls";
import { InvalidArgumentError, fromSystemError, type Connection, type Listener } from "@ipc/core";
import { ListenerBase, resolveBacklog, resolveConnectionOptions, type ResolvedConnectionOptions } from "@ipc/core/transport";
import { FrameReader, HandshakeStatus, framed, refuse, resolveHandshake, statusMessage, streamFraming, type FramedOptions } from "@ipc/framing";
import { canAdopt, closeFd, duplicate } from "./native.js";
import type { TcpListenOptions } from "./options.js";
import { checkSocketOptions, configureSocket, socketFd, watch, withSettings } from "./socket.js";
import { resolveTarget, urlOf, type TcpTarget } from "./target.js";

class TcpListener extends ListenerBase {
  readonly address: string;
  readonly #server: net.Server;
  readonly #settings: ResolvedConnectionOptions & FramedOptions;
  readonly #options: TcpListenOptions | undefined;
  /** Connections queued or handed out and still open, for maxConnections. */
  #live = 0;

  constructor(server: net.Server, address: string, options: TcpListenOptions | undefined) {
    super(resolveBacklog(options));
    this.address = address;
    this.#server = server;
    this.#options = options;
    this.#settings = { ...resolveConnectionOptions(options), ...streamFraming(options) };
    if (options?.tls === undefined) {
      server.on("connection", (socket: net.Socket) => this.#admit(socket));
    } else {
      server.on("secureConnection", (socket: tls.TLSSocket) => this.#admit(socket));
      server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) =>
        this.#rejected(urlOf(socket.remoteAddress, socket.remotePort), `TLS handshake failed: ${error.message}`),
      );
    }
  }

  protected override release(): void {
    this.#server.close(); // stops accepting now; its callback would wait for connections that outlive us
  }

  #admit(socket: net.Socket): void {
    socket.on("error", () => undefined); // until the connection owns it
    const remote = urlOf(socket.remoteAddress, socket.remotePort);
    const max = this.#options?.maxConnections;
    const reason = this.isClosed
      ? "the listener is closing"
      : !this.queue.hasRoom
        ? "the listener's backlog is full"
        : max !== undefined && this.#live >= max
          ? `the listener serves its maximum of ${max} connections`
          : undefined;
    if (reason !== undefined) {
      this.#rejected(remote, reason);
      void refuse(socket, this.#options?.handshake === false ? undefined : HandshakeStatus.Busy, reason);
      return;
    }
    let connection: Connection;
    try {
      connection = this.#options?.tls === undefined ? this.#adopt(socket, remote) : this.#wrap(socket as tls.TLSSocket, remote);
    } catch {
      socket.destroy();
      return;
    }
    this.#live++;
    void connection.closed.catch(() => undefined).finally(() => this.#live--);
    // With handshake: false, plain frames from the first byte (docs/wire.md §2.1): no status frame.
    if (this.#options?.handshake !== false) void connection.send(statusMessage(HandshakeStatus.Accepted)).catch(() => undefined);
    this.queue.push(connection);
  }

  /**
   * Plain TCP: takes the socket over (a duplicate fd, read with a FrameReader, so large messages are read
   * in place). Without native calls, frames the socket Node accepted as it is.
   */
  #adopt(socket: net.Socket, remote: string): Connection {
    const what = `accept on ${this.address}`;
    if (!canAdopt()) {
      const socketOptions = configureSocket(socket, this.#options, what);
      const connection = framed(socket, { ...this.#settings, localAddress: this.address, remoteAddress: remote });
      socket.resume(); // accepted paused (pauseOnConnect): 'data' listeners alone do not start it
      watch(socket, connection, this.#options, `connection from ${remote}`);
      return withSettings(connection, socketOptions);
    }
    const fd = duplicate(socketFd(socket), what);
    socket.destroy();
    const reader = new FrameReader({ maxMessageSize: this.#settings.maxMessageSize });
    let adopted: net.Socket;
    try {
      // `onread` is a documented Socket option that @types/node 20 only declares for net.connect().
      const settings = { fd, readable: true, writable: true, allowHalfOpen: true, onread: reader.onread };
      adopted = new net.Socket(settings as net.SocketConstructorOpts);
    } catch (error) {
      closeFd(fd);
      throw fromSystemError(error, what);
    }
    const socketOptions = configureSocket(adopted, this.#options, what);
    const connection = framed(adopted, { ...this.#settings, reader, localAddress: this.address, remoteAddress: remote });
    watch(adopted, connection, this.#options, `connection from ${remote}`);
    return withSettings(connection, socketOptions);
  }

  /** TLS: the connection reads the decrypted stream (the TLS socket's fd is the TCP socket's). */
  #wrap(socket: tls.TLSSocket, remote: string): Connection {
    const socketOptions = configureSocket(socket, this.#options, `accept on ${this.address}`);
    const connection = framed(socket, { ...this.#settings, localAddress: this.address, remoteAddress: remote });
    watch(socket, connection, this.#options, `connection from ${remote}`);
    return withSettings(connection, socketOptions);
  }

  #rejected(remote: string, reason: string): void {
    this.refused(reason, undefined, remote); // ipc:connection:refuse, which NODE_DEBUG=ipc prints
    const onReject = this.#options?.onReject;
    if (onReject === undefined) return;
    try {
      onReject(remote, reason);
    } catch {
      // A throwing callback must not take the listener down.
    }
  }
}

/**
 * Listens on `tcp://host:port` (port 0 picks a free port; `address` reports it). With `tls`, a TLS
 * server (mutual TLS with `tls.requestCert`). IPv4 and IPv6 (`tcp://[::1]:7000`).
 */
export async function listen(target: TcpTarget, options?: TcpListenOptions): Promise<Listener> {
  const { host, port } = resolveTarget(target);
  resolveConnectionOptions(options);
  resolveHandshake(options);
  const backlog = resolveBacklog(options);
  checkSocketOptions(options);
  const max = options?.maxConnections;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new InvalidArgumentError(`maxConnections must be an integer ≥ 1, got ${String(max)}`);
  }
  const t = options?.tls;
  const server =
    t === undefined
      ? net.createServer({ allowHalfOpen: true, pauseOnConnect: true })
      : tls.createServer({
          key: t.key,
          cert: t.cert,
          ca: t.ca as tls.SecureContextOptions["ca"],
          requestCert: t.requestCert ?? false,
          rejectUnauthorized: true,
          allowHalfOpen: true,
        });
  const url = `tcp://${host.includes(":") ? `[${host}]` : host}:${port}`;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(fromSystemError(error, `listen on ${url}`));
    server.once("error", onError);
    server.listen({ host, port, backlog }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  return new TcpListener(server, urlOf(host, bound.port), options);
}
