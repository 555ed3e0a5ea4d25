/**
 * The one native layer of @ipc: the system calls Node lacks, made through koffi, for @ipc/unix, @ipc/tcp,
 * @ipc/pipe and @ipc/shm (for package authors; applications need only {@link nativeSupport}).
 *
 * - {@link declare}: a package declares its own C signatures on the shared C library; koffi and libc are
 *   loaded once per process, on the first call that needs them (importing a package loads no native code).
 * - One errno convention: {@link failure} / {@link osError} read errno right after the failed call, keep
 *   it positive, name it from the OS's table, and turn it into the typed error of @ipc/core's
 *   `fromSystemError` (the one errno → error map), with the OS-style error as `cause`.
 * - {@link requireFeature} / {@link isSupported} / {@link unsupported}: every feature that needs native calls
 *   fails with one `UnsupportedError` (`IPC_ERR_UNSUPPORTED`) naming the feature and the platform, on a
 *   platform without these calls (anything but Linux x86-64/arm64 with glibc today) and when the
 *   environment switches the layer off with `IPC_NATIVE=off` (read once).
 * - {@link nativeSupport}: the table of features → supported / why not, as `ipc doctor` prints it.
 *
 * @packageDocumentation
 */
export { FEATURES, type FeatureInfo, type NativeFeature } from "./features.js";
export {
  declare,
  isSupported,
  nativeProblem,
  requireFeature,
  unsupported,
  type KoffiModule,
  type Library,
} from "./library.js";
export { errnoName, failure, lastErrno, osError, type OsError } from "./errno.js";
export { isSwitchedOff, platformName } from "./platform.js";
export { SWITCH, nativeSupport, type FeatureSupport, type NativeSupport } from "./support.js";
