import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPipe, maxPipeCapacity, pipeCapacity, setPipeCapacity } from "../../src/index.js";
import { hasCapSysResource, tempDir } from "../helpers.js";

const dir = tempDir("capacity");

function withPipe(test: (readFd: number, writeFd: number) => void, capacity?: number): void {
  const { readFd, writeFd } = createPipe({ capacity });
  try {
    test(readFd, writeFd);
  } finally {
    closeSync(readFd);
    closeSync(writeFd);
  }
}

describe("pipe capacity", () => {
  it("createPipe() makes a real pipe with the system's default capacity, the same from both ends", () => {
    withPipe((readFd, writeFd) => {
      expect(pipeCapacity(writeFd)).toBe(65_536);
      expect(pipeCapacity(readFd)).toBe(65_536);
    });
  });

  it("setPipeCapacity() returns what the kernel gave: at least the bytes asked, in powers of two pages", () => {
    withPipe((readFd, writeFd) => {
      expect(setPipeCapacity(writeFd, 100_000)).toBe(131_072);
      expect(pipeCapacity(readFd)).toBe(131_072);
      expect(setPipeCapacity(readFd, maxPipeCapacity())).toBe(maxPipeCapacity());
    });
    withPipe((_readFd, writeFd) => expect(pipeCapacity(writeFd)).toBe(1024 * 1024), 1024 * 1024);
  });

  it("maxPipeCapacity() is /proc/sys/fs/pipe-max-size", () => {
    expect(maxPipeCapacity()).toBe(Number(readFileSync("/proc/sys/fs/pipe-max-size", "utf8")));
  });

  it.skipIf(hasCapSysResource())(
    `above pipe-max-size: PermissionDeniedError naming the limit${hasCapSysResource() ? " (skipped: this process has CAP_SYS_RESOURCE)" : ""}`,
    () => {
      withPipe((_readFd, writeFd) => {
        expect(() => setPipeCapacity(writeFd, maxPipeCapacity() * 2)).toThrowError(
          expect.objectContaining({
            code: "IPC_ERR_PERMISSION_DENIED",
            message: expect.stringMatching(/over \/proc\/sys\/fs\/pipe-max-size \(\d+ bytes\)/),
          }),
        );
        expect(pipeCapacity(writeFd)).toBe(65_536);
      });
      expect(() => createPipe({ capacity: maxPipeCapacity() * 2 })).toThrowError(expect.objectContaining({ code: "IPC_ERR_PERMISSION_DENIED" }));
    },
  );

  it("refuses what is not a pipe — a Unix socket (what Node's stdio 'pipe' is) or a file — with InvalidArgumentError", async () => {
    const file = join(dir, "file");
    writeFileSync(file, "");
    const fd = openSync(file, "r");
    try {
      expect(() => pipeCapacity(fd)).toThrowError(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    } finally {
      closeSync(fd);
    }
    const path = join(dir, "s.sock");
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const socket = net.connect(path);
    try {
      await new Promise((resolve) => socket.once("connect", resolve));
      const socketFd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
      expect(() => pipeCapacity(socketFd)).toThrowError(
        expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT", message: expect.stringMatching(/socketpair/) }),
      );
    } finally {
      socket.destroy();
      server.close();
    }
  });

  it("rejects bad numbers with InvalidArgumentError", () => {
    expect(() => pipeCapacity(-1)).toThrowError(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    withPipe((_readFd, writeFd) => {
      expect(() => setPipeCapacity(writeFd, 0)).toThrowError(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
      expect(() => setPipeCapacity(writeFd, 1.5)).toThrowError(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    });
  });
});
