/**
 * A Unix socket listener: accepts connections paused, reads the client's credentials, decides, and only
 * then answers with the status frame (none with `handshake: false`) and starts reading — so a refused
 * client never has a byte read.
 */
import { unlinkSync } from "node:fs";
import net from "node:net";
import { InvalidArgumentError, fromSystemError, type Connection, type Listener, type Peer } from "@ipc/core";
import { ListenerBase, resolveBacklog, resolveConnectionOptions, type ResolvedConnectionOptions } from "@ipc/core/transport";
import { FrameReader, HandshakeStatus, framed, refuse, resolveHandshake, statusMessage, streamFraming, type FramedOptions } from "@ipc/framing";
import { refusal } from "./authorize.js";
import { bindAbstract, bindNative, bindPath, bindWithNode } from "./bind.js";
import { own, release, type OwnedFile } from "./cleanup.js";
import { canUse, closeFd, duplicate, mustUse, peerCredentials } from "./native.js";
import type { UnixListenOptions } from "./options.js";
import { resolveTarget, type ResolvedTarget, type UnixTarget } from "./target.js";

/** The fd of a socket Node created (a stable, if undocumented, property of its handle). */
function socketFd(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new InvalidArgumentError("this socket has no file descriptor");
  return fd;
}

class UnixListener extends ListenerBase {
  readonly address: string;
  readonly #file: OwnedFile | undefined;
  readonly #server: net.Server;
  readonly #connection: ResolvedConnectionOptions & FramedOptions;
  readonly #options: UnixListenOptions | undefined;

  constructor(server: net.Server, target: ResolvedTarget, file: OwnedFile | undefined, options: UnixListenOptions | undefined) {
    super(resolveBacklog(options));
    this.address = target.url;
    this.#file = file;
    this.#server = server;
    this.#options = options;
    this.#connection = { ...resolveConnectionOptions(options), ...streamFraming(options) };
    server.on("connection", (socket: net.Socket) => void this.#admit(socket));
  }

  protected override release(): void {
    // The file first, while the socket still listens: a listen() elsewhere that probes it meanwhile finds it
    // live, never stale — else it could replace the file between our check of its inode and our unlink, and
    // we would remove its fresh socket.
    if (this.#file !== undefined) release(this.#file);
    // close() stops accepting at once; its callback would wait for every connection, which outlive us.
    this.#server.close();
  }

  async #admit(socket: net.Socket): Promise<void> {
    socket.on("error", () => undefined); // until the connection owns it
    // Without native calls there are no credentials to read: listen() refused credential rules then.
    let peer: Peer | undefined;
    try {
      if (canUse("unix.peerCredentials")) peer = peerCredentials(socketFd(socket), `accept on ${this.address}`);
    } catch {
      socket.destroy();
      return;
    }
    const reason = this.isClosed
      ? "the listener is closing"
      : !this.queue.hasRoom
        ? "the listener's backlog is full"
        : peer === undefined
          ? undefined
          : await refusal(peer, this.#options);
    if (reason !== undefined || this.isClosed) {
      this.#rejected(peer, reason ?? "the listener is closing");
      const busy = reason === undefined || !this.queue.hasRoom || this.isClosed;
      const status = this.#options?.handshake === false ? undefined : busy ? HandshakeStatus.Busy : HandshakeStatus.Refused;
      await refuse(socket, status, busy ? (reason ?? "") : "not authorized");
      return;
    }
    this.queue.push(this.#adopt(socket, peer));
  }

  /**
   * Takes the socket over (a duplicate fd, read with a FrameReader, so large messages are read in place)
   * and sends the "accepted" frame. Without native calls, frames the socket Node accepted as it is.
   */
  #adopt(socket: net.Socket, peer: Peer | undefined): Connection {
    if (!canUse("sockets.inPlaceReads")) {
      const connection = framed(socket, { ...this.#connection, peer, localAddress: this.address, remoteAddress: this.address });
      socket.resume(); // accepted paused (pauseOnConnect): 'data' listeners alone do not start it
      this.#accepted(connection);
      return connection;
    }
    const fd = duplicate(socketFd(socket), `accept on ${this.address}`);
    socket.destroy();
    const reader = new FrameReader({ maxMessageSize: this.#connection.maxMessageSize });
    let adopted: net.Socket;
    try {
      // `onread` is a documented Socket option that @types/node 20 only declares for net.connect().
      const settings = { fd, readable: true, writable: true, allowHalfOpen: true, onread: reader.onread };
      adopted = new net.Socket(settings as net.SocketConstructorOpts);
    } catch (error) {
      closeFd(fd);
      throw fromSystemError(error, `accept on ${this.address}`);
    }
    const connection = framed(adopted, { ...this.#connection, reader, peer, localAddress: this.address, remoteAddress: this.address });
    this.#accepted(connection);
    return connection;
  }

  /** Sends the "accepted" status frame, unless the listener speaks plain frames (`handshake: false`). */
  #accepted(connection: Connection): void {
    if (this.#options?.handshake === false) return;
    void connection.send(statusMessage(HandshakeStatus.Accepted)).catch(() => undefined);
  }

  #rejected(peer: Peer | undefined, reason: string): void {
    this.refused(reason, peer); // ipc:connection:refuse, which NODE_DEBUG=ipc prints
    const onReject = this.#options?.onReject;
    if (onReject === undefined || peer === undefined) return;
    try {
      onReject(peer, reason);
    } catch {
      // A throwing callback must not take the listener down.
    }
  }
}

/** Listens on an fd we bound (a `{ fd }` handle); closes it if Node cannot. */
function listenOn(server: net.Server, fd: number, backlog: number, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      closeFd(fd);
      reject(fromSystemError(error, `listen on ${url}`));
    };
    server.once("error", onError);
    server.listen({ fd }, backlog, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** True when `options` asks to admit clients by their credentials (which need native calls to read). */
function hasCredentialRules(options: UnixListenOptions | undefined): boolean {
  return options?.sameUser === true || options?.allowUids !== undefined || options?.allowGids !== undefined || options?.authorize !== undefined;
}

/**
 * Listens on a Unix socket: a `unix:` URL or path (the file is created with `mode`, 0600 by default, and
 * removed on close and at normal exit; a leftover file is replaced only if no server answers on it), or
 * a `unix-abstract:` name. Where native calls cannot be made, an abstract name or a credential rule
 * (`sameUser`, `allowUids`, `allowGids`, `authorize`) is an `UnsupportedError`, before anything is bound.
 */
export async function listen(target: UnixTarget, options?: UnixListenOptions): Promise<Listener> {
  const resolved = resolveTarget(target);
  resolveConnectionOptions(options);
  resolveHandshake(options);
  const backlog = resolveBacklog(options);
  const mode = options?.mode ?? 0o600;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new InvalidArgumentError(`mode must be permission bits such as 0o600, got ${String(mode)}`);
  }
  if (resolved.path === undefined) mustUse("unix.abstract");
  if (hasCredentialRules(options)) mustUse("unix.peerCredentials");
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  let file: OwnedFile | undefined;
  const path = resolved.path;
  const check = options?.checkDirectory ?? true;
  const what = `listen on ${resolved.url}`;
  if (path === undefined) {
    await listenOn(server, bindAbstract(resolved.name, resolved.url), backlog, resolved.url);
  } else if (canUse("unix.peerCredentials")) {
    await bindPath(path, check, what, async () => {
      const fd = bindNative(path, mode, resolved.url);
      try {
        await listenOn(server, fd, backlog, resolved.url);
      } catch (error) {
        unlinkSync(path); // bound by us a moment ago, under the bind lock: nobody else's
        throw error;
      }
    });
    file = own(path);
  } else {
    await bindPath(path, check, what, () => bindWithNode(server, path, mode, backlog, resolved.url));
    file = own(path);
  }
  return new UnixListener(server, resolved, file, options);
}
