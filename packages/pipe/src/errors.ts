/**
 * The conditions of running processes that @ipc/core has no class for. Everything else (timeouts, aborts,
 * permissions, closed connections, bad arguments, failed system calls, unsupported features) uses @ipc/core's
 * classes.
 */
import { IpcError, type IpcErrorOptions } from "@ipc/core";

/** How a process ended: an exit code, or the signal that killed it (the other is `null`). */
export interface ExitStatus {
  /** The exit code, or `null` when a signal killed the process. */
  readonly code: number | null;
  /** The signal that killed the process, or `null` when it exited. */
  readonly signal: NodeJS.Signals | null;
}

/** One process of a pipeline, as it ended. */
export interface StageResult extends ExitStatus {
  /** The command, as given. */
  readonly command: string;
  /** Its arguments, as given. */
  readonly args: readonly string[];
  /** Everything the stage wrote to stderr (up to `maxOutput` bytes), decoded as UTF-8. */
  readonly stderr: string;
}

/** True when `status` is a failure: a non-zero exit code or death by a signal. */
export function failed(status: ExitStatus): boolean {
  return status.code !== 0;
}

/** `exited with code 2` / `was killed by SIGKILL`. */
export function describeStatus(status: ExitStatus): string {
  return status.signal !== null ? `was killed by ${status.signal}` : `exited with code ${String(status.code)}`;
}

/** The last non-empty lines of `stderr`, short enough for an error message. */
function gist(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  let text = lines.slice(-3).join(" / ").trim();
  if (text.length > 300) text = `…${text.slice(-300)}`;
  return text;
}

/**
 * Thrown when a process exits with a non-zero code or is killed by a signal it did not get from this
 * library (by `run()` and `pipeline()` unless `reject: false`; at the end of `spawnLines()`'s stdout; by a
 * channel whose child died). `exitCode`/`signal` say how it ended, `stderr` holds the end of what it wrote
 * to stderr (when it was captured), and for a pipeline `stages` holds how every stage ended.
 */
export class ProcessExitError extends IpcError {
  override readonly name = "ProcessExitError";
  readonly code = "IPC_ERR_PROCESS_EXIT";
  /** The command line, for messages: `grep -c foo`. */
  readonly command: string;
  /** The process's exit code, or `null` when a signal killed it. */
  readonly exitCode: number | null;
  /** The signal that killed the process, or `null`. */
  readonly signal: NodeJS.Signals | null;
  /** The last 8 KiB of the process's stderr, when it was captured (`""` otherwise). */
  readonly stderr: string;
  /** For a pipeline: how every stage ended, in order. `undefined` for a single process. */
  readonly stages: readonly StageResult[] | undefined;

  constructor(what: string, command: string, status: ExitStatus, stderr: string, stages?: readonly StageResult[], options?: IpcErrorOptions) {
    const detail = gist(stderr);
    super(`${what} \`${command}\` ${describeStatus(status)}${detail ? `: ${detail}` : ""}`, options);
    this.command = command;
    this.exitCode = status.code;
    this.signal = status.signal;
    this.stderr = stderr;
    this.stages = stages;
  }
}

/**
 * Thrown when a process writes more than `maxOutput` bytes to stdout or stderr (or a line longer than
 * `maxLineLength` for `spawnLines()`): the process is stopped rather than letting memory grow.
 */
export class OutputTooLargeError extends IpcError {
  override readonly name = "OutputTooLargeError";
  readonly code = "IPC_ERR_OUTPUT_TOO_LARGE";
  /** Which output went over. */
  readonly stream: "stdout" | "stderr";
  /** The limit, in bytes. */
  readonly limit: number;

  constructor(message: string, stream: "stdout" | "stderr", limit: number, options?: IpcErrorOptions) {
    super(message, options);
    this.stream = stream;
    this.limit = limit;
  }
}

/**
 * Thrown when a process cannot be started: the command is not found or not executable (ENOENT, EACCES —
 * Node reports a missing `cwd` as ENOENT too), or the system refuses a new process (EAGAIN, ENOMEM).
 */
export class SpawnError extends IpcError {
  override readonly name = "SpawnError";
  readonly code = "IPC_ERR_SPAWN";
  /** The command that could not be started. */
  readonly command: string;

  constructor(message: string, command: string, options?: IpcErrorOptions) {
    super(message, options);
    this.command = command;
  }
}

/**
 * Thrown when a system call fails for a reason no other class covers. It is @ipc/core's, re-exported here
 * where it was first documented: every package's native calls fail the same way (see @ipc/native).
 */
export { SystemCallError } from "@ipc/core";
