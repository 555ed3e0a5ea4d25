/**
 * @ipc beyond one machine, on NATS: @ipc/rpc services over NATS request/reply with queue groups, @ipc
 * pub/sub on NATS subjects, durable channels on JetStream, and local-first routing.
 *
 * - {@link serveNats} / {@link createNatsClient}: any @ipc/rpc service, served by N processes in a queue
 *   group, called with the same methods and options as over a socket.
 *
 * The subjects, headers and payloads are specified in docs/wire.md §9.
 *
 * @packageDocumentation
 */
export { createNatsClient, type NatsClient, type NatsClientHandle, type NatsClientStats } from "./rpc/client.js";
export { serveNats, type NatsServer, type NatsServerStats } from "./rpc/server.js";
export { DEFAULT_NATS_STREAM_WINDOW, type NatsClientOptions, type NatsServeOptions } from "./rpc/options.js";
export { DEFAULT_RPC_PREFIX } from "./rpc/wire.js";
export { natsPublisher, type NatsPublisher, type NatsPublisherOptions, type NatsPublisherStats } from "./pubsub/publisher.js";
export {
  natsSubscribe,
  type NatsPublication,
  type NatsSlowSubscriberPolicy,
  type NatsSubscribeOptions,
  type NatsSubscriberStats,
  type NatsSubscription,
} from "./pubsub/subscriber.js";
export { bridgeTopics, type BridgeOptions, type PublicationSource, type PublicationTarget } from "./pubsub/bridge.js";
export {
  durableChannel,
  type DurableChannel,
  type DurableChannelOptions,
  type DurableChannelStats,
  type DurableMessage,
} from "./durable/channel.js";
export { serveLocalFirst, type LocalFirstServeOptions, type LocalFirstServer } from "./local/serve.js";
export {
  connectService,
  type ConnectServiceOptions,
  type ServiceClient,
  type ServiceClientHandle,
  type ServiceRoute,
} from "./local/connect.js";
export { LOCAL_PREFERENCE, localHostId, type Announcement } from "./local/announce.js";
