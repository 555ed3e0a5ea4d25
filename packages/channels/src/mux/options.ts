import { featuresOf } from "../features.js";
import { integerOption } from "../reliable/options.js";

/** Options of `mux()`. */
export interface MuxOptions {
  /**
   * Bytes each stream may receive before its application reads them (each message counts its length,
   * at least 1): the credit its sender starts with and gets back as messages are read. Default: 256 KiB
   * (262 144).
   */
  readonly window?: number | undefined;
  /** Streams open at once, both directions together; opens beyond are refused. Default: 256. */
  readonly maxStreams?: number | undefined;
  /** Streams the peer opened that wait for `accept()`; opens beyond are refused. Default: 64. */
  readonly backlog?: number | undefined;
}

export interface ResolvedMuxOptions {
  readonly window: number;
  /** The wire features this side announces (`../features.ts`; not a public option). */
  readonly features: number;
  readonly maxStreams: number;
  readonly backlog: number;
}

export function resolveMuxOptions(options: MuxOptions | undefined): ResolvedMuxOptions {
  return {
    window: integerOption("window", options?.window, 256 * 1024, 1, 2 ** 31 - 1),
    maxStreams: integerOption("maxStreams", options?.maxStreams, 256, 1, 1 << 20),
    backlog: integerOption("backlog", options?.backlog, 64, 1, 65_535),
    features: featuresOf(options),
  };
}
