/**
 * The one errno convention of the native layer: a failed call's errno is read right after it (any other
 * native call would overwrite it), kept positive, and named from the OS's errno table; the OS-style error
 * (`{ code, errno, syscall }`, like Node's) becomes the `cause` of the typed error that @ipc/core's
 * `fromSystemError` picks for it.
 */
import { constants } from "node:os";
import { fromSystemError, type IpcError } from "@ipc/core";
import { loadedKoffi } from "./library.js";

/** errno → name, keeping the first name of aliases (EAGAIN, not EWOULDBLOCK). */
const names = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!names.has(value)) names.set(value, name);

/** The name of an errno value (`"ENOENT"`), or `"errno 1234"` for one the OS table does not have. */
export function errnoName(errno: number): string {
  return names.get(errno) ?? `errno ${errno}`;
}

/** A failed system call as an OS-style error, the shape of Node's own: what a typed error's `cause` holds. */
export interface OsError extends Error {
  /** The errno's name, e.g. `"EINVAL"`. */
  readonly code: string;
  /** The errno, positive (Node's own errors carry it negated). */
  readonly errno: number;
  /** The call that failed, e.g. `"connect"` or `"fcntl(F_SETPIPE_SZ)"`. */
  readonly syscall: string;
}

/** The errno of the last native call of this thread (0 before any). */
export function lastErrno(): number {
  return loadedKoffi()?.errno() ?? 0;
}

/**
 * The OS-style error of the call that just failed: call it right after the call, before any other native
 * call. `syscall` names the C function (the errno → error map decides by it: EINVAL from `connect` is about
 * the address); an option or command may follow in parentheses, `"fcntl(F_SETPIPE_SZ)"`.
 */
export function osError(syscall: string, errno: number = lastErrno()): OsError {
  const code = errnoName(errno);
  return Object.assign(new Error(`${syscall}: ${code}`), { code, errno, syscall });
}

/**
 * The typed error for the call that just failed (see {@link osError}): `what` names the operation and its
 * target for the message, e.g. `connect to unix-abstract:app`.
 */
export function failure(syscall: string, what: string, errno: number = lastErrno()): IpcError {
  return fromSystemError(osError(syscall, errno), what);
}
