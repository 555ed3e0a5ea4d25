/**
 * `@ipc/rpc/carrier`: a carrier's kit — what a package that carries @ipc/rpc services over another wire
 * than an @ipc Connection (as @ipc/nats carries them over NATS request/reply) needs besides the public API,
 * so that its calls behave exactly as @ipc/rpc's: the per-call flow control of docs/wire.md §7.5, the
 * deadline helpers of §7.4, the method descriptions, and the metadata limits of §7.2. Applications never need
 * it; like `@ipc/core/transport`, it is a documented entry point, versioned with the package.
 *
 * @packageDocumentation
 */
export { EventLoopTurns, InboundStream, SendCredit, STREAM_TURN, costOf } from "./flow.js";
export { closeSignal, deadlineOf, setDeadlineTimer, timeoutMsUntil, waitOrAbort } from "./deadline.js";
export { methodInfo, type AnyMethod } from "./method.js";
export { messageOf } from "./status.js";
export { MAX_METADATA_BYTES, MAX_METADATA_ENTRIES } from "./wire.js";
