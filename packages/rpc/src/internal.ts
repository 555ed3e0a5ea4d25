/**
 * What a sibling package that carries @ipc/rpc services over another wire (@ipc/nats) needs besides the
 * public API: the per-call flow control, the deadline helpers, and the limits of docs/wire.md §7. Not for
 * applications: nothing here is covered by semver beyond the @ipc packages of the same release.
 *
 * @packageDocumentation
 */
export { EventLoopTurns, InboundStream, SendCredit, STREAM_TURN, costOf } from "./flow.js";
export { closeSignal, deadlineOf, setDeadlineTimer, timeoutMsUntil, waitOrAbort } from "./deadline.js";
export { methodInfo, type AnyMethod } from "./method.js";
export { messageOf } from "./status.js";
export { MAX_METADATA_BYTES, MAX_METADATA_ENTRIES } from "./wire.js";
