/**
 * @ipc/shm with the native layer switched off (IPC_NATIVE=off), as on a platform without its system calls.
 * Runs in the "native-off" test project only (see the root vitest.config.ts): shared memory needs native
 * calls, so every entry point fails with UnsupportedError naming the feature "shm", before any other work.
 */
import { isSwitchedOff } from "@ipc/native";
import { describe, expect, it } from "vitest";
import { SharedMemory, connect, listen, shmTransport } from "../src/index.js";

const unsupported = {
  code: "IPC_ERR_UNSUPPORTED",
  name: "UnsupportedError",
  feature: "shm",
  message: expect.stringMatching(/^shared memory: .* is not available on .*IPC_NATIVE=off/),
};

describe.runIf(isSwitchedOff())("@ipc/shm without native calls", () => {
  it("segments: create and open fail with UnsupportedError", () => {
    expect(() => SharedMemory.create({ name: `ipc-off-${process.pid}`, size: 64 })).toThrow(expect.objectContaining(unsupported));
    expect(() => SharedMemory.open(`ipc-off-${process.pid}`)).toThrow(expect.objectContaining(unsupported));
  });

  it("the shm:// transport: connect and listen reject with UnsupportedError naming shm (not the rendezvous socket)", async () => {
    await expect(connect(`shm://ipc-off-${process.pid}`, { timeout: 1000 })).rejects.toMatchObject(unsupported);
    await expect(listen(`shm://ipc-off-${process.pid}`)).rejects.toMatchObject(unsupported);
    await expect(shmTransport.connect(`shm://ipc-off-${process.pid}`)).rejects.toMatchObject(unsupported);
  });
});
