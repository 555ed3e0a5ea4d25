/** What this platform supports: the table `ipc doctor` prints. */
import { FEATURES, type NativeFeature } from "./features.js";
import { loadedKoffi, nativeProblem } from "./library.js";
import { SWITCH, isSwitchedOff, platformName } from "./platform.js";

/** One feature's support on this platform. */
export interface FeatureSupport {
  /** The feature's id, as `UnsupportedError.feature` names it. */
  readonly feature: NativeFeature;
  /** The feature, in the user's words. */
  readonly description: string;
  /** The package that provides it. */
  readonly packageName: string;
  /** The system calls behind it, on Linux. */
  readonly calls: readonly string[];
  /** True when it can be used in this process. */
  readonly supported: boolean;
  /** Why not, when it is not supported. */
  readonly reason: string | undefined;
  /** What the packages do without it: the fallback, or the error. */
  readonly without: string;
}

/** The native layer in this process, and every feature's support. */
export interface NativeSupport {
  /** This platform, e.g. `linux-x64 (glibc 2.36)`. */
  readonly platform: string;
  /** True when native calls can be made (koffi and the C library loaded). */
  readonly available: boolean;
  /** True when the environment switched the native layer off (`IPC_NATIVE=off`). */
  readonly switchedOff: boolean;
  /** Why native calls cannot be made, when they cannot. */
  readonly reason: string | undefined;
  /** The version of koffi in use, when it loaded. */
  readonly koffiVersion: string | undefined;
  /** Every feature, in a stable order. */
  readonly features: readonly FeatureSupport[];
}

/**
 * What this platform supports, feature by feature. Loads koffi and the C library if they are not loaded
 * yet (that is the check), unless the native layer is switched off or the platform is not supported.
 */
export function nativeSupport(): NativeSupport {
  const reason = nativeProblem();
  const features = (Object.keys(FEATURES) as NativeFeature[]).map((feature): FeatureSupport => {
    const info = FEATURES[feature];
    return {
      feature,
      description: info.description,
      packageName: info.packageName,
      calls: info.calls,
      supported: reason === undefined,
      reason,
      without: info.without,
    };
  });
  return {
    platform: platformName(),
    available: reason === undefined,
    switchedOff: isSwitchedOff(),
    reason,
    koffiVersion: loadedKoffi()?.version,
    features,
  };
}

export { SWITCH };
