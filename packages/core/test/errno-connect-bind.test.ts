/**
 * The errno → error map (fromSystemError) for every errno connect(2), bind(2) and listen(2) can return on
 * Linux (issue 16.9): each is the typed error of what happened, and none is a ConnectionResetError — the
 * connection never existed. @ipc/unix's and @ipc/tcp's test/errors.test.ts cause the ones they can for real.
 */
import { describe, expect, it } from "vitest";
import { fromSystemError } from "../src/index.js";

const system = (code: string, syscall: string): Error => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });

/** errno → the code it must map to from connect(), bind() and listen(). */
const EXPECTED: Readonly<Record<string, readonly [connect: string, bind: string, listen: string]>> = {
  EACCES: ["IPC_ERR_PERMISSION_DENIED", "IPC_ERR_PERMISSION_DENIED", "IPC_ERR_PERMISSION_DENIED"],
  EPERM: ["IPC_ERR_PERMISSION_DENIED", "IPC_ERR_PERMISSION_DENIED", "IPC_ERR_PERMISSION_DENIED"],
  EROFS: ["IPC_ERR_PERMISSION_DENIED", "IPC_ERR_PERMISSION_DENIED", "IPC_ERR_PERMISSION_DENIED"],
  EADDRINUSE: ["IPC_ERR_ADDRESS_IN_USE", "IPC_ERR_ADDRESS_IN_USE", "IPC_ERR_ADDRESS_IN_USE"],
  // From connect: no free local port to bind the socket to; from bind: not one of this machine's addresses.
  EADDRNOTAVAIL: ["IPC_ERR_RESOURCE_EXHAUSTED", "IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS"],
  EAFNOSUPPORT: ["IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS"],
  // From connect: a Unix listener's backlog is full.
  EAGAIN: ["IPC_ERR_CONNECTION_REFUSED", "IPC_ERR_RESOURCE_EXHAUSTED", "IPC_ERR_RESOURCE_EXHAUSTED"],
  EALREADY: ["IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT"],
  EBADF: ["IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT"],
  ECONNREFUSED: ["IPC_ERR_CONNECTION_REFUSED", "IPC_ERR_CONNECTION_REFUSED", "IPC_ERR_CONNECTION_REFUSED"],
  EFAULT: ["IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT"],
  EINPROGRESS: ["IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT"],
  // Interrupted by a signal: the call itself failed, nothing about the address or a connection.
  EINTR: ["IPC_ERR_SYSTEM_CALL", "IPC_ERR_SYSTEM_CALL", "IPC_ERR_SYSTEM_CALL"],
  EINVAL: ["IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS"],
  EISCONN: ["IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT"],
  ENETUNREACH: ["IPC_ERR_CONNECTION_REFUSED", "IPC_ERR_CONNECTION_REFUSED", "IPC_ERR_CONNECTION_REFUSED"],
  EHOSTUNREACH: ["IPC_ERR_CONNECTION_REFUSED", "IPC_ERR_CONNECTION_REFUSED", "IPC_ERR_CONNECTION_REFUSED"],
  ENOTSOCK: ["IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT", "IPC_ERR_INVALID_ARGUMENT"],
  EPROTOTYPE: ["IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS"],
  ETIMEDOUT: ["IPC_ERR_TIMEOUT", "IPC_ERR_TIMEOUT", "IPC_ERR_TIMEOUT"],
  // From connect: no socket file there (nothing listens); from bind/listen: a directory of the path is missing.
  ENOENT: ["IPC_ERR_CONNECTION_REFUSED", "IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS"],
  ENAMETOOLONG: ["IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS"],
  ENOTDIR: ["IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS"],
  ELOOP: ["IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS"],
  ENOMEM: ["IPC_ERR_RESOURCE_EXHAUSTED", "IPC_ERR_RESOURCE_EXHAUSTED", "IPC_ERR_RESOURCE_EXHAUSTED"],
  ENOBUFS: ["IPC_ERR_RESOURCE_EXHAUSTED", "IPC_ERR_RESOURCE_EXHAUSTED", "IPC_ERR_RESOURCE_EXHAUSTED"],
  EOPNOTSUPP: ["IPC_ERR_UNSUPPORTED", "IPC_ERR_UNSUPPORTED", "IPC_ERR_UNSUPPORTED"],
  EDESTADDRREQ: ["IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ADDRESS"],
};

const CALLS = ["connect", "bind", "listen"] as const;

describe("fromSystemError: every errno of connect(), bind() and listen() on Linux", () => {
  it.each(Object.keys(EXPECTED).flatMap((errno) => CALLS.map((call, i) => [errno, call, EXPECTED[errno]![i]!] as const)))(
    "%s from %s() is %s, never a broken connection, and names the errno, the call and the target",
    (errno, call, code) => {
      const cause = system(errno, call);
      const error = fromSystemError(cause, `${call} on unix:///run/app.sock`);
      expect(error.code).toBe(code);
      expect(error.code).not.toBe("IPC_ERR_CONNECTION_RESET");
      expect(error.message).not.toMatch(/connection broke/);
      expect(error.message).toMatch(new RegExp(`^${call} on unix:///run/app.sock: .*\\(${errno} from ${call}\\(\\)\\)$`));
      expect(error.cause).toBe(cause);
    },
  );

  it("EADDRNOTAVAIL from connect() says that no local port is free, not that the address is wrong", () => {
    const error = fromSystemError(system("EADDRNOTAVAIL", "connect"), "connect to tcp://127.0.0.1:7000");
    expect(error.message).toMatch(/no local port is free .*ip_local_port_range/);
  });
});
