import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { InvalidAddressError, InvalidArgumentError, SystemCallError, UnsupportedError, isIpcError } from "@ipc/core";
import { describe, expect, it } from "vitest";
import {
  FEATURES,
  declare,
  errnoName,
  failure,
  isSupported,
  isSwitchedOff,
  nativeSupport,
  osError,
  requireFeature,
  unsupported,
  type NativeFeature,
  type NativeSupport,
} from "../src/index.js";

const run = promisify(execFile);
const fixture = fileURLToPath(new URL("./fixtures/support.mjs", import.meta.url));

/** This run's mode: the "native-off" test project sets IPC_NATIVE=off; the package's own project does not. */
const off = isSwitchedOff();
/** The platforms the native calls support today. */
const supportedPlatform = process.platform === "linux" && (process.arch === "x64" || process.arch === "arm64");
const features = Object.keys(FEATURES) as NativeFeature[];

describe("the support table", () => {
  it("lists every feature with its package, its calls, and what the packages do without it", () => {
    const support = nativeSupport();
    expect(support.features.map((f) => f.feature)).toEqual(features);
    for (const f of support.features) {
      expect(f.description).not.toBe("");
      expect(f.packageName).toMatch(/^@ipc\//);
      expect(f.calls.length).toBeGreaterThan(0);
      expect(f.without).not.toBe("");
      expect(f.supported).toBe(isSupported(f.feature));
    }
    expect(support.platform).toMatch(new RegExp(`^${process.platform}-${process.arch}`));
  });

  it.runIf(!off && supportedPlatform)("here, with the layer on: every feature is available and koffi loads", () => {
    const support: NativeSupport = nativeSupport();
    expect(support).toMatchObject({ available: true, switchedOff: false, reason: undefined });
    expect(support.koffiVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(support.features.every((f) => f.supported && f.reason === undefined)).toBe(true);
    for (const feature of features) expect(() => requireFeature(feature)).not.toThrow();
  });

  it.runIf(off)("with IPC_NATIVE=off: no feature is available, each says why, and koffi is not loaded", () => {
    const support = nativeSupport();
    expect(support).toMatchObject({ available: false, switchedOff: true, koffiVersion: undefined });
    expect(support.reason).toMatch(/IPC_NATIVE=off/);
    for (const f of support.features) expect(f).toMatchObject({ supported: false, reason: support.reason });
  });
});

describe("UnsupportedError, one per feature", () => {
  it.runIf(off)("requireFeature throws it for every feature, naming the feature and the platform", () => {
    for (const feature of features) {
      let error: unknown;
      try {
        requireFeature(feature);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UnsupportedError);
      expect(isIpcError(error, "IPC_ERR_UNSUPPORTED")).toBe(true);
      const unsupportedError = error as UnsupportedError;
      expect(unsupportedError.feature).toBe(feature);
      expect(unsupportedError.platform).toBe(nativeSupport().platform);
      expect(unsupportedError.message).toContain(FEATURES[feature].description);
      expect(unsupportedError.message).toContain(nativeSupport().platform);
      expect(unsupportedError.message).toMatch(/IPC_NATIVE=off/);
    }
  });

  it.runIf(off)("a declared table is never built: asking for it is the feature's UnsupportedError", () => {
    const table = declare(() => {
      throw new Error("must not be built");
    });
    expect(() => table("shm")).toThrow(expect.objectContaining({ code: "IPC_ERR_UNSUPPORTED", feature: "shm" }));
  });

  it.runIf(!off && supportedPlatform)("with the layer on, there is none", () => {
    for (const feature of features) expect(unsupported(feature)).toBeUndefined();
  });
});

describe.runIf(!off && supportedPlatform)("declare() and the one errno convention", () => {
  const sys = declare((libc) => ({
    getpid: libc.func("int getpid()") as () => number,
    socket: libc.func("int socket(int domain, int type, int protocol)") as (domain: number, type: number, protocol: number) => number,
    connect: libc.func("int connect(int fd, const void *address, uint32_t length)") as (fd: number, address: Buffer, length: number) => number,
    close: libc.func("int close(int fd)") as (fd: number) => number,
    rmdir: libc.func("int rmdir(const char *path)") as (path: string) => number,
  }));

  it("a declared function runs on the shared C library, and the table is built once", () => {
    expect(sys("shm").getpid()).toBe(process.pid);
    expect(sys("unix.abstract")).toBe(sys("shm"));
  });

  it("a connect failing with EINVAL is an InvalidAddressError naming the call and the target, not a broken connection", () => {
    const c = sys("unix.abstract");
    const fd = c.socket(1 /* AF_UNIX */, 1 /* SOCK_STREAM */, 0);
    expect(fd).toBeGreaterThanOrEqual(0);
    const address = Buffer.alloc(200); // longer than any struct sockaddr_un: EINVAL
    address.writeUInt16LE(1, 0);
    expect(c.connect(fd, address, address.length)).toBe(-1);
    const error = failure("connect", "connect to unix-abstract:too-long"); // errno first: close() would overwrite it
    c.close(fd);
    expect(error).toBeInstanceOf(InvalidAddressError);
    expect(error.message).toMatch(/^connect to unix-abstract:too-long: .*\(EINVAL from connect\(\)\)$/);
    expect(error.message).not.toMatch(/connection broke/);
    expect(error.cause).toMatchObject({ code: "EINVAL", errno: 22, syscall: "connect" });
  });

  it("errno is kept positive and named from the OS table", () => {
    expect(sys("shm").close(-1)).toBe(-1);
    const error = osError("close");
    expect(error).toMatchObject({ code: "EBADF", errno: 9, syscall: "close" });
    expect(errnoName(2)).toBe("ENOENT");
    expect(errnoName(11)).toBe("EAGAIN"); // not its alias EWOULDBLOCK
    expect(errnoName(99_999)).toBe("errno 99999");
  });

  it("an errno the map has no rule for is a SystemCallError naming the call, with the OS error as cause", () => {
    const directory = mkdtempSync(join(tmpdir(), "ipc-native-"));
    try {
      writeFileSync(join(directory, "file"), "");
      expect(sys("shm").rmdir(directory)).toBe(-1);
      const error = failure("rmdir", `remove ${directory}`);
      expect(error).toBeInstanceOf(SystemCallError);
      expect(error).toMatchObject({ syscall: "rmdir", errno: "ENOTEMPTY", code: "IPC_ERR_SYSTEM_CALL" });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("a call with its option in parentheses keeps it in the message, and the map still knows the call", () => {
    expect(sys("shm").close(-1)).toBe(-1);
    const error = failure("close(twice)", "close fd -1");
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toContain("(EBADF from close(twice))");
  });
});

describe.runIf(supportedPlatform)("the IPC_NATIVE switch, in a real process (needs the package built)", () => {
  async function report(env: NodeJS.ProcessEnv): Promise<{
    first: NativeSupport;
    switchedOffLater: boolean;
    error?: { name: string; code: string; feature: string; platform: string; message: string };
    koffiLoaded: boolean;
  }> {
    const { stdout } = await run(process.execPath, [fixture], { env: { ...process.env, ...env }, timeout: 30_000 });
    return JSON.parse(stdout) as never;
  }

  it("IPC_NATIVE=off switches every feature off, read once, without loading koffi", async () => {
    const result = await report({ IPC_NATIVE: "off" });
    expect(result.first.available).toBe(false);
    expect(result.switchedOffLater).toBe(true);
    expect(result.koffiLoaded).toBe(false);
    expect(result.error).toMatchObject({ name: "UnsupportedError", code: "IPC_ERR_UNSUPPORTED", feature: "shm" });
    expect(result.error?.message).toMatch(/^shared memory: .* is not available on linux-.*: the native layer is switched off \(IPC_NATIVE=off\)$/);
  });

  it("without it (or with another value), the layer is on and stays on", async () => {
    for (const value of [undefined, "on", "auto"]) {
      const result = await report({ IPC_NATIVE: value });
      expect(result.first.available).toBe(true);
      expect(result.switchedOffLater).toBe(false);
      expect(result.error).toBeUndefined();
      expect(result.koffiLoaded).toBe(true);
    }
  });
});
