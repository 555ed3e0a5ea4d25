/**
 * Layers over any @ipc connection (any transport, the memory transport, or another layer):
 *
 * - {@link messageChannel}: the typed `ipc.IpcMessage` envelope of @ipc/core's `proto/ipc.proto` (text,
 *   binary, command, data, ack) over a connection.
 * - {@link reliable} / {@link reliableListener}: sessions that survive reconnects, delivering exactly once and
 *   in order while both processes live, and failing with {@link SessionLostError} (listing what the peer did
 *   not acknowledge) when they cannot.
 * - {@link mux}: many streams over one connection, each paced by its own credit window.
 * - {@link publisher} / {@link subscribe}: topics, bounded per-subscriber queues with a slow-subscriber
 *   policy, history for late joiners.
 *
 * Sessions and mux streams pack the small messages of one burst into one frame (a `Batch`). The bytes of
 * every layer are in docs/wire.md §8.
 *
 * @packageDocumentation
 */
export {
  decodeChannelMessage,
  encodeChannelMessage,
  messageChannel,
  type ChannelMessage,
  type MessageChannel,
} from "./channel.js";
export { reliable, type Connect } from "./reliable/client.js";
export { reliableListener, type ReliableListener } from "./reliable/listener.js";
export { SessionLostError, type UnacknowledgedMessage } from "./reliable/errors.js";
export type { ReliableListenerOptions, ReliableOptions, SessionOptions } from "./reliable/options.js";
export type { ReliableSession, SessionState, SessionStats } from "./reliable/session.js";
export { mux, type Mux, type MuxStats } from "./mux/mux.js";
export { StreamRefusedError } from "./mux/errors.js";
export type { MuxOptions } from "./mux/options.js";
export type { MuxStream } from "./mux/stream.js";
export { publisher, type Publisher, type PublisherStats } from "./pubsub/publisher.js";
export { subscribe, type Publication, type SubscribeOptions, type Subscription } from "./pubsub/subscriber.js";
export { SlowSubscriberError } from "./pubsub/errors.js";
export type { PublisherOptions, SlowSubscriberPolicy } from "./pubsub/options.js";
export type { SubscriberStats } from "./pubsub/outbox.js";
