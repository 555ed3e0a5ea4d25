/**
 * The options of {@link connect} and {@link listen}, typed per scheme: `connect("tcp://…", { tls })`
 * type-checks, `connect("unix://…", { tls })` does not.
 */
import type { ConnectOptions, ListenOptions, Scheme } from "@ipc/core";
import type { FifoListenOptions, SpawnChannelOptions } from "@ipc/pipe";
import type { ShmConnectOptions, ShmListenOptions } from "@ipc/shm";
import type { TcpConnectOptions, TcpListenOptions } from "@ipc/tcp";
import type { UnixConnectOptions, UnixListenOptions } from "@ipc/unix";
import type { DebugOptions } from "./debug.js";

/** The options `connect()` takes for each scheme (each transport's own; see its README). */
export interface ConnectOptionsByScheme {
  readonly unix: UnixConnectOptions;
  readonly "unix-abstract": UnixConnectOptions;
  readonly tcp: TcpConnectOptions;
  readonly shm: ShmConnectOptions;
  readonly fifo: ConnectOptions;
  readonly pipe: SpawnChannelOptions;
  readonly memory: ConnectOptions;
}

/** The options `listen()` takes for each scheme (each transport's own; see its README). */
export interface ListenOptionsByScheme {
  readonly unix: UnixListenOptions;
  readonly "unix-abstract": UnixListenOptions;
  readonly tcp: TcpListenOptions;
  readonly shm: ShmListenOptions;
  readonly fifo: FifoListenOptions;
  readonly pipe: ListenOptions;
  readonly memory: ListenOptions;
}

/** The scheme of a URL known at compile time (`"tcp"` for `"tcp://…"`); `never` for a plain `string`. */
export type SchemeOf<U extends string> = U extends `${infer S}:${string}` ? (S extends Scheme ? S : never) : never;

/** `connect()`'s options for URL type `U`: its scheme's, or any scheme's when the URL is only a `string`. */
export type KitConnectOptions<U extends string> = ([SchemeOf<U>] extends [never] ? ConnectOptionsByScheme[Scheme] : ConnectOptionsByScheme[SchemeOf<U>]) &
  DebugOptions;

/** `listen()`'s options for URL type `U`: its scheme's, or any scheme's when the URL is only a `string`. */
export type KitListenOptions<U extends string> = ([SchemeOf<U>] extends [never] ? ListenOptionsByScheme[Scheme] : ListenOptionsByScheme[SchemeOf<U>]) &
  DebugOptions;
