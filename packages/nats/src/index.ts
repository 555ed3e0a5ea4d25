/**
 * @ipc beyond one machine, on NATS: @ipc/rpc services over NATS request/reply with queue groups, @ipc
 * pub/sub on NATS subjects, durable channels on JetStream, and local-first routing.
 *
 * The subjects, headers and payloads are specified in docs/wire.md §9.
 *
 * @packageDocumentation
 */
export {};
