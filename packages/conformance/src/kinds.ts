/**
 * The kinds of Connection a case can run on: the transport's own, and the channel layers' mux streams and
 * reliable sessions over it (when the fixture passes the layers in). The shared rules and the batch cases run
 * on every kind, so a layer that implements `Connection` proves the same contract as the transport beneath it.
 */
import type { Connection, ConnectionOptions } from "@ipc/core";
import type { ChannelLayers } from "./channel-layers.js";
import type { ConformanceFixture } from "./fixture.js";
import { listen, pair, type Context } from "./harness.js";

/** The end under test (`a`) and its peer (`b`). */
export interface Ends {
  readonly a: Connection;
  readonly b: Connection;
}

/** A connection of one kind: the transport's own, or a layer's over it. */
export interface Kind {
  readonly name: string;
  /** Why the kind cannot run here, if it cannot. */
  readonly missing?: string | undefined;
  /** True for the transport's own connections (`options` then apply to `a` and `b` themselves). */
  readonly transport: boolean;
  /**
   * A connected pair, released after the test. `options` go to the transport's listener and client (a
   * layer's connections derive their `maxMessageSize` from them, less the layer's own overhead).
   */
  make(c: Context, options?: ConnectionOptions): Promise<Ends>;
}

const WAIT = { timeout: 10_000 };

/** The kinds of connection of `fixture`: the transport's, a mux stream, a reliable session. */
export function kinds(fixture: ConformanceFixture): Kind[] {
  const missing = fixture.channels === undefined ? "no channel layers given (fixture.channels)" : undefined;
  // Only called when the layers were given: the kinds are skipped otherwise.
  const layers = (): ChannelLayers => fixture.channels!;
  return [
    {
      name: "a transport connection",
      transport: true,
      make: async (c, options) => {
        const { client, server } = await pair(c, options);
        return { a: client, b: server };
      },
    },
    {
      name: "a mux stream",
      missing,
      transport: false,
      make: async (c, options) => {
        const { client, server } = await pair(c, options);
        const left = layers().mux(client);
        const right = layers().mux(server);
        c.resources.cleanup(() => (left.abort(), right.abort()));
        const [a, b] = await Promise.all([left.open("rules"), right.accept(WAIT)]);
        return { a: c.resources.connection(a), b: c.resources.connection(b!) };
      },
    },
    {
      name: "a reliable session",
      missing,
      transport: false,
      make: async (c, options) => {
        const listener = layers().reliableListener(await listen(c, options));
        c.resources.cleanup(() => listener.close());
        const a = await layers().reliable(({ signal }) => c.fixture.connect(listener.address, { signal, ...options, ...WAIT }), WAIT);
        c.resources.connection(a);
        return { a, b: c.resources.connection((await listener.accept(WAIT))!) };
      },
    },
  ];
}
