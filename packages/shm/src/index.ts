/**
 * Shared memory for @ipc: the fastest way for two processes on one machine to exchange data.
 *
 * - {@link SharedMemory}: named segments (0600, O_EXCL, a self-describing header), safe to close.
 * - {@link list} / {@link removeStale}: find this toolkit's segments, remove those left by dead processes.
 * - {@link struct} / {@link array}: C-compatible layouts with typed accessors, atomics and `toC()`.
 * - {@link Mutex}: a robust futex mutex in shared memory; {@link SeqLock}: consistent snapshots for readers.
 * - {@link MessageRing}: a lock-free single-producer single-consumer ring of messages across processes.
 * - {@link listen} / {@link connect} (`shm://name`): the shared-memory transport — the core `Connection`
 *   over two rings per connection, with a Unix socket for meeting, waking and noticing a dead peer; its
 *   {@link ShmConnection} adds `receiveView()`, the opt-in zero-copy receive.
 *
 * @packageDocumentation
 */
export { SharedMemory, checkName, type CreateOptions, type OpenOptions } from "./segment.js";
export { HEADER_SIZE, SegmentKind, type SegmentHeader, type SegmentKindCode } from "./header.js";
export { AlreadyExistsError, NotFoundError, PeerDiedError, ViewHeldError, ViewReleasedError } from "./errors.js";
export { list, removeStale, type SegmentInfo } from "./registry.js";
export {
  StructLayout,
  array,
  struct,
  type ArrayField,
  type AtomicField,
  type FieldType,
  type Fields,
  type IntegerScalar,
  type Scalar,
  type StructValue,
  type StructView,
  type ValueOf,
} from "./layout.js";
export { Mutex, type LockSyncOptions, type MutexGuard } from "./mutex.js";
export { SeqLock, type SeqReadOptions } from "./seqlock.js";
export { FutexDoorbell, MessageRing, RING_HEADER, ringSize, type Doorbell, type RingWaitOptions } from "./ring.js";
export { DEFAULT_RING_CAPACITY, DEFAULT_SPIN, connect, listen, shmTransport } from "./transport/transport.js";
export { ShmConnection } from "./transport/connection.js";
/** The view `ShmConnection.receiveView()` lends: the contract's `MessageView` (@ipc/core). */
export type { MessageView as ShmMessageView } from "@ipc/core";
/** The batch `ShmConnection.receiveViews()` lends: the contract's `MessageBatchView` (@ipc/core). */
export type { MessageBatchView as ShmBatchView } from "@ipc/core";
export type { ShmConnectOptions, ShmListenOptions } from "./transport/options.js";
