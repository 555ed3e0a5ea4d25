import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  AbortError,
  AddressInUseError,
  ClosedError,
  ConnectionRefusedError,
  ConnectionResetError,
  FrameTooLargeError,
  InvalidAddressError,
  InvalidArgumentError,
  IPC_ERROR_CODES,
  IpcError,
  MessageTooLargeError,
  PeerRejectedError,
  PermissionDeniedError,
  ProtocolError,
  ResourceExhaustedError,
  SystemCallError,
  TimeoutError,
  UnsupportedError,
  fromSystemError,
  isIpcError,
  type IpcErrorCode,
} from "../src/index.js";

describe("error classes", () => {
  const cases: [IpcError, string, string][] = [
    [new TimeoutError("t", 5), "TimeoutError", "IPC_ERR_TIMEOUT"],
    [new AbortError("a"), "AbortError", "IPC_ERR_ABORTED"],
    [new ClosedError("c"), "ClosedError", "IPC_ERR_CLOSED"],
    [new ConnectionRefusedError("r"), "ConnectionRefusedError", "IPC_ERR_CONNECTION_REFUSED"],
    [new ConnectionResetError("r"), "ConnectionResetError", "IPC_ERR_CONNECTION_RESET"],
    [new AddressInUseError("u"), "AddressInUseError", "IPC_ERR_ADDRESS_IN_USE"],
    [new InvalidAddressError("i"), "InvalidAddressError", "IPC_ERR_INVALID_ADDRESS"],
    [new InvalidArgumentError("i"), "InvalidArgumentError", "IPC_ERR_INVALID_ARGUMENT"],
    [new FrameTooLargeError(10, 5), "FrameTooLargeError", "IPC_ERR_FRAME_TOO_LARGE"],
    [new MessageTooLargeError(10, 5), "MessageTooLargeError", "IPC_ERR_MESSAGE_TOO_LARGE"],
    [new ProtocolError("p"), "ProtocolError", "IPC_ERR_PROTOCOL"],
    [new PeerRejectedError("p"), "PeerRejectedError", "IPC_ERR_PEER_REJECTED"],
    [new PermissionDeniedError("p"), "PermissionDeniedError", "IPC_ERR_PERMISSION_DENIED"],
    [new ResourceExhaustedError("r"), "ResourceExhaustedError", "IPC_ERR_RESOURCE_EXHAUSTED"],
    [new SystemCallError("s", "rmdir", "ENOTEMPTY"), "SystemCallError", "IPC_ERR_SYSTEM_CALL"],
    [new UnsupportedError("u", "shared memory", "darwin-arm64"), "UnsupportedError", "IPC_ERR_UNSUPPORTED"],
  ];
  it.each(cases)("%s has the name of its class and a stable code", (error, name, code) => {
    expect(error).toBeInstanceOf(IpcError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.constructor.name).toBe(name);
    expect(error.code).toBe(code);
    expect(isIpcError(error)).toBe(true);
    expect(isIpcError(error, code as never)).toBe(true);
    expect(String(error)).toContain(name);
  });

  it("codes are unique, and every one is in IPC_ERROR_CODES", () => {
    expect(new Set(cases.map(([, , code]) => code)).size).toBe(cases.length);
    for (const [, , code] of cases) expect(IPC_ERROR_CODES).toContain(code);
    expect(new Set(IPC_ERROR_CODES).size).toBe(IPC_ERROR_CODES.length);
    for (const code of IPC_ERROR_CODES) expect(code).toMatch(/^IPC_ERR_[A-Z_]+$/);
  });

  it("isIpcError narrows to the code's type, for the codes of every package", () => {
    const error: unknown = new ClosedError("c");
    // Codes of other packages type-check here without importing them.
    const codes: IpcErrorCode[] = ["IPC_ERR_PEER_DIED", "IPC_ERR_PROCESS_EXIT", "IPC_ERR_INSECURE_DIRECTORY", "IPC_ERR_RPC"];
    for (const code of codes) expect(isIpcError(error, code)).toBe(false);
    if (isIpcError(error, "IPC_ERR_CLOSED")) {
      const code: "IPC_ERR_CLOSED" = error.code;
      expect(code).toBe("IPC_ERR_CLOSED");
    } else {
      expect.unreachable();
    }
  });

  it("an unsupported feature names the feature and the platform", () => {
    const error = new UnsupportedError("shared memory (shm://) is not available on darwin-arm64", "shared memory (shm://)", "darwin-arm64");
    expect(error.feature).toBe("shared memory (shm://)");
    expect(error.platform).toBe("darwin-arm64");
  });

  it("size errors say the size, the limit and what to do", () => {
    const frame = new FrameTooLargeError(20_000_000, 16_777_216);
    expect(frame.size).toBe(20_000_000);
    expect(frame.limit).toBe(16_777_216);
    expect(frame.message).toMatch(/20000000 bytes.*16777216.*raise maxMessageSize/);
    expect(new MessageTooLargeError(9, 8).message).toMatch(/9 bytes.*8 bytes/);
  });

  it("isIpcError rejects other errors and other codes", () => {
    expect(isIpcError(new Error("x"))).toBe(false);
    expect(isIpcError("IPC_ERR_TIMEOUT")).toBe(false);
    expect(isIpcError(new ClosedError("c"), "IPC_ERR_TIMEOUT")).toBe(false);
  });
});

describe("fromSystemError", () => {
  const system = (code: string): Error => Object.assign(new Error(`${code}: boom`), { code });

  it.each([
    ["ECONNREFUSED", "IPC_ERR_CONNECTION_REFUSED"],
    ["ENOENT", "IPC_ERR_CONNECTION_REFUSED"],
    ["EADDRINUSE", "IPC_ERR_ADDRESS_IN_USE"],
    ["EADDRNOTAVAIL", "IPC_ERR_INVALID_ADDRESS"],
    ["ENOTFOUND", "IPC_ERR_INVALID_ADDRESS"],
    ["EAI_AGAIN", "IPC_ERR_INVALID_ADDRESS"],
    ["EHOSTUNREACH", "IPC_ERR_CONNECTION_REFUSED"],
    ["ENETUNREACH", "IPC_ERR_CONNECTION_REFUSED"],
    ["EACCES", "IPC_ERR_PERMISSION_DENIED"],
    ["EPERM", "IPC_ERR_PERMISSION_DENIED"],
    ["ETIMEDOUT", "IPC_ERR_TIMEOUT"],
    ["ECONNRESET", "IPC_ERR_CONNECTION_RESET"],
    ["EPIPE", "IPC_ERR_CONNECTION_RESET"],
    ["ERR_STREAM_PREMATURE_CLOSE", "IPC_ERR_CONNECTION_RESET"],
  ])("maps %s to %s, keeping the OS error as cause and naming the operation", (errno, code) => {
    const cause = system(errno);
    const error = fromSystemError(cause, "connect to unix:///run/a.sock");
    expect(error.code).toBe(code);
    expect(error.cause).toBe(cause);
    expect(error.message).toContain("connect to unix:///run/a.sock");
    expect(error.message).toContain(errno);
  });

  it("returns a typed error unchanged", () => {
    const typed = new ProtocolError("p");
    expect(fromSystemError(typed, "x")).toBe(typed);
  });

  it("turns anything else into a ConnectionResetError", () => {
    expect(fromSystemError("weird", "read").code).toBe("IPC_ERR_CONNECTION_RESET");
    expect(fromSystemError(undefined, "read").code).toBe("IPC_ERR_CONNECTION_RESET");
  });
});

describe("fromSystemError: every errno a connect, bind, open or mmap can return", () => {
  const system = (code: string, syscall?: string): Error => Object.assign(new Error(`${code}: boom`), { code, ...(syscall === undefined ? {} : { syscall }) });

  it.each([
    ["EINVAL", "connect", "IPC_ERR_INVALID_ADDRESS"],
    ["EINVAL", "bind", "IPC_ERR_INVALID_ADDRESS"],
    ["EINVAL", "mmap", "IPC_ERR_INVALID_ARGUMENT"],
    ["EINVAL", "fcntl", "IPC_ERR_INVALID_ARGUMENT"],
    ["ENAMETOOLONG", "bind", "IPC_ERR_INVALID_ADDRESS"],
    ["ENOTDIR", "connect", "IPC_ERR_INVALID_ADDRESS"],
    ["ELOOP", "open", "IPC_ERR_INVALID_ADDRESS"],
    ["EAFNOSUPPORT", "connect", "IPC_ERR_INVALID_ADDRESS"],
    ["EPROTOTYPE", "connect", "IPC_ERR_INVALID_ADDRESS"],
    ["ENOTSOCK", "connect", "IPC_ERR_INVALID_ARGUMENT"],
    ["EBADF", "getsockopt", "IPC_ERR_INVALID_ARGUMENT"],
    ["EISCONN", "connect", "IPC_ERR_INVALID_ARGUMENT"],
    ["ENOENT", "connect", "IPC_ERR_CONNECTION_REFUSED"],
    ["ENOENT", "bind", "IPC_ERR_INVALID_ADDRESS"],
    ["ENOENT", "listen", "IPC_ERR_INVALID_ADDRESS"],
    ["EAGAIN", "connect", "IPC_ERR_CONNECTION_REFUSED"],
    ["EAGAIN", "fork", "IPC_ERR_RESOURCE_EXHAUSTED"],
    ["EMFILE", "socket", "IPC_ERR_RESOURCE_EXHAUSTED"],
    ["ENFILE", "shm_open", "IPC_ERR_RESOURCE_EXHAUSTED"],
    ["ENOMEM", "mmap", "IPC_ERR_RESOURCE_EXHAUSTED"],
    ["ENOBUFS", "socket", "IPC_ERR_RESOURCE_EXHAUSTED"],
    ["ENOSPC", "ftruncate", "IPC_ERR_RESOURCE_EXHAUSTED"],
    ["EEXIST", "mkfifo", "IPC_ERR_ADDRESS_IN_USE"],
    ["EROFS", "bind", "IPC_ERR_PERMISSION_DENIED"],
    ["ENOSYS", "futex", "IPC_ERR_UNSUPPORTED"],
    ["EOPNOTSUPP", "setsockopt", "IPC_ERR_UNSUPPORTED"],
    ["ECONNABORTED", "read", "IPC_ERR_CONNECTION_RESET"],
    ["ENOTCONN", "write", "IPC_ERR_CONNECTION_RESET"],
    ["EBUSY", "fcntl", "IPC_ERR_RESOURCE_EXHAUSTED"],
    ["ENOLCK", "flock", "IPC_ERR_RESOURCE_EXHAUSTED"],
    ["EINPROGRESS", "connect", "IPC_ERR_INVALID_ARGUMENT"],
    ["ENOPROTOOPT", "getsockopt", "IPC_ERR_INVALID_ARGUMENT"],
    ["EISDIR", "open", "IPC_ERR_INVALID_ADDRESS"],
    ["ENXIO", "open", "IPC_ERR_CONNECTION_REFUSED"],
    ["ENODEV", "mmap", "IPC_ERR_INVALID_ADDRESS"],
    ["EINTR", "connect", "IPC_ERR_SYSTEM_CALL"],
    ["EXDEV", "read", "IPC_ERR_CONNECTION_RESET"],
  ])("%s from %s() is %s, and the message names the call and the target", (errno, syscall, code) => {
    const cause = system(errno, syscall);
    const error = fromSystemError(cause, "connect to unix:///run/a.sock");
    expect(error.code).toBe(code);
    expect(error.cause).toBe(cause);
    expect(error.message).toContain("connect to unix:///run/a.sock");
    expect(error.message).toContain(`${errno} from ${syscall}()`);
  });

  it("a connect failing with EINVAL is not a broken connection (issue 16, point 9)", () => {
    const error = fromSystemError(system("EINVAL", "connect"), "connect to unix-abstract:x");
    expect(error).toBeInstanceOf(InvalidAddressError);
    expect(error.message).not.toMatch(/connection broke/);
  });

  it("an errno no rule covers, outside a connection's reads and writes, is a SystemCallError naming the call", () => {
    const error = fromSystemError(system("ENOTEMPTY", "rmdir"), "remove /run/app");
    expect(error).toBeInstanceOf(SystemCallError);
    expect(error).toMatchObject({ syscall: "rmdir", errno: "ENOTEMPTY" });
  });

  it("ENOSYS is an UnsupportedError naming the call", () => {
    const error = fromSystemError(system("ENOSYS", "futex"), "wait on a ring");
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as UnsupportedError).feature).toBe("futex()");
  });
});

describe("errors across two installed copies of @ipc/core", () => {
  // A second copy of the module that defines the classes, loaded from another path: what an application
  // gets when its own @ipc/core and a transport's @ipc/core are two installs (different versions, say).
  const directory = mkdtempSync(join(tmpdir(), "ipc-core-copy-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  const load = async (): Promise<typeof import("../src/errors.js")> => {
    const copy = join(directory, "errors.ts");
    copyFileSync(new URL("../src/errors.ts", import.meta.url), copy);
    return (await import(/* @vite-ignore */ pathToFileURL(copy).href)) as typeof import("../src/errors.js");
  };

  it("isIpcError and instanceof recognise the other copy's errors, by class", async () => {
    const other = await load();
    expect(other.TimeoutError).not.toBe(TimeoutError); // really two copies
    const theirs = new other.TimeoutError("t", 5);
    expect(isIpcError(theirs)).toBe(true);
    expect(isIpcError(theirs, "IPC_ERR_TIMEOUT")).toBe(true);
    expect(isIpcError(theirs, "IPC_ERR_CLOSED")).toBe(false);
    expect(theirs).toBeInstanceOf(IpcError);
    expect(theirs).toBeInstanceOf(TimeoutError);
    expect(theirs).not.toBeInstanceOf(ClosedError);
    // And the other way round.
    const ours = new ClosedError("c");
    expect(other.isIpcError(ours, "IPC_ERR_CLOSED")).toBe(true);
    expect(ours).toBeInstanceOf(other.IpcError);
    expect(ours).toBeInstanceOf(other.ClosedError);
    expect(ours).not.toBeInstanceOf(other.TimeoutError);
    // fromSystemError returns the other copy's typed errors as they are.
    expect(fromSystemError(theirs, "x")).toBe(theirs);
  });

  it("a subclass defined over the other copy is an instance of the classes it extends, and no other", async () => {
    const other = await load();
    class RefusedByPolicy extends other.PeerRejectedError {}
    const error = new RefusedByPolicy("no");
    expect(error).toBeInstanceOf(PeerRejectedError);
    expect(error).toBeInstanceOf(IpcError);
    expect(error).not.toBeInstanceOf(PermissionDeniedError);
    // A plain error of the other copy is not an instance of someone's subclass.
    expect(new other.PeerRejectedError("p")).not.toBeInstanceOf(RefusedByPolicy);
  });

  it("plain errors, and objects that only look like ours, are not IpcErrors", () => {
    expect(new Error("x")).not.toBeInstanceOf(IpcError);
    expect({ code: "IPC_ERR_TIMEOUT", name: "TimeoutError" }).not.toBeInstanceOf(TimeoutError);
    expect(isIpcError({ code: "IPC_ERR_TIMEOUT" })).toBe(false);
    expect(isIpcError(null)).toBe(false);
  });
});
