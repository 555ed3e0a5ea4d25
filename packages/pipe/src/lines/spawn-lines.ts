/**
 * `spawnLines()`: a process's stdout and stderr as async iterators of lines
 * (docs/guide.md#reading-stdout-and-stderr), with backpressure: a consumer that stops reading stops the process
 * (its pipe fills and its next write blocks), so memory stays bounded whatever the process writes.
 */
import { once } from "node:events";
import { AbortError, InvalidArgumentError, type WaitOptions } from "@ipc/core";
import { ProcessExitError, failed, type ExitStatus } from "../errors.js";
import { checkInput, feed, type ProcessInput } from "../process/io.js";
import { LineReader } from "./line-reader.js";
import { armDeadline, checkCommand, checkDeadline, formatCommand, resolveLimit, resolveSpawnOptions, type SpawnOptions } from "../process/options.js";
import { startProcess, type ManagedProcess } from "../process/start.js";

/** Options of {@link spawnLines}. */
export interface SpawnLinesOptions extends SpawnOptions, WaitOptions {
  /** Written to the process's stdin (then stdin is closed). Default: none — stdin is /dev/null. */
  readonly input?: ProcessInput | undefined;
  /**
   * What happens to stderr: `"lines"` (iterate `stderr`), `"inherit"` (this process's stderr) or `"ignore"`.
   * With `"lines"`, read `stderr` as well as `stdout` (concurrently): a process whose unread stderr fills up
   * blocks, exactly like one whose stdout is not read. Default: `"lines"`.
   */
  readonly stderr?: "lines" | "inherit" | "ignore" | undefined;
  /** Bytes of unread lines, per stream, at which reading from the process pauses. Default: 64 KiB (65 536). */
  readonly highWaterMark?: number | undefined;
  /**
   * Longest line accepted, in bytes; a longer one stops the process and the iteration throws
   * `OutputTooLargeError` (a line must be held whole, so this bounds memory). Default: 1 MiB (1 048 576).
   */
  readonly maxLineLength?: number | undefined;
  /**
   * Make `stdout`'s iteration throw `ProcessExitError`, after the last line, when the process exits with a
   * non-zero code or is killed by a signal. Default: `true`.
   */
  readonly reject?: boolean | undefined;
  /** Milliseconds before the process is stopped and the iterations throw `TimeoutError`. Default: no limit. */
  readonly timeout?: number | undefined;
  /** Stops the process and makes the iterations throw `AbortError` when it aborts. Default: none. */
  readonly signal?: AbortSignal | undefined;
}

/** A running process whose output is read line by line. `await using` stops it at the end of the scope. */
export interface LineProcess extends AsyncDisposable {
  /** The process id. */
  readonly pid: number;
  /**
   * The lines of stdout, without their `\n` or `\r\n`, decoded as UTF-8. After the last line the iteration
   * waits for the process to exit and throws `ProcessExitError` if it failed (unless `reject: false`), or
   * `TimeoutError` / `AbortError` / `OutputTooLargeError` if it was stopped.
   */
  readonly stdout: AsyncIterable<string>;
  /** The lines of stderr (empty unless `stderr: "lines"`). Ends when stderr closes. */
  readonly stderr: AsyncIterable<string>;
  /** How the process ended; never rejects. */
  readonly exited: Promise<ExitStatus>;
  /** Sends `signal` (default: the `killSignal` option) to the process, or its group with `killProcessGroup`. */
  kill(signal?: NodeJS.Signals): void;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const resolved = resolveLimit(name, value, fallback);
  if (resolved === 0) throw new InvalidArgumentError(`${name} must be at least 1`);
  return resolved;
}

/**
 * Starts `command` with `args` (no shell) and reads its output line by line. Resolves once the process
 * runs; rejects with `SpawnError` when it cannot start.
 *
 * ```ts
 * await using ping = await spawnLines("ping", ["-c", "3", "localhost"]);
 * for await (const line of ping.stdout) console.log(line);
 * ```
 */
export async function spawnLines(command: string, args: readonly string[] = [], options: SpawnLinesOptions = {}): Promise<LineProcess> {
  checkCommand(command, args, "spawnLines");
  checkInput(options.input);
  const spawnOptions = resolveSpawnOptions(options);
  const highWaterMark = positive("highWaterMark", options.highWaterMark, 64 * 1024);
  const maxLineLength = positive("maxLineLength", options.maxLineLength, 1024 * 1024);
  const stderrMode = options.stderr ?? "lines";
  if (!["lines", "inherit", "ignore"].includes(stderrMode)) {
    throw new InvalidArgumentError(`stderr must be "lines", "inherit" or "ignore", got ${String(stderrMode)}`);
  }
  const input = options.input;
  const what = `spawnLines \`${formatCommand(command, args)}\``;
  checkDeadline(what, options);
  const child = await startProcess(command, args, spawnOptions, [
    input === undefined ? "ignore" : "pipe",
    "pipe",
    stderrMode === "lines" ? "pipe" : stderrMode,
  ]);
  const stop = (error: Error): void => child.stop(error);
  const out = new LineReader(child.stdout!, "stdout", highWaterMark, maxLineLength, false, stop);
  const err = child.stderr && new LineReader(child.stderr, "stderr", highWaterMark, maxLineLength, true, stop);
  child.onStop((reason) => {
    out.fail(reason);
    err?.fail(reason);
    child.destroyStreams();
  });
  const disarm = armDeadline(what, options, stop);
  void Promise.all([child.exited, closedOf(child.stdout!), child.stderr && closedOf(child.stderr)]).then(disarm);
  if (input !== undefined) feed(child.stdin!, input, (error) => stop(error as Error));
  return lineProcess(child, out, err, options.reject !== false);
}

function closedOf(stream: NodeJS.EventEmitter & { readonly closed?: boolean }): Promise<unknown> {
  return stream.closed === true ? Promise.resolve() : once(stream, "close").catch(() => undefined);
}

function lineProcess(child: ManagedProcess, out: LineReader, err: LineReader | null, reject: boolean): LineProcess {
  async function* stdout(): AsyncGenerator<string, void, undefined> {
    yield* out.lines();
    const status = await child.exited;
    if (child.stopReason !== undefined) throw child.stopReason;
    if (reject && failed(status)) throw new ProcessExitError("command", child.command, status, err?.tail() ?? "");
  }
  async function* stderr(): AsyncGenerator<string, void, undefined> {
    if (err !== null) yield* err.lines();
  }
  return {
    pid: child.pid,
    stdout: { [Symbol.asyncIterator]: stdout },
    stderr: { [Symbol.asyncIterator]: stderr },
    exited: child.exited,
    kill: (signal) => child.kill(signal),
    async [Symbol.asyncDispose]() {
      if (child.status === undefined) child.stop(new AbortError("the process was disposed of before it exited"));
      await child.exited;
    },
  };
}
