import type { ConnectOptions, ListenOptions, Peer } from "@ipc/core";

/** Options of {@link listen}. */
export interface UnixListenOptions extends ListenOptions {
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
export interface UnixConnectOptions extends ConnectOptions {}
