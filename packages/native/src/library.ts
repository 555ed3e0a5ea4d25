/**
 * koffi and the C library, loaded once, on the first call that needs them (importing a package loads no
 * native code), and shared by every package: each declares its own C signatures with {@link declare}.
 */
import type * as Koffi from "koffi";
import { UnsupportedError } from "@ipc/core";
import { FEATURES, type NativeFeature } from "./features.js";
import { SWITCH, isSwitchedOff, noteCLibrary, platformName, platformProblem } from "./platform.js";
import { requireNative } from "./require-native.js";

/** koffi's module, for the types a package declares (structs, pointers, `out`/`inout`) and `view`. */
export type KoffiModule = typeof Koffi;
/** The C library, to declare functions on: `libc.func("int close(int fd)")`. */
export type Library = Koffi.LibraryHandle;

type Loaded = { readonly koffi: KoffiModule; readonly libc: Library } | { readonly problem: string; readonly cause?: unknown };

let loaded: Loaded | undefined;

function load(): Loaded {
  if (loaded !== undefined) return loaded;
  if (isSwitchedOff()) {
    loaded = { problem: `the native layer is switched off (${SWITCH}=off)` };
    return loaded;
  }
  const problem = platformProblem();
  if (problem !== undefined) {
    loaded = { problem };
    return loaded;
  }
  let koffi: KoffiModule;
  try {
    koffi = requireNative<KoffiModule>("koffi", import.meta.url); // see require-native.ts: a Node bug
  } catch (error) {
    loaded = {
      problem:
        `koffi could not be loaded (${(error as Error)?.message ?? String(error)}); reinstall the package ` +
        `(koffi ships prebuilt binaries), or set ${SWITCH}=off to run without native calls`,
      cause: error,
    };
    return loaded;
  }
  try {
    const libc = koffi.load("libc.so.6");
    // glibc's own answer; another C library (musl) has no libc.so.6, or not this function.
    const version = (libc.func("const char *gnu_get_libc_version()") as () => string)();
    noteCLibrary(`glibc ${version}`);
    loaded = { koffi, libc };
  } catch (error) {
    loaded = {
      problem:
        `the C library is not glibc (${(error as Error)?.message ?? String(error)}); @ipc's native calls need ` +
        `glibc's libc.so.6 today (musl is planned: docs/platforms.md)`,
      cause: error,
    };
  }
  return loaded;
}

/**
 * Why native calls cannot be made in this process (switched off, another platform, koffi missing), or
 * undefined when they can. The first question loads koffi and the C library.
 */
export function nativeProblem(): string | undefined {
  const state = load();
  return "problem" in state ? state.problem : undefined;
}

/** True when `feature` can be used in this process. The first question loads koffi. */
export function isSupported(feature: NativeFeature): boolean {
  void feature; // every feature needs the same today; the table in docs/platforms.md will tell them apart
  return nativeProblem() === undefined;
}

/** The `UnsupportedError` for `feature` here, or undefined when it is supported. */
export function unsupported(feature: NativeFeature): UnsupportedError | undefined {
  const state = load();
  if (!("problem" in state)) return undefined;
  const where = platformName();
  const options = state.cause === undefined ? undefined : { cause: state.cause };
  return new UnsupportedError(`${FEATURES[feature].description} is not available on ${where}: ${state.problem}`, feature, where, options);
}

/** Throws the `UnsupportedError` for `feature` unless it can be used here. */
export function requireFeature(feature: NativeFeature): void {
  const error = unsupported(feature);
  if (error !== undefined) throw error;
}

/** The loaded koffi module, or undefined when native calls cannot be made. Does not load it. */
export function loadedKoffi(): KoffiModule | undefined {
  return loaded !== undefined && "koffi" in loaded ? loaded.koffi : undefined;
}

/**
 * Declares a package's C functions on the shared C library, lazily. Returns a getter: `table(feature)`
 * throws `UnsupportedError` for `feature` where native calls cannot be made; otherwise the first call
 * loads koffi (once per process) and runs `build` (once per declaration), and every call returns the
 * same table.
 *
 * ```ts
 * const sys = declare((libc) => ({
 *   close: libc.func("int close(int fd)") as (fd: number) => number,
 * }));
 * if (sys("shm").close(fd) !== 0) throw failure("close", `close shared memory '${name}'`);
 * ```
 */
export function declare<T>(build: (libc: Library, koffi: KoffiModule) => T): (feature: NativeFeature) => T {
  let table: T | undefined;
  return (feature) => {
    if (table !== undefined) return table;
    const state = load();
    if ("problem" in state) throw unsupported(feature)!;
    table = build(state.libc, state.koffi);
    return table;
  };
}
