/**
 * `run()`: starts a process, writes its input while reading its stdout and stderr, and resolves with all of it
 * when the process is done (docs/guide.md#running-a-command) — the way that cannot deadlock
 * (docs/guide.md#pipe-capacity-and-the-deadlock), bounded by `maxOutput`, stopped by `timeout` / `signal`.
 */
import type { WaitOptions } from "@ipc/core";
import { ProcessExitError, failed } from "../errors.js";
import { OutputCollector, checkInput, feed, type Output, type OutputEncoding, type ProcessInput } from "./io.js";
import {
  DEFAULT_MAX_OUTPUT,
  armDeadline,
  checkCommand,
  checkDeadline,
  formatCommand,
  resolveLimit,
  resolveSpawnOptions,
  type SpawnOptions,
} from "./options.js";
import { startProcess } from "./start.js";

/** Options of {@link run}. */
export interface RunOptions<E extends OutputEncoding = OutputEncoding> extends SpawnOptions, WaitOptions {
  /**
   * Written to the process's stdin (then stdin is closed), concurrently with reading its output. Default:
   * none — stdin is /dev/null.
   */
  readonly input?: ProcessInput | undefined;
  /**
   * Largest number of bytes kept from stdout, and from stderr. A process that writes more is stopped and the
   * call rejects with `OutputTooLargeError`. `Infinity` disables the limit. Default: 64 MiB (67 108 864).
   */
  readonly maxOutput?: number | undefined;
  /** How `stdout` and `stderr` are returned: a Node encoding, or `"buffer"` for bytes. Default: `"utf8"`. */
  readonly encoding?: E | undefined;
  /**
   * Reject with `ProcessExitError` when the process exits with a non-zero code or is killed by a signal.
   * `false` resolves with the result instead. Default: `true`.
   */
  readonly reject?: boolean | undefined;
  /**
   * Milliseconds before the process is stopped (`killSignal`, then SIGKILL after `forceKillAfter`) and the
   * call rejects with `TimeoutError`. Default: no limit.
   */
  readonly timeout?: number | undefined;
  /** Stops the process and rejects with `AbortError` when it aborts. Default: none. */
  readonly signal?: AbortSignal | undefined;
}

/** What {@link run} resolves with. */
export interface RunResult<T extends string | Uint8Array = string> {
  /** Everything the process wrote to stdout. */
  readonly stdout: T;
  /** Everything the process wrote to stderr. */
  readonly stderr: T;
  /** The exit code, or `null` when a signal killed the process. */
  readonly code: number | null;
  /** The signal that killed the process, or `null`. */
  readonly signal: NodeJS.Signals | null;
  /** Milliseconds from the start to the end of the output. */
  readonly durationMs: number;
}

/**
 * Runs `command` with `args` (no shell) and resolves with its output and exit status once it has exited and
 * closed its output. Input is written while stdout and stderr are read, so any amount of each flows without
 * deadlock. Rejects with `ProcessExitError` on failure (unless `reject: false`), `OutputTooLargeError` over
 * `maxOutput`, `TimeoutError` / `AbortError` (after stopping the process), `SpawnError` when it cannot start.
 *
 * Output is complete when the process's stdout and stderr close: a background child that keeps them open
 * keeps `run()` waiting (use `timeout`, and `killProcessGroup` to stop such children too).
 */
export async function run<E extends OutputEncoding = "utf8">(
  command: string,
  args: readonly string[] = [],
  options: RunOptions<E> = {},
): Promise<RunResult<Output<E>>> {
  checkCommand(command, args, "run");
  checkInput(options.input);
  const spawnOptions = resolveSpawnOptions(options);
  const maxOutput = resolveLimit("maxOutput", options.maxOutput, DEFAULT_MAX_OUTPUT);
  const encoding: OutputEncoding = options.encoding ?? "utf8";
  const input = options.input;
  const what = `run \`${formatCommand(command, args)}\``;
  checkDeadline(what, options);
  const child = await startProcess(command, args, spawnOptions, [input === undefined ? "ignore" : "pipe", "pipe", "pipe"]);
  // Whatever stops the process also drops its pipes: their contents no longer matter.
  child.onStop(() => child.destroyStreams());
  const disarm = armDeadline(what, options, (error) => child.stop(error));
  const stop = (error: unknown): void => child.stop(error as Error);
  const stdout = new OutputCollector(child.stdout!, maxOutput, "stdout", child.command, stop);
  const stderr = new OutputCollector(child.stderr!, maxOutput, "stderr", child.command, stop);
  if (input !== undefined) feed(child.stdin!, input, stop);
  try {
    const status = await child.exited;
    await Promise.all([stdout.done, stderr.done]);
    if (child.stopReason !== undefined) throw child.stopReason;
    if (options.reject !== false && failed(status)) {
      throw new ProcessExitError("command", child.command, status, stderr.tail());
    }
    return {
      stdout: stdout.value(encoding) as Output<E>,
      stderr: stderr.value(encoding) as Output<E>,
      code: status.code,
      signal: status.signal,
      durationMs: performance.now() - child.startedAt,
    };
  } finally {
    disarm();
  }
}
