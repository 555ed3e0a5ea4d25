/**
 * The @ipc umbrella: one import for every transport.
 *
 * - {@link connect} / {@link listen}: any address URL — `unix:`, `unix-abstract:`, `tcp:` (TLS through
 *   options), `shm:`, `fifo:`, `pipe:`, `memory:` — with each transport's own options, typed by scheme.
 * - {@link choose}: which transport to use for given needs, with the reasons and the numbers behind them.
 * - Debug logging: `NODE_DEBUG=ipc`, or a `logger` option; nothing at all when off.
 * - Each package's public API: under its own name (`unix`, `tcp`, `shm`, `pipe`, `framing`, `rpc`, `channels`),
 *   and the core contract, errors and address helpers, the channel layers and `nativeSupport()` at the top
 *   level. No package's internals (nothing of `@ipc/core/transport`).
 *
 * A library only: the `ipc` command (bench, serve, send, call, trace, shm, doctor, choose) is @ipc/cli.
 *
 * Importing it loads no native code: koffi is loaded by the first transport call that needs it.
 *
 * @packageDocumentation
 */
export { connect, type ConnectionOf } from "./connect.js";
export { listen } from "./listen.js";
export type { ConnectOptionsByScheme, KitConnectOptions, KitListenOptions, ListenOptionsByScheme, SchemeOf } from "./options.js";
export { SCHEME_DESCRIPTIONS, transports } from "./schemes.js";
export { choose, LARGE_MESSAGE, SHM_MARGIN, type ChooseOptions, type Choice, type ChoiceScheme, type Needs } from "./choose.js";
export { REFERENCE_MEASUREMENTS, measurementsFrom, type Measurements, type SchemeNumbers, type SizeNumbers } from "./measurements.js";
export { formatDebugEvent, type DebugEvent, type DebugLogger, type DebugOptions } from "./debug.js";

export * as framing from "@ipc/framing";
export * as unix from "@ipc/unix";
export * as tcp from "@ipc/tcp";
export * as shm from "@ipc/shm";
export * as pipe from "@ipc/pipe";
export * as rpc from "@ipc/rpc";
export * as channels from "@ipc/channels";
export * from "@ipc/core";
export { ipc } from "@ipc/core/proto";
export * from "@ipc/channels";
export { nativeSupport, type FeatureSupport, type NativeFeature, type NativeSupport } from "@ipc/native";
