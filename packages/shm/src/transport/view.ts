/**
 * The zero-copy receives of the shm transport (`ShmConnection.receiveView()` / `receiveViews()`,
 * packages/shm/README.md): messages lent as views of the receiving ring itself, until released. The view
 * classes are @ipc/core's (`LentView`, `LentBatch`); `release()` gives the ring space back to the sender.
 */
import type { MessageBatchView, MessageView } from "@ipc/core";

export { LentBatch as MessageBatchView, LentView as MessageView } from "@ipc/core/transport";

/**
 * A message received without a copy: the contract's `MessageView` (@ipc/core), where `bytes` is a view of
 * the connection's receiving ring, valid until `release()`. Until then the sender cannot reuse that space,
 * and the connection lends no other message (`ViewHeldError`); a reference to `bytes` kept past `release()`
 * cannot be checked — it sees whatever the sender writes there next (copy what you keep: `view.bytes.slice()`).
 */
export type ShmMessageView = MessageView;

/**
 * Messages received without a copy, all at once (`ShmConnection.receiveViews()`): the contract's
 * `MessageBatchView` (@ipc/core), where `bytes` is a view of the connection's receiving ring and `release()`
 * gives all their space back to the sender at once.
 */
export type ShmBatchView = MessageBatchView;
