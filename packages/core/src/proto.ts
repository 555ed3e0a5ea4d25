/**
 * `@ipc/core/proto`: the shared protobuf schemas of @ipc (`proto/ipc.proto`, the `ipc.IpcMessage` envelope
 * of docs/wire.md §3) as the code protobufjs generates from them, the `ipc` namespace. This is the only
 * module of @ipc/core that loads protobufjs: the contract (`@ipc/core`) and the transports never do, and
 * the layers that put messages in the envelope (@ipc/channels) import it.
 *
 * @packageDocumentation
 */
export { ipc } from "./gen/ipc.js";
