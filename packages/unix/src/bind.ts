/**
 * Binding a socket file safely: the directory is checked, the mode is set before bind, and a leftover
 * socket file is replaced only after a connect probe proves no server is alive behind it.
 */
import { chmodSync, lstatSync, statSync, unlinkSync } from "node:fs";
import net from "node:net";
import { dirname, resolve } from "node:path";
import { AddressInUseError, InvalidAddressError, isIpcError } from "@ipc/core";
import { InsecureDirectoryError } from "./errors.js";
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
    socket.once("error", (error: NodeJS.ErrnoException) =>
      done(error.code === "ECONNREFUSED" ? "stale" : error.code === "ENOENT" ? "gone" : "live"),
    );
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

/** Binds a socket file at `path` with `mode`; returns the fd, ready for listen(). */
export async function bindPath(path: string, mode: number, check: boolean, url: string): Promise<number> {
  if (check) checkDirectory(path);
  const what = `listen on ${url}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = bindSocket({ path }, mode, what);
      // bind() created the file with `mode & ~umask`: widen it to exactly `mode` (never beyond).
      chmodSync(path, mode);
      return fd;
    } catch (error) {
      if (!isIpcError(error, "IPC_ERR_ADDRESS_IN_USE") || attempt > 0) throw error;
    }
    // Something is at the path: replace it only if it is a socket nobody answers on.
    let isSocket = false;
    try {
      isSocket = lstatSync(path, { bigint: true }).isSocket(); // bigint: see requireNative (nodejs/node#51142)
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
        // Removed by someone else meanwhile: the next bind tells.
      }
    }
  }
}
