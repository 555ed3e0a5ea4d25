/**
 * The lock that makes binding a socket file — probing a leftover file, removing it and binding — one step
 * for every @ipc process, and every listen() within one: without it, two listeners that both find the same
 * stale file both remove it, and the second removes the first one's fresh socket (issue 16.3).
 *
 * The lock is a file beside the socket, `.<name>.lock` (for `/run/app.sock`: `/run/.app.sock.lock`), held
 * from before the first bind until the socket listens, and removed by its holder before it lets go: no lock
 * file is left behind by a listener, and one left by a crash never makes the next listen() fail.
 *
 * - With native calls: flock(2) on the file. The kernel releases it when its holder closes it or dies, so a
 *   crashed holder never blocks anyone. A waiter that gets the lock checks that the file it locked is still
 *   the one at the path (its holder may have removed it meanwhile) and otherwise starts again.
 * - Without them (IPC_NATIVE=off, or a platform without the calls): the file is created complete, holding
 *   its owner's pid and a random token, by link(2) from a private temporary file (link never replaces an
 *   existing file). A lock whose pid is no longer alive on this machine is stale: a waiter moves it aside
 *   with rename(2), which only one waiter can do to a given file, and puts it back if what it moved turns
 *   out to be a newer lock. Limits: a stale lock whose pid has been reused by a live process, or one made by
 *   a process of another pid namespace, looks held; listen() then fails after {@link LOCK_WAIT} ms with an
 *   `AddressInUseError` naming the lock file to remove.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, linkSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { AddressInUseError, fromSystemError } from "@ipc/core";
import { canUse, tryLock } from "./native.js";

/** How long listen() waits for another binder of the same path before giving up (ms). */
export const LOCK_WAIT = 10_000;

/** A held lock: `release()` removes the lock file and lets go. */
export interface BindLock {
  readonly path: string;
  release(): void;
}

/** The lock file of the socket file at `path`. */
export function lockPathOf(path: string): string {
  return join(dirname(path), `.${basename(path)}.lock`);
}

const code = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/** Waits `ms` milliseconds (a retry's backoff: no event tells when another process lets go of a lock). */
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the bind lock of the socket file at `path`, waiting (with backoff) while another listen() of this
 * or another process holds it. Throws `AddressInUseError` after {@link LOCK_WAIT} ms.
 */
export async function acquireBindLock(path: string, what: string): Promise<BindLock> {
  const lockPath = lockPathOf(path);
  const attempt = canUse("unix.peerCredentials") ? () => tryFlock(lockPath, what) : () => tryLockFile(lockPath, what);
  const giveUp = performance.now() + LOCK_WAIT;
  for (let backoff = 1; ; backoff = Math.min(backoff * 2, 50)) {
    const lock = attempt();
    if (lock !== undefined) return lock;
    if (performance.now() > giveUp) {
      throw new AddressInUseError(
        `${what}: another process has been binding ${path} for ${LOCK_WAIT / 1000} s (it holds the lock file ` +
          `${lockPath}); if no server is starting there, remove ${lockPath}`,
      );
    }
    await pause(backoff);
  }
}

/** One try with flock(2): the lock, or undefined when another open file holds it. */
function tryFlock(lockPath: string, what: string): BindLock | undefined {
  let fd: number;
  try {
    // O_NOFOLLOW: a symbolic link planted at the lock's name is refused, never followed (libuv adds O_CLOEXEC).
    fd = openSync(lockPath, constants.O_RDONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    // ELOOP: a symbolic link at the lock's name (O_NOFOLLOW), or a loop on the way to it; EISDIR: a directory.
    if ((code(error) === "ELOOP" || code(error) === "EISDIR") && isNotAFile(lockPath)) throw inTheWay(lockPath, what, error);
    throw fromSystemError(error, `${what}: lock ${lockPath}`);
  }
  let held = false;
  try {
    if (!tryLock(fd, `${what}: lock ${lockPath}`)) return undefined;
    // Locked: but the holder before us removes the file before letting go, so this may be a removed file.
    const locked = fstatSync(fd, { bigint: true });
    let current;
    try {
      current = lstatSync(lockPath, { bigint: true }); // bigint: see @ipc/native (nodejs/node#51142)
    } catch {
      return undefined; // removed: start again with a new file
    }
    if (current.dev !== locked.dev || current.ino !== locked.ino) return undefined;
    held = true;
    return {
      path: lockPath,
      release: () => {
        try {
          unlinkSync(lockPath); // while still held: nobody can have locked a newer file at this name yet
        } finally {
          closeSync(fd);
        }
      },
    };
  } finally {
    if (!held) closeSync(fd);
  }
}

/** True when something that is not a regular file is at `path` itself (not on the way to it). */
function isNotAFile(path: string): boolean {
  try {
    return !lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** Something that is not a lock file (a symbolic link, a directory) sits at the lock's name: never followed. */
function inTheWay(lockPath: string, what: string, cause?: unknown): AddressInUseError {
  return new AddressInUseError(`${what}: ${lockPath} is in the way of the bind lock file and is not a regular file; remove it`, {
    cause,
  });
}

/** True when a process with this pid lives on this machine (one we may not signal lives too). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return code(error) !== "ESRCH";
  }
}

/** One try with a lock file only (no flock): the lock, or undefined when a live process holds it. */
function tryLockFile(lockPath: string, what: string): BindLock | undefined {
  const token = `${process.pid} ${randomBytes(12).toString("hex")}\n`;
  const temporary = `${lockPath}.${randomBytes(6).toString("hex")}`;
  try {
    writeFileSync(temporary, token, { flag: "wx", mode: 0o600 });
    try {
      linkSync(temporary, lockPath); // complete from its first instant, and never replaces a lock
      return { path: lockPath, release: () => releaseLockFile(lockPath, token) };
    } catch (error) {
      if (code(error) !== "EEXIST") throw error;
    } finally {
      unlinkSync(temporary);
    }
  } catch (error) {
    throw fromSystemError(error, `${what}: lock ${lockPath}`);
  }
  // Held: by a live process, or left by a dead one?
  let seen: string;
  try {
    if (!lstatSync(lockPath).isFile()) throw inTheWay(lockPath, what);
    seen = readFileSync(lockPath, "utf8");
  } catch (error) {
    if (code(error) === "ENOENT") return undefined; // let go meanwhile: try again
    throw error;
  }
  // Ours are created whole (by link): one without a pid was left by something else — a process with native
  // calls (its flock lock file is empty) that crashed — and is stale too.
  const pid = Number(/^(\d+) [0-9a-f]+\n$/.exec(seen)?.[1]);
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) return undefined;
  breakStaleLock(lockPath, seen);
  return undefined;
}

/**
 * Removes the stale lock `seen` at `lockPath`. rename(2) moves one file: of several waiters that found the
 * same stale lock, one moves it, and any other moves whatever is there now — a newer lock — which it then
 * links back (or leaves to the lock made since, when one was).
 */
function breakStaleLock(lockPath: string, seen: string): void {
  const aside = `${lockPath}.stale-${randomBytes(6).toString("hex")}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return; // gone already: the next try tells
  }
  try {
    if (readFileSync(aside, "utf8") !== seen) linkSync(aside, lockPath);
  } catch {
    // A lock was made meanwhile: it stands.
  } finally {
    try {
      unlinkSync(aside);
    } catch {
      // Nothing to remove.
    }
  }
}

function releaseLockFile(lockPath: string, token: string): void {
  try {
    if (readFileSync(lockPath, "utf8") === token) unlinkSync(lockPath);
  } catch {
    // Already gone.
  }
}
