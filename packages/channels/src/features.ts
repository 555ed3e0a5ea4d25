/**
 * Optional wire features a side announces (docs/wire.md §8.2.2 `Hello.features`/`Welcome.features`, §8.3
 * `MuxOpen.features`/`MuxAccept.features`). A side uses a feature only on a connection (or stream) where the
 * peer announced it, so a peer that knows none of them sees the bytes it always saw.
 */

/** Bit 0: this side reads runs — `DataRun` (docs/wire.md §8.2.3) and `MuxDataRun` (§8.3). */
export const FEATURE_RUNS = 1;

/** The features this version of @ipc/channels announces. */
export const LOCAL_FEATURES = FEATURE_RUNS;

/**
 * An option key, not exported from the package: the features a session or mux announces instead of
 * {@link LOCAL_FEATURES}. The tests set it to 0 to play a peer from before the features existed.
 */
export const wireFeatures: unique symbol = Symbol("@ipc/channels wire features");

/** The features to announce, from options that may carry {@link wireFeatures}. */
export function featuresOf(options: object | undefined): number {
  const value = (options as { [wireFeatures]?: unknown } | undefined)?.[wireFeatures];
  return typeof value === "number" ? value : LOCAL_FEATURES;
}
