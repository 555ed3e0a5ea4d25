/**
 * What connect() and listen() of @ipc/unix report when the system refuses them (issue 16.9): every failure
 * these tests can cause for real — on the file system and with sockets, as root or as a user a child process
 * drops to — is the accurate typed error naming the errno and the call, never a ConnectionResetError ("the
 * connection broke"). The errnos that cannot be caused here are checked on @ipc/core's map itself
 * (packages/core/test/errno-connect-bind.test.ts).
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Connection, Listener } from "@ipc/core";
import { declare, isSupported } from "@ipc/native";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, listen } from "../src/index.js";

const run = promisify(execFile);
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

let dir: string;
const open: (Listener | Connection)[] = [];
const keep = <T extends Listener | Connection>(thing: T): T => (open.push(thing), thing);
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ipc-unix-errors-"));
});
afterEach(async () => {
  for (const thing of open.splice(0)) {
    if ("abort" in thing) thing.abort();
    else await thing.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The rejection of `promise`, which must reject. */
async function failure(promise: Promise<unknown>): Promise<{ code: string; name: string; message: string; cause?: { code?: string; syscall?: string } }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; name: string; message: string };
  }
  throw new Error("expected a rejection");
}

/** Asserts the typed error of an OS failure: its code, the errno and call in the message, and no "connection broke". */
function expectTyped(error: Awaited<ReturnType<typeof failure>>, code: string, errno: string, syscall: RegExp): void {
  expect(error.code).toBe(code);
  expect(error.message).toContain(errno);
  expect(error.message).not.toMatch(/connection broke/);
  expect(error.cause).toMatchObject({ code: errno, syscall: expect.stringMatching(syscall) });
}

describe("connect() failures are typed by what the system said", () => {
  it("a path through a regular file (ENOTDIR) is an InvalidAddressError", async () => {
    writeFileSync(join(dir, "file"), "");
    expectTyped(await failure(connect(join(dir, "file", "s.sock"), { timeout: 10_000 })), "IPC_ERR_INVALID_ADDRESS", "ENOTDIR", /^connect$/);
  });

  it("a path through a loop of symbolic links (ELOOP) is an InvalidAddressError", async () => {
    symlinkSync(join(dir, "b"), join(dir, "a"));
    symlinkSync(join(dir, "a"), join(dir, "b"));
    expectTyped(await failure(connect(join(dir, "a", "s.sock"), { timeout: 10_000 })), "IPC_ERR_INVALID_ADDRESS", "ELOOP", /^connect$/);
  });

  it("a missing socket file (ENOENT) and a directory or a regular file in its place (ECONNREFUSED) are ConnectionRefusedErrors", async () => {
    expectTyped(await failure(connect(join(dir, "missing.sock"), { timeout: 10_000 })), "IPC_ERR_CONNECTION_REFUSED", "ENOENT", /^connect$/);
    mkdirSync(join(dir, "directory"));
    expectTyped(await failure(connect(join(dir, "directory"), { timeout: 10_000 })), "IPC_ERR_CONNECTION_REFUSED", "ECONNREFUSED", /^connect$/);
    writeFileSync(join(dir, "file"), "");
    expectTyped(await failure(connect(join(dir, "file"), { timeout: 10_000 })), "IPC_ERR_CONNECTION_REFUSED", "ECONNREFUSED", /^connect$/);
  });

  it.runIf(isSupported("unix.peerCredentials"))("a datagram socket at the path (EPROTOTYPE) is an InvalidAddressError", async () => {
    const path = join(dir, "datagram.sock");
    const fd = bindDatagram(path);
    try {
      expectTyped(await failure(connect(path, { timeout: 10_000 })), "IPC_ERR_INVALID_ADDRESS", "EPROTOTYPE", /^connect$/);
    } finally {
      closeDatagram(fd);
    }
  });

  it("a path or an abstract name over the limit is an InvalidAddressError before any system call", async () => {
    await expect(connect(join(dir, "x".repeat(120)))).rejects.toMatchObject({
      code: "IPC_ERR_INVALID_ADDRESS",
      message: expect.stringMatching(/over the Linux limit of 107/),
    });
    await expect(connect(`unix-abstract:${"x".repeat(120)}`)).rejects.toMatchObject({
      code: "IPC_ERR_INVALID_ADDRESS",
      message: expect.stringMatching(/over the limit of 107/),
    });
  });

  it.runIf(process.getuid?.() === 0)("a socket whose mode forbids this user (EACCES) is a PermissionDeniedError, in a child that drops to nobody", async () => {
    const path = join(dir, "private.sock");
    chmodSync(dir, 0o755); // nobody may reach the socket, not write it
    keep(await listen(path)); // 0600, root's
    const { stdout } = await run(process.execPath, [join(fixtures, "client-as.mjs"), "65534", path], { timeout: 60_000 });
    const report = JSON.parse(stdout) as { code?: string; message?: string };
    expect(report.code).toBe("IPC_ERR_PERMISSION_DENIED");
    expect(report.message).toMatch(/EACCES from connect\(\)/);
  });
});

describe("listen() failures are typed by what the system said", () => {
  it("a path through a regular file (ENOTDIR) is an InvalidAddressError", async () => {
    writeFileSync(join(dir, "file"), "");
    const error = await failure(listen(join(dir, "file", "s.sock"), { checkDirectory: false }));
    expect(error.code).toBe("IPC_ERR_INVALID_ADDRESS");
    expect(error.message).toMatch(/ENOTDIR from \w+\(\)/);
  });

  it("a path through a loop of symbolic links (ELOOP) is an InvalidAddressError", async () => {
    symlinkSync(join(dir, "b"), join(dir, "a"));
    symlinkSync(join(dir, "a"), join(dir, "b"));
    const error = await failure(listen(join(dir, "a", "s.sock"), { checkDirectory: false }));
    expect(error.code).toBe("IPC_ERR_INVALID_ADDRESS");
    expect(error.message).toMatch(/ELOOP from \w+\(\)/);
  });

  it("a directory that does not exist is an InvalidAddressError naming it", async () => {
    await expect(listen(join(dir, "missing", "s.sock"))).rejects.toMatchObject({
      code: "IPC_ERR_INVALID_ADDRESS",
      message: expect.stringMatching(/its directory .*missing does not exist/),
    });
  });

  it("a directory in the socket's place (EADDRINUSE, not a socket) is an AddressInUseError that leaves it alone", async () => {
    mkdirSync(join(dir, "taken"));
    await expect(listen(join(dir, "taken"))).rejects.toMatchObject({ code: "IPC_ERR_ADDRESS_IN_USE", message: expect.stringMatching(/is not a socket/) });
  });

  it.runIf(process.getuid?.() === 0)(
    "a directory this user may not write to (EACCES) is a PermissionDeniedError, in a child that drops to nobody",
    async () => {
      chmodSync(dir, 0o755);
      const { stdout } = await run(process.execPath, [join(fixtures, "listen-as.mjs"), "65534", join(dir, "s.sock")], { timeout: 60_000 });
      const report = JSON.parse(stdout) as { code?: string; message?: string };
      expect(report.code).toBe("IPC_ERR_PERMISSION_DENIED");
      expect(report.message).toMatch(/EACCES from \w+\(\)/);
    },
  );
});

// A SOCK_DGRAM socket bound at a path, which node:net cannot make: the EPROTOTYPE case above.
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const datagram = declare((libc) => ({
  socket: libc.func("int socket(int domain, int type, int protocol)") as (domain: number, type: number, protocol: number) => number,
  bind: libc.func("int bind(int fd, const void *address, uint32_t length)") as (fd: number, address: Buffer, length: number) => number,
  close: libc.func("int close(int fd)") as (fd: number) => number,
}));

function bindDatagram(path: string): number {
  const c = datagram("unix.peerCredentials");
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const address = Buffer.alloc(110);
  address.writeUInt16LE(AF_UNIX, 0);
  const length = 2 + address.write(path, 2, "utf8") + 1;
  if (fd < 0 || c.bind(fd, address, length) !== 0) throw new Error(`could not bind a datagram socket at ${path}`);
  return fd;
}

function closeDatagram(fd: number): void {
  datagram("unix.peerCredentials").close(fd);
}
