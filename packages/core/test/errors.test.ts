import { describe, expect, it } from "vitest";
import {
  AbortError,
  AddressInUseError,
  ClosedError,
  ConnectionRefusedError,
  ConnectionResetError,
  FrameTooLargeError,
  InvalidAddressError,
  InvalidArgumentError,
  IpcError,
  MessageTooLargeError,
  PeerRejectedError,
  PermissionDeniedError,
  ProtocolError,
  TimeoutError,
  fromSystemError,
  isIpcError,
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

  it("codes are unique", () => {
    expect(new Set(cases.map(([, , code]) => code)).size).toBe(cases.length);
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
