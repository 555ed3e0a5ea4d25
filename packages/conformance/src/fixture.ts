import type { Connection, ConnectOptions, ListenOptions, Listener } from "@ipc/core";
import type { Duplex } from "node:stream";
import type { ChannelLayers } from "./channel-layers.js";

/** What a transport supplies to run the suite. */
export interface ConformanceFixture {
  /** Names the suite in the report, e.g. `"unix"`. */
  readonly name: string;
  /** A fresh, unused listener address; called once or more per test. May create temp dirs. */
  address(): string | Promise<string>;
  listen(address: string, options?: ListenOptions): Promise<Listener>;
  connect(address: string, options?: ConnectOptions): Promise<Connection>;
  /** Runs after each test, pass or fail, after the suite closed what it opened. */
  teardown?(): void | Promise<void>;
  readonly capabilities: ConformanceCapabilities;
  /**
   * The channel layers to run over this transport's connections: `import * as channels from "@ipc/channels"`.
   * The suite takes them from the caller because it depends on @ipc/core only. Absent: the channel-layer
   * cases are skipped, by name.
   */
  readonly channels?: ChannelLayers | undefined;
}

/** What the transport can do. A case whose capability is missing is skipped, by name, with the reason. */
export interface ConformanceCapabilities {
  /**
   * `peer` is filled in on both ends: for a client in this process, `{ pid: process.pid, uid, gid }` of
   * this process; for a child-process client, its pid.
   */
  readonly peerCredentials: boolean;
  /**
   * Upper bound, in bytes, of what a sender can get accepted while the receiver reads nothing: both ends'
   * high-water marks plus whatever the OS buffers in between. Default: 16 MiB.
   */
  readonly maxBufferedBytes?: number | undefined;
  /**
   * A module a child process can `import()` to reach this transport: it must export
   * `connect(address, options)` like the fixture's, and may export `connectRaw(address)` returning a
   * Node `Duplex` over the transport's byte stream (for the "dies mid-frame" case). Absent: the
   * cross-process cases are skipped.
   */
  readonly crossProcess?: { readonly module: string } | undefined;
  /**
   * Opens a raw byte stream to a listener, bypassing the framing, to send oversize and truncated
   * frames. Absent: those cases are skipped (the transport has no byte stream).
   */
  readonly rawConnect?: ((address: string) => Promise<Duplex>) | undefined;
  /**
   * An address where `connect()` neither succeeds nor fails until its timeout (a listener that never
   * answers). Absent: the connect-timeout case is skipped.
   */
  readonly unresponsiveAddress?: (() => Promise<{ address: string; close(): Promise<void> }>) | undefined;
  /**
   * The transport is a socket a python3 client can open from the address (`unix://`, `unix-abstract:`,
   * `tcp://`): the suite's client written from docs/wire.md alone (python/wire_client.py) then exchanges
   * messages with it; `handshake` says whether the server sends the status frame first. Absent: skipped.
   */
  readonly pythonClient?: { readonly handshake: boolean } | undefined;
  /**
   * The connections offer `receiveView()`, the opt-in zero-copy receive (`isViewConnection()` is true on both
   * ends): the view cases run. Default: false — they are skipped by name, and one case checks that
   * `isViewConnection()` is false indeed.
   */
  readonly views?: boolean | undefined;
  /**
   * After `close()`, this end still receives what the peer sends until the peer closes too (half-close).
   * Default: true. (Node's TLS stops reading once it has sent close_notify.)
   */
  readonly halfClose?: boolean | undefined;
}
