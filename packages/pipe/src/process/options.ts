/**
 * The options every function that starts a process understands, their defaults and checks, and the
 * deadline (`timeout` / `signal`) that stops a process.
 */
import { InvalidArgumentError, TimeoutError, abortError, checkTimeout, throwIfAborted, type WaitOptions } from "@ipc/core";
import { resolveDieWithParent } from "./parent-death.js";

/** How a process is started and stopped: shared by `run`, `spawnLines`, `pipeline` and `spawnChannel`. */
export interface SpawnOptions {
  /** Working directory of the process. Default: this process's. */
  readonly cwd?: string | URL | undefined;
  /** Environment of the process. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /**
   * The signal that stops the process when this library stops it (timeout, abort, `maxOutput`, a failed
   * pipeline stage, a broken channel). Default: `"SIGTERM"`.
   */
  readonly killSignal?: NodeJS.Signals | undefined;
  /**
   * Milliseconds to wait after `killSignal` before sending SIGKILL to a process that is still running;
   * `Infinity` never does. Default: 2000.
   */
  readonly forceKillAfter?: number | undefined;
  /**
   * Starts the process as the leader of a new process group (and session) and signals the whole group when
   * stopping it, so that its own children stop too. Default: `false` (only the process is signalled).
   */
  readonly killProcessGroup?: boolean | undefined;
  /**
   * Makes each stdio stream to and from the process a real pipe (`pipe2`) of this many bytes (F_SETPIPE_SZ;
   * the kernel rounds it up to a power of two pages; between pipeline stages it sizes the pipes, which are
   * always real ones). At most /proc/sys/fs/pipe-max-size (1 MiB by default) unless the process has
   * CAP_SYS_RESOURCE, or the call rejects with `PermissionDeniedError`. Default: none — stdio streams are
   * Unix socketpairs, as with Node's `'pipe'`, and pipes between stages have the system's size (64 KiB).
   */
  readonly pipeCapacity?: number | undefined;
  /**
   * Makes the process die with this one: when this process exits — however it exits, SIGKILL included —
   * the kernel sends the child this signal (`true`: SIGKILL; a name such as `"SIGTERM"`: that signal,
   * which the child may catch to clean up; `false`: nothing, the child may outlive this process). Linux
   * only, for any program: the child is started through util-linux's `setpriv --pdeathsig` (same pid,
   * about 1 ms more per spawn). It covers the child itself, not processes it starts in turn (combine with
   * `killProcessGroup` for those while this process lives). An explicit `true` or signal where it cannot
   * be done (no setpriv with `--pdeathsig`, another system) is an `UnsupportedError`.
   *
   * Default: SIGKILL on Linux when setpriv is there and the process is started from the main thread;
   * otherwise off. Not in a worker thread, because the kernel ties the signal to the thread that started
   * the child: it would fire when the worker ends, not when the process does (see docs/platforms.md).
   */
  readonly dieWithParent?: boolean | NodeJS.Signals | undefined;
}

/** {@link SpawnOptions} with the defaults applied and the values checked. */
export interface ResolvedSpawnOptions {
  readonly cwd: string | URL | undefined;
  readonly env: NodeJS.ProcessEnv | undefined;
  readonly killSignal: NodeJS.Signals;
  readonly forceKillAfter: number;
  readonly killProcessGroup: boolean;
  readonly pipeCapacity: number | undefined;
  /** The signal the child gets when this process dies, or undefined (see {@link SpawnOptions.dieWithParent}). */
  readonly parentDeathSignal: NodeJS.Signals | undefined;
}

/** Default `forceKillAfter`: 2 s. */
export const DEFAULT_FORCE_KILL_AFTER = 2000;
/** Default `maxOutput`: 64 MiB per stream. */
export const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;

/** Applies the defaults of {@link SpawnOptions} and rejects out-of-range values. */
export function resolveSpawnOptions(options: SpawnOptions | undefined): ResolvedSpawnOptions {
  const forceKillAfter = options?.forceKillAfter ?? DEFAULT_FORCE_KILL_AFTER;
  if (typeof forceKillAfter !== "number" || Number.isNaN(forceKillAfter) || forceKillAfter < 0) {
    throw new InvalidArgumentError(`forceKillAfter must be a number of milliseconds ≥ 0, got ${String(forceKillAfter)}`);
  }
  const pipeCapacity = options?.pipeCapacity;
  if (pipeCapacity !== undefined && (!Number.isInteger(pipeCapacity) || pipeCapacity < 1 || pipeCapacity > 2 ** 31 - 1)) {
    throw new InvalidArgumentError(`pipeCapacity must be an integer number of bytes ≥ 1, got ${String(pipeCapacity)}`);
  }
  return {
    cwd: options?.cwd,
    env: options?.env,
    killSignal: options?.killSignal ?? "SIGTERM",
    forceKillAfter,
    killProcessGroup: options?.killProcessGroup ?? false,
    pipeCapacity,
    parentDeathSignal: resolveDieWithParent(options?.dieWithParent),
  };
}

/** Checks a byte limit such as `maxOutput` (a positive integer, or Infinity). */
export function resolveLimit(name: string, value: number | undefined, fallback: number): number {
  const limit = value ?? fallback;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) {
    throw new InvalidArgumentError(`${name} must be an integer number of bytes ≥ 0 or Infinity, got ${String(limit)}`);
  }
  return limit;
}

/**
 * Checks `timeout` and `signal` before anything starts: a bad timeout or an already aborted signal must not
 * leave a process behind that nobody stops.
 */
export function checkDeadline(what: string, options: WaitOptions | undefined): void {
  checkTimeout(options?.timeout, what);
  throwIfAborted(options?.signal, what);
}

/**
 * Arms `timeout` and `signal`: `onExpire` is called once with a `TimeoutError` or an `AbortError` (at once
 * if the signal has already aborted). Returns the function that disarms them.
 */
export function armDeadline(what: string, options: WaitOptions | undefined, onExpire: (error: Error) => void): () => void {
  const signal = options?.signal;
  const timeout = options?.timeout;
  checkTimeout(timeout, what);
  if (signal?.aborted) {
    onExpire(abortError(signal, what));
    return noop;
  }
  let timer: NodeJS.Timeout | undefined;
  if (timeout !== undefined && timeout !== Infinity) {
    timer = setTimeout(() => {
      disarm();
      onExpire(new TimeoutError(`${what} timed out after ${timeout} ms`, timeout));
    }, timeout);
  }
  const onAbort = (): void => {
    disarm();
    onExpire(abortError(signal!, what));
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  function disarm(): void {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
  return disarm;
}

function noop(): void {}

/** `grep -c 'a b'`: a command line for messages, quoted the way a shell would need it. */
export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`)).join(" ");
}

/** Checks `command` and `args` of a process to start. */
export function checkCommand(command: unknown, args: unknown, what: string): asserts args is readonly string[] {
  if (typeof command !== "string" || command.length === 0) {
    throw new InvalidArgumentError(`${what}: the command must be a non-empty string, got ${JSON.stringify(command)}`);
  }
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    throw new InvalidArgumentError(`${what}: the arguments must be an array of strings`);
  }
}
