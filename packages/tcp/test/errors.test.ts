/**
 * What connect() and listen() of @ipc/tcp report when the system refuses them (issue 16.9): every failure
 * these tests can cause for real on loopback (nothing leaves the machine: the kernel refuses each before a
 * packet is sent) is the accurate typed error naming the errno and the call, never a ConnectionResetError
 * ("the connection broke"). The errnos that cannot be caused here are checked on @ipc/core's map itself
 * (packages/core/test/errno-connect-bind.test.ts).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Listener } from "@ipc/core";
import { freePort } from "@ipc/testing";
import { afterEach, describe, expect, it } from "vitest";
import { connect, listen } from "../src/index.js";

const run = promisify(execFile);
/** Ports below this need privileges (Linux's net.ipv4.ip_unprivileged_port_start; 1024 by default). */
const privilegedBelow = (() => {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8"));
  } catch {
    return 0;
  }
})();
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

const open: Listener[] = [];
const keep = (listener: Listener): Listener => (open.push(listener), listener);
afterEach(async () => {
  for (const listener of open.splice(0)) await listener.close();
});

/** The rejection of `promise`, which must reject. */
async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string; cause?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error("expected a rejection");
}

/** Asserts the typed error of an OS failure: its code, the errno and call in the message, and no "connection broke". */
function expectTyped(error: Awaited<ReturnType<typeof failure>>, code: string, errno: string, syscall: string): void {
  expect(error.code).toBe(code);
  expect(error.message).toContain(`${errno} from ${syscall}()`);
  expect(error.message).not.toMatch(/connection broke/);
  expect(error.cause).toMatchObject({ code: errno, syscall });
}

describe("connect() failures are typed by what the system said", () => {
  it("a port nothing listens on (ECONNREFUSED) is a ConnectionRefusedError", async () => {
    const port = await freePort();
    expectTyped(await failure(connect(`tcp://127.0.0.1:${port}`, { timeout: 10_000 })), "IPC_ERR_CONNECTION_REFUSED", "ECONNREFUSED", "connect");
  });

  it("a link-local IPv6 address without its interface (EINVAL) is an InvalidAddressError", async () => {
    expectTyped(await failure(connect("tcp://[fe80::1]:1", { timeout: 10_000 })), "IPC_ERR_INVALID_ADDRESS", "EINVAL", "connect");
  });

  it("TLS to a server that does not speak it is a ProtocolError that says so", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    const error = await failure(connect(listener.address, { tls: { ca: "not used: the server answers in plain TCP" }, timeout: 10_000 }));
    expect(error.code).toBe("IPC_ERR_PROTOCOL");
    expect(error.message).toMatch(/does not answer in TLS .*plain TCP server/);
  });
});

describe("listen() failures are typed by what the system said", () => {
  it("a port in use (EADDRINUSE) is an AddressInUseError", async () => {
    const listener = keep(await listen("tcp://127.0.0.1:0"));
    expectTyped(await failure(listen(listener.address)), "IPC_ERR_ADDRESS_IN_USE", "EADDRINUSE", "listen");
  });

  it("an address that is not this machine's (EADDRNOTAVAIL) is an InvalidAddressError", async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a local address; bind() fails without sending anything.
    expectTyped(await failure(listen("tcp://192.0.2.1:0")), "IPC_ERR_INVALID_ADDRESS", "EADDRNOTAVAIL", "listen");
  });

  it("a link-local IPv6 address without its interface (EINVAL) is an InvalidAddressError", async () => {
    expectTyped(await failure(listen("tcp://[fe80::1]:0")), "IPC_ERR_INVALID_ADDRESS", "EINVAL", "listen");
  });

  it.runIf(process.getuid?.() === 0 && privilegedBelow > 1)(
    "a privileged port for a user who may not bind it (EACCES) is a PermissionDeniedError, in a child that drops to nobody",
    async () => {
      const { stdout } = await run(process.execPath, [join(fixtures, "listen-as.mjs"), "65534", "1"], { timeout: 60_000 });
      const report = JSON.parse(stdout) as { code?: string; message?: string };
      expect(report.code).toBe("IPC_ERR_PERMISSION_DENIED");
      expect(report.message).toMatch(/EACCES from listen\(\)/);
    },
  );
});
