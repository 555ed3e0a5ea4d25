/**
 * Where this process runs, and whether the native layer may be used here at all: the platform check and the
 * `IPC_NATIVE` switch, each read once. Nothing here loads native code.
 */

/** The environment variable that switches the native layer off: `IPC_NATIVE=off`. */
export const SWITCH = "IPC_NATIVE";

/** What the native calls support today: Linux with glibc, on these CPUs. */
const ARCHITECTURES = new Set(["x64", "arm64"]);

interface Platform {
  /** `linux-x64 (glibc 2.36)`, `linux-arm64 (musl)`, `darwin-arm64`, `win32-x64`. */
  readonly name: string;
  /** Why the native calls cannot run here, or undefined when they can. */
  readonly problem: string | undefined;
}

let platform: Platform | undefined;

/** The C library of a Linux process: glibc's version, or undefined for another libc (musl). */
function glibcVersion(): string | undefined {
  // The diagnostic report's header names the glibc the process runs on (about 5 ms, once).
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime;
}

function detect(): Platform {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== "linux") {
    return {
      name: base,
      problem:
        "@ipc's native calls support Linux on x86-64 and arm64 (glibc) today; docs/platforms.md plans " +
        "macOS and Windows call by call",
    };
  }
  const glibc = glibcVersion();
  const name = `${base} (${glibc === undefined ? "not glibc" : `glibc ${glibc}`})`;
  if (!ARCHITECTURES.has(process.arch)) {
    return { name, problem: `@ipc's native calls support Linux on x86-64 and arm64 today, not ${process.arch}` };
  }
  if (glibc === undefined) {
    return { name, problem: "@ipc's native calls need glibc (libc.so.6); this C library (musl?) is not supported yet" };
  }
  return { name, problem: undefined };
}

/** This platform, as errors and `ipc doctor` name it, e.g. `linux-x64 (glibc 2.36)`. */
export function platformName(): string {
  platform ??= detect();
  return platform.name;
}

/** Why the native calls cannot run on this platform, or undefined when they can. */
export function platformProblem(): string | undefined {
  platform ??= detect();
  return platform.problem;
}

let switchedOff: boolean | undefined;

/**
 * True when the environment says `IPC_NATIVE=off` (any case). Read once, on the first question: setting
 * the variable later in the process changes nothing.
 */
export function isSwitchedOff(): boolean {
  switchedOff ??= process.env[SWITCH]?.trim().toLowerCase() === "off";
  return switchedOff;
}
