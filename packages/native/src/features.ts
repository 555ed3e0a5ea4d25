/**
 * The features of the @ipc packages that need native calls, what each needs, and what the packages do
 * without it. One table, so that every package fails the same way and `ipc doctor` lists the same things
 * that docs/platforms.md describes.
 */

/** A feature that needs native calls. */
export type NativeFeature =
  | "unix.peerCredentials"
  | "unix.abstract"
  | "sockets.inPlaceReads"
  | "tcp.bufferSizes"
  | "pipe.capacity"
  | "pipe.stdio"
  | "fifo"
  | "shm";

/** What a feature is, the calls it makes on Linux, and what the packages do where they are missing. */
export interface FeatureInfo {
  /** The feature, in the user's words (used in error messages). */
  readonly description: string;
  /** The package that provides it. */
  readonly packageName: string;
  /** The system calls behind it, on Linux. */
  readonly calls: readonly string[];
  /** What happens without native calls: the fallback, or the error. */
  readonly without: string;
}

/** Every feature, in the order `ipc doctor` lists them. */
export const FEATURES: { readonly [feature in NativeFeature]: FeatureInfo } = {
  "unix.peerCredentials": {
    description: "peer credentials of Unix socket connections (peer, sameUser, allowUids, allowGids, authorize)",
    packageName: "@ipc/unix",
    calls: ["getsockopt(SO_PEERCRED)", "flock (the lock while a stale socket file is replaced)"],
    without:
      "connection.peer is undefined; listen() with sameUser, allowUids, allowGids or authorize fails with UnsupportedError; " +
      "a stale socket file is replaced under a lock file holding the owner's pid instead of flock",
  },
  "unix.abstract": {
    description: "Unix sockets in the abstract namespace (unix-abstract:)",
    packageName: "@ipc/unix",
    calls: ["socket", "bind", "connect"],
    without: "listen() and connect() on unix-abstract: fail with UnsupportedError; socket files (unix:) work through node:net",
  },
  "sockets.inPlaceReads": {
    description: "accepted Unix and TCP connections reading large messages straight into their own arrays",
    packageName: "@ipc/unix, @ipc/tcp",
    calls: ["fcntl(F_DUPFD_CLOEXEC)"],
    without: "accepted connections read through Node's 'data' events (one more copy per large message)",
  },
  "tcp.bufferSizes": {
    description: "TCP socket buffer sizes (sendBufferSize, receiveBufferSize) and reading them back (connection.socket)",
    packageName: "@ipc/tcp",
    calls: ["setsockopt(SO_SNDBUF, SO_RCVBUF)", "getsockopt(SO_SNDBUF, SO_RCVBUF, TCP_NODELAY, SO_KEEPALIVE)"],
    without:
      "sendBufferSize / receiveBufferSize fail with UnsupportedError; connection.socket reports noDelay and keepAlive as set, " + "and undefined buffer sizes",
  },
  "pipe.capacity": {
    description: "real pipes and their capacity (createPipe, pipeCapacity, setPipeCapacity, the pipeCapacity option)",
    packageName: "@ipc/pipe",
    calls: ["pipe2", "fcntl(F_GETPIPE_SZ, F_SETPIPE_SZ)"],
    without: "fails with UnsupportedError; pipeline stages are connected by socket pairs instead of pipes",
  },
  "pipe.stdio": {
    description: "a child's stdio as socket pairs made directly, and parentChannel() moving the channel off fds 0 and 1",
    packageName: "@ipc/pipe",
    calls: ["socketpair", "dup2", "fcntl(F_DUPFD_CLOEXEC)"],
    without:
      "each stdio stream is a Unix socket pair made through node:net in a private directory; parentChannel() uses fds 0 " +
      "and 1 as they are (anything else the child writes to stdout corrupts the channel: log to stderr)",
  },
  fifo: {
    description: "FIFOs: mkfifo() and the fifo: transport",
    packageName: "@ipc/pipe",
    calls: ["mkfifo", "flock"],
    without: "mkfifo() and fifo: fail with UnsupportedError; openFifoReader() / openFifoWriter() on existing FIFOs work",
  },
  shm: {
    description: "shared memory: segments, mutexes, rings and the shm:// transport",
    packageName: "@ipc/shm",
    calls: ["shm_open", "shm_unlink", "ftruncate", "mmap", "munmap", "futex", "gettid"],
    without: "fails with UnsupportedError",
  },
};
