import { IPC_ERROR_CODES, IpcError, isIpcError } from "@ipc/core";
import { describe, expect, it } from "vitest";
import { SessionLostError, SlowSubscriberError, StreamRefusedError } from "../src/index.js";

describe("the errors of the channel layers", () => {
  const cases: [IpcError, string, string][] = [
    [new SessionLostError("l", []), "SessionLostError", "IPC_ERR_SESSION_LOST"],
    [new StreamRefusedError("r"), "StreamRefusedError", "IPC_ERR_STREAM_REFUSED"],
    [new SlowSubscriberError("s"), "SlowSubscriberError", "IPC_ERR_SLOW_SUBSCRIBER"],
  ];
  it.each(cases)("%s has the name of its class and a stable code, listed by @ipc/core", (error, name, code) => {
    expect(error).toBeInstanceOf(IpcError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.constructor.name).toBe(name);
    expect(error.code).toBe(code);
    expect(IPC_ERROR_CODES).toContain(code);
    expect(isIpcError(error)).toBe(true);
    expect(isIpcError(error, code as never)).toBe(true);
    expect(String(error)).toContain(name);
  });
});
