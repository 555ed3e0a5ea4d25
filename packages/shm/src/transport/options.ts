import type { ConnectOptions, ListenOptions, Peer } from "@ipc/core";

/** Options of the shm transport's `listen()`. */
export interface ShmListenOptions extends ListenOptions {
  /**
   * Bytes of each of a connection's two rings (rounded up to a power of two, at least 4 KiB). Messages
   * longer than half a ring travel in chunks. Default: 1 MiB (`DEFAULT_RING_CAPACITY`), 2 MiB of
   * /dev/shm per connection.
   */
  readonly ringCapacity?: number | undefined;
  /**
   * Microseconds a waiting side spins before it sleeps. Default: 50 (`DEFAULT_SPIN`, chosen by measurement),
   * adaptively: a side whose last 4
   * spins ended in sleep anyway stops spinning except on a random 1 in 16 waits, where it spins 8 times
   * as long (see MessageRing).
   */
  readonly spin?: number | undefined;
  /** Permission bits of the connection segments. Default: `0o600`. */
  readonly mode?: number | undefined;
  /**
   * Who may connect, decided on the rendezvous socket's credentials before anything else happens.
   * Default: `sameUser: true` (segments are 0600: another user could not map them anyway).
   */
  readonly sameUser?: boolean | undefined;
  readonly allowUids?: readonly number[] | undefined;
  readonly allowGids?: readonly number[] | undefined;
  readonly authorize?: ((peer: Peer) => boolean | Promise<boolean>) | undefined;
  readonly onReject?: ((peer: Peer, reason: string) => void) | undefined;
}

/** Options of the shm transport's `connect()`. */
export interface ShmConnectOptions extends ConnectOptions {
  /** Microseconds a waiting side spins before it sleeps. Default: 50, adaptively (see ShmListenOptions.spin). */
  readonly spin?: number | undefined;
}
