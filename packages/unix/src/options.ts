import type { ConnectOptions, ListenOptions, Peer } from "@ipc/core";
import type { FramedOptions } from "@ipc/framing";

/** Options of {@link listen}. */
export interface UnixListenOptions extends ListenOptions, Pick<FramedOptions, "frameTimeout"> {
  /**
   * Start every accepted connection with the status frame (docs/wire.md §2.1). `false`: plain
   * length-prefixed frames from the first byte, both ways, for clients that are not @ipc (and @ipc clients
   * that connect with `handshake: false`); a client turned away (credentials, backlog) then sees the
   * connection end, without a reason. Default: `true`.
   */
  readonly handshake?: boolean | undefined;
  /**
   * Permission bits of the socket file, applied before it is bound, so it never exists with wider ones.
   * Only processes that may write the file can connect. Ignored for abstract names. Default: `0o600`.
   */
  readonly mode?: number | undefined;
  /**
   * Refuse to bind in a directory that every user may write to without the sticky bit (anyone could
   * replace the socket there). Default: `true`.
   */
  readonly checkDirectory?: boolean | undefined;
  /**
   * Decides, from the client's credentials and before any byte of it is read, whether to accept it. A
   * refused client gets `PeerRejectedError` from `connect()`. Runs after the shorthands below. Default:
   * accept everyone who can reach the socket.
   */
  readonly authorize?: ((peer: Peer) => boolean | Promise<boolean>) | undefined;
  /** Accept only these user ids. Default: any. */
  readonly allowUids?: readonly number[] | undefined;
  /** Accept only these group ids. Default: any. */
  readonly allowGids?: readonly number[] | undefined;
  /** Accept only processes of this process's user. Default: `false`. */
  readonly sameUser?: boolean | undefined;
  /**
   * Called for every client turned away (not authorized, or the backlog is full), with the reason.
   * Without native calls there are no credentials to pass: clients turned away are only logged. Default: a
   * line in the debug log (`NODE_DEBUG=ipc`).
   */
  readonly onReject?: ((peer: Peer, reason: string) => void) | undefined;
}

/** Options of {@link connect}. `timeout` and `signal` bound the connect and the server's answer together. */
export interface UnixConnectOptions extends ConnectOptions, Pick<FramedOptions, "frameTimeout"> {
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
}
