/**
 * Where this process runs, and whether the native layer may be used here at all: the platform check and the
 * `IPC_NATIVE` switch, each read once. Nothing here loads native code.
 */

/** The environment variable that switches the native layer off: `IPC_NATIVE=off`. */
export const SWITCH = "IPC_NATIVE";

/** What the native calls support today: Linux with glibc, on these CPUs. */
const ARCHITECTURES = new Set(["x64", "arm64"]);

let problem: string | null | undefined;
/** The C library, once the native layer has loaded it: `glibc 2.36`. */
let cLibrary: string | undefined;

/** Records the C library the native layer loaded, for {@link platformName}. */
export function noteCLibrary(name: string): void {
  cLibrary = name;
}

/**
 * This platform, as errors and `ipc doctor` name it: `linux-x64 (glibc 2.36)` once the C library is loaded
 * (it is asked for its version), `linux-x64`, `darwin-arm64`, `win32-x64`.
 */
export function platformName(): string {
  const base = `${process.platform}-${process.arch}`;
  return cLibrary === undefined ? base : `${base} (${cLibrary})`;
}

/**
 * Why the native calls cannot run on this operating system and CPU, or undefined when they may (whether the
 * C library is glibc is known only once it is loaded). Not `process.report`: a report lists the process's
 * sockets, and can wait on DNS lookups of their addresses.
 */
export function platformProblem(): string | undefined {
  if (problem === undefined) {
    if (process.platform !== "linux") {
      problem = "@ipc's native calls support Linux on x86-64 and arm64 (glibc) today; docs/platforms.md plans " + "macOS and Windows call by call";
    } else if (!ARCHITECTURES.has(process.arch)) {
      problem = `@ipc's native calls support Linux on x86-64 and arm64 today, not ${process.arch}`;
    } else {
      problem = null;
    }
  }
  return problem ?? undefined;
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
