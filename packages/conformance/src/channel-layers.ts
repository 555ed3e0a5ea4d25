/**
 * What the channel-layer cases use of @ipc/channels, described by shape. The suite depends on @ipc/core
 * only (a fix to it must never force a release of a transport or a layer), so a fixture passes the layers
 * in: `import * as channels from "@ipc/channels"` fits {@link ChannelLayers}.
 */
import type { Connection, Listener, WaitOptions } from "@ipc/core";

/** The channel layers the suite runs over a transport's connections (the module namespace of @ipc/channels). */
export interface ChannelLayers {
  publisher(listener: Listener, options?: { history?: number; policy?: "drop-oldest"; queueBytes?: number }): ChannelPublisher;
  subscribe(connection: Connection, options?: { topics?: readonly string[]; prefixes?: readonly string[]; history?: number }): Promise<ChannelSubscription>;
  reliable(
    connect: (options: { readonly signal: AbortSignal }) => Promise<Connection>,
    options?: { minReconnectDelay?: number; maxReconnectDelay?: number; timeout?: number },
  ): Promise<ChannelSession>;
  reliableListener(listener: Listener, options?: { maxBufferedBytes?: number }): ChannelSessionListener;
  mux(connection: Connection, options?: { window?: number }): ChannelMux;
}

/** A publisher (`publisher()` of @ipc/channels), as far as the suite looks at it. */
export interface ChannelPublisher {
  readonly stats: {
    readonly subscribers: number;
    readonly dropped: number;
    readonly perSubscriber: readonly { readonly topics: readonly string[]; readonly prefixes: readonly string[]; readonly queuedBytes: number }[];
  };
  publish(topic: string, message: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** A subscription (`subscribe()` of @ipc/channels). */
export interface ChannelSubscription {
  receive(options?: WaitOptions): Promise<{ readonly topic: string; readonly message: Uint8Array; readonly dropped: number } | undefined>;
}

/** A reliable session (`reliable()`, or accepted by `reliableListener()`). */
export interface ChannelSession extends Connection {
  readonly stats: { readonly received: number; readonly bufferedBytes: number };
}

/** A listener of reliable sessions (`reliableListener()`). */
export interface ChannelSessionListener {
  readonly address: string;
  accept(options?: WaitOptions): Promise<ChannelSession | undefined>;
  close(): Promise<void>;
}

/** A multiplexer (`mux()`), and its streams. */
export interface ChannelMux {
  open(name?: string): Promise<ChannelMuxStream>;
  accept(options?: WaitOptions): Promise<ChannelMuxStream | undefined>;
  abort(reason?: Error): void;
}

/** A stream of a {@link ChannelMux}. */
export interface ChannelMuxStream extends Connection {
  /** Bytes received and not yet read. */
  readonly bufferedBytes: number;
}
