/**
 * `@ipc/core/transport`: the pieces every @ipc connection and listener is built from, for transport and
 * layer authors. A transport is "its I/O + these pieces", so its semantics match every other transport's;
 * prove it with @ipc/conformance. Applications never need this entry point.
 *
 * - {@link ConnectionBase}, {@link ListenerBase}: the shared rules of every connection and listener (what
 *   `send()` refuses and with which error, close/abort/`closed`, `await using`), written once; a transport
 *   supplies its I/O through their protected hooks.
 * - {@link Inbox}: the receiving queue of a connection, with byte accounting, pause/resume callbacks and an
 *   `onTake` hook for layers that acknowledge or grant credit as messages are taken.
 * - {@link LentView}: the {@link MessageView} a connection's `receiveView()` lends (release once, misuse detected).
 * - {@link AcceptQueue}: a listener's backlog between its source of connections and `accept()`.
 * - {@link queueSend}, {@link queueSendBatch}: the queue of sends (and whole batches) waiting for room, for
 *   connections that do their own backpressure.
 * - {@link checkedBatchBounds}: the bounds of a `receiveBatch()`, for connections that read without an inbox.
 * - {@link Deferred}, {@link noop}, {@link settledOf}: the promise helpers behind every `closed`.
 * - {@link publishConnect}, {@link publishRefuse}, {@link publishProtocolError}, {@link publishRpcCallStart} /
 *   {@link publishRpcCallEnd}: the diagnostics events a transport or layer publishes itself (`ConnectionBase` and
 *   `ListenerBase` publish close, accept and protocol errors); each costs one check when nobody subscribes.
 * - {@link resolveConnectionOptions}, {@link resolveBacklog}: the documented defaults and range checks of the
 *   options every transport takes.
 *
 * @packageDocumentation
 */
export { ConnectionBase, checkedBatchBounds } from "./transport/connection-base.js";
export { ListenerBase } from "./transport/listener-base.js";
export { Inbox, type InboxOptions } from "./inbox.js";
export { LentBatch, LentView } from "./transport/message-view.js";
export { AcceptQueue } from "./accept-queue.js";
export { queueSend, queueSendBatch, removeItem, type PendingSend } from "./send-queue.js";
export { Deferred, noop, settledOf } from "./deferred.js";
export { resolveBacklog, resolveConnectionOptions, type ResolvedConnectionOptions } from "./options.js";
export {
  closeReasonOf,
  publishBackpressure,
  publishConnect,
  publishProtocolError,
  publishRefuse,
  publishRpcCallEnd,
  publishRpcCallStart,
} from "./diagnostics-publish.js";
