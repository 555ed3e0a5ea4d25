/**
 * Binding a socket file safely: the directory is checked, the file never exists with wider permissions
 * than its mode, and a leftover socket file is replaced only after a connect probe proves no server is
 * alive behind it — under a lock (bind-lock.ts), so that only one of several listeners replaces it.
 *
 * With native calls the mode is set on the socket before bind(). Without them (another platform, or
 * IPC_NATIVE=off), node:net binds the socket in a private directory made beside the path (0700: nobody
 * else can reach it there), the file is given its mode, then hard-linked into place — link() never
 * replaces an existing file, so a live server's socket is never taken over — and the private name is
 * removed. The guarantee is the same; the path must leave room for the private directory's name.
 */
import { chmodSync, linkSync, lstatSync, mkdtempSync, rmSync, statSync, unlinkSync } from "node:fs";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { AddressInUseError, InvalidAddressError, UNIX_PATH_MAX, fromSystemError, isIpcError } from "@ipc/core";
import { InsecureDirectoryError } from "./errors.js";
import { acquireBindLock } from "./bind-lock.js";
import { bindSocket, type SocketName } from "./native.js";

/** How long the probe waits for a leftover socket's server to answer before calling it alive. */
const PROBE_TIMEOUT = 1000;

function checkDirectory(path: string): void {
  const directory = dirname(resolve(path));
  let mode: number;
  try {
    mode = statSync(directory).mode;
  } catch (error) {
    throw new InvalidAddressError(`cannot bind ${path}: its directory ${directory} does not exist or cannot be read`, {
      cause: error,
    });
  }
  if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0) {
    throw new InsecureDirectoryError(
      `refusing to bind ${path}: ${directory} is writable by every user and has no sticky bit, so anyone could ` +
        `replace the socket; use a private directory (such as $XDG_RUNTIME_DIR), or pass checkDirectory: false`,
    );
  }
}

/** Whether a server answers at `path`: "live", "stale" (a socket file nobody listens on) or "gone". */
function probe(path: string): Promise<"live" | "stale" | "gone"> {
  return new Promise((settle) => {
    const socket = net.connect(path);
    const done = (verdict: "live" | "stale" | "gone"): void => {
      clearTimeout(timer);
      socket.destroy();
      settle(verdict);
    };
    const timer = setTimeout(() => done("live"), PROBE_TIMEOUT);
    socket.once("connect", () => done("live"));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code === "ECONNREFUSED" ? "stale" : error.code === "ENOENT" ? "gone" : "live"));
  });
}

/** Binds an abstract name; returns the fd, ready for listen(). A taken name is simply in use. */
export function bindAbstract(name: SocketName, url: string): number {
  try {
    return bindSocket(name, 0, `listen on ${url}`);
  } catch (error) {
    if (isIpcError(error, "IPC_ERR_ADDRESS_IN_USE")) throw new AddressInUseError(`${url} is in use by another server`, { cause: error });
    throw error;
  }
}

/**
 * Binds a socket file at `path` through `bindOnce` (which throws `AddressInUseError` when something is at
 * the path, and resolves once the socket listens), replacing a leftover socket file nobody answers on. The
 * whole of it runs under the path's bind lock (bind-lock.ts), so of several listen() calls — in this
 * process or others — on one stale path, exactly one replaces it and listens, and the others find a live
 * server: `AddressInUseError`. The lock is held until the socket listens because a socket bound but not
 * yet listening refuses connections: to a probe it would look stale.
 */
export async function bindPath<T>(path: string, check: boolean, what: string, bindOnce: () => Promise<T>): Promise<T> {
  if (check) checkDirectory(path);
  const lock = await acquireBindLock(path, what);
  try {
    return await bindUnderLock(path, bindOnce);
  } finally {
    lock.release();
  }
}

async function bindUnderLock<T>(path: string, bindOnce: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await bindOnce();
    } catch (error) {
      if (!isIpcError(error, "IPC_ERR_ADDRESS_IN_USE") || attempt > 0) throw error;
    }
    // Something is at the path: replace it only if it is a socket nobody answers on.
    let isSocket = false;
    try {
      isSocket = lstatSync(path, { bigint: true }).isSocket(); // bigint: see @ipc/native (nodejs/node#51142)
    } catch {
      continue; // removed meanwhile: try again
    }
    if (!isSocket) throw new AddressInUseError(`${path} exists and is not a socket; refusing to replace it`);
    const verdict = await probe(path);
    if (verdict === "live") throw new AddressInUseError(`socket ${path} is in use by a live server`);
    if (verdict === "stale") {
      try {
        unlinkSync(path);
      } catch {
        // Removed by someone else meanwhile (not an @ipc listener: they take the lock): the next bind tells.
      }
    }
  }
}

/** One native bind of a socket file: the mode is set before bind(); returns the fd, ready for listen(). */
export function bindNative(path: string, mode: number, url: string): number {
  const fd = bindSocket({ path }, mode, `listen on ${url}`);
  // bind() created the file with `mode & ~umask`: widen it to exactly `mode` (never beyond).
  chmodSync(path, mode);
  return fd;
}

/** The private directory's name beside the path, and the socket's name in it: `.ipc-XXXXXX/s`. */
const PRIVATE_PREFIX = ".ipc-";
const PRIVATE_ROOM = PRIVATE_PREFIX.length + 6 + "/s".length + 1;

/**
 * One bind of a socket file through node:net (no native calls): `server` listens in a private directory
 * beside `path`, the file gets exactly `mode`, and is linked into place. Throws `AddressInUseError` when
 * something is at `path` (the server is closed again).
 */
export async function bindWithNode(server: net.Server, path: string, mode: number, backlog: number, url: string): Promise<void> {
  const what = `listen on ${url}`;
  if (Buffer.byteLength(resolve(path)) + PRIVATE_ROOM > UNIX_PATH_MAX) {
    throw new InvalidAddressError(
      `${what}: without native calls the socket is bound in a private directory beside the path first (so it never ` +
        `exists with wider permissions than its mode), which needs ${PRIVATE_ROOM} more bytes than the path; use a path ` +
        `of at most ${UNIX_PATH_MAX - PRIVATE_ROOM} bytes`,
    );
  }
  let directory: string;
  try {
    directory = mkdtempSync(join(dirname(resolve(path)), PRIVATE_PREFIX));
  } catch (error) {
    throw fromSystemError(error, what);
  }
  const hidden = join(directory, "s");
  try {
    await new Promise<void>((settle, reject) => {
      const onError = (error: Error): void => reject(fromSystemError(error, what));
      server.once("error", onError);
      server.listen({ path: hidden, backlog }, () => {
        server.off("error", onError);
        settle();
      });
    });
    try {
      chmodSync(hidden, mode);
      linkSync(hidden, path);
    } catch (error) {
      await new Promise((closed) => server.close(closed));
      throw fromSystemError(error, what);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
