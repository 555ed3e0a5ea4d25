/**
 * `pipeline()`: `a | b | c` without a shell (docs/guide.md#pipelines). Each stage's stdout is an OS pipe
 * straight into the next stage's stdin — the data never passes through this process — with pipefail semantics:
 * every stage's status is reported, the pipeline fails when any stage fails, and a failure (or the timeout)
 * stops every stage. Where native calls cannot be made, the stages are connected by socket pairs instead
 * (process/stdio-pair.ts).
 */
import type { Writable } from "node:stream";
import { InvalidArgumentError, type WaitOptions } from "@ipc/core";
import { createPipe, type PipeEnds } from "../native/capacity.js";
import { ProcessExitError, failed, type ExitStatus, type StageResult } from "../errors.js";
import { OutputCollector, checkInput, feed, type Output, type OutputEncoding, type ProcessInput } from "../process/io.js";
import {
  DEFAULT_MAX_OUTPUT,
  armDeadline,
  checkCommand,
  checkDeadline,
  formatCommand,
  resolveLimit,
  resolveSpawnOptions,
  type ResolvedSpawnOptions,
  type SpawnOptions,
} from "../process/options.js";
import { canUse } from "../native/native.js";
import { startProcess, type ManagedProcess, type Slot } from "../process/start.js";
import { childLink, closeEnd, type ChildEnd } from "../process/stdio-pair.js";

/** One stage: the command, then its arguments (no shell). */
export type PipelineStage = readonly string[];

/** Options of {@link pipeline}. */
export interface PipelineOptions<E extends OutputEncoding = OutputEncoding> extends SpawnOptions, WaitOptions {
  /**
   * What the first stage reads: bytes, text, a stream / async iterable (written with backpressure), or a
   * file descriptor handed to the stage as its stdin (no copy through this process). Default: none —
   * /dev/null.
   */
  readonly input?: ProcessInput | number | undefined;
  /**
   * Where the last stage's stdout goes instead of being collected: a stream (written with backpressure and
   * not ended, so `process.stdout` works), or a file descriptor handed to the stage as its stdout (no copy).
   * `stdout` in the result is then empty. Default: collected into the result's `stdout`.
   */
  readonly output?: Writable | number | undefined;
  /** How the collected `stdout` is returned: a Node encoding, or `"buffer"`. Default: `"utf8"`. */
  readonly encoding?: E | undefined;
  /**
   * Largest number of bytes kept of the collected stdout, and of each stage's stderr. More stops the
   * pipeline with `OutputTooLargeError`. `Infinity` disables the limit. Default: 64 MiB (67 108 864).
   */
  readonly maxOutput?: number | undefined;
  /** Reject with `ProcessExitError` when a stage fails. `false` resolves with the result. Default: `true`. */
  readonly reject?: boolean | undefined;
  /** Milliseconds before every stage is stopped and the call rejects with `TimeoutError`. Default: no limit. */
  readonly timeout?: number | undefined;
  /** Stops every stage and rejects with `AbortError` when it aborts. Default: none. */
  readonly signal?: AbortSignal | undefined;
}

/** What {@link pipeline} resolves with. */
export interface PipelineResult<T extends string | Uint8Array = string> {
  /** What the last stage wrote to stdout (empty when `output` was given). */
  readonly stdout: T;
  /** How each stage ended, with its stderr, in order. */
  readonly stages: readonly StageResult[];
  /** Milliseconds from the first start to the end of the last output. */
  readonly durationMs: number;
}

function checkStages(stages: unknown): asserts stages is readonly PipelineStage[] {
  if (!Array.isArray(stages) || stages.length === 0) {
    throw new InvalidArgumentError("pipeline: expected a non-empty array of stages, e.g. [['ls', '-la'], ['wc', '-l']]");
  }
  stages.forEach((stage, i) => {
    if (!Array.isArray(stage) || stage.length === 0) {
      throw new InvalidArgumentError(`pipeline: stage ${i + 1} must be a non-empty array [command, ...args]`);
    }
    checkCommand(stage[0], stage.slice(1), `pipeline stage ${i + 1}`);
  });
}

/**
 * A stage failed: a non-zero exit, or a signal — except SIGPIPE for any stage but the last, which is how a
 * stage ends when a later one stops reading on purpose (`yes | head -1`). Its status is still reported.
 */
function stageFailed(status: ExitStatus, index: number, count: number): boolean {
  return failed(status) && !(status.signal === "SIGPIPE" && index < count - 1);
}

async function startAll(stages: readonly PipelineStage[], options: ResolvedSpawnOptions, input: Slot, output: Slot): Promise<ManagedProcess[]> {
  const between: Link[] = [];
  /** Pipe ends not handed to a stage yet: this process must close them if a stage cannot start. */
  const open = new Set<ChildEnd>();
  const started: ManagedProcess[] = [];
  try {
    for (let i = 0; i < stages.length - 1; i++) {
      const link = await linkStages(options.pipeCapacity);
      between.push(link);
      open.add(link.read).add(link.write);
    }
    for (const [i, [command, ...args]] of stages.entries()) {
      const stdin = i === 0 ? input : between[i - 1]!.read;
      const stdout = i === stages.length - 1 ? output : between[i]!.write;
      // The stage's ends of the pipes go with it: this process closes its copies right after the spawn,
      // or no stage would ever see end-of-file.
      const handOver = [stdin, stdout].filter((end): end is ChildEnd => typeof end !== "string" && open.delete(end));
      started.push(await startProcess(command!, args, options, [stdin, stdout, "pipe"], handOver));
    }
    return started;
  } catch (error) {
    for (const child of started) child.stop(error as Error);
    await Promise.all(started.map((child) => child.exited));
    throw error;
  } finally {
    for (const end of open) closeEnd(end);
  }
}

/** The connection between two stages: the ends the writing and the reading stage get. */
interface Link {
  readonly write: ChildEnd;
  readonly read: ChildEnd;
}

/**
 * A real pipe (`pipe2`, of `capacity` bytes if given), as a shell makes them; where native calls cannot
 * be made, a socket pair through node:net (and `capacity` is an `UnsupportedError`).
 */
async function linkStages(capacity: number | undefined): Promise<Link> {
  if (capacity !== undefined || canUse("pipe.capacity")) {
    const { readFd, writeFd }: PipeEnds = createPipe({ capacity });
    return { write: writeFd, read: readFd };
  }
  const [write, read] = await childLink();
  return { write, read };
}

/**
 * Runs `stages` connected by pipes, like `sh -c 'a | b | c'` with `pipefail`, and resolves when every
 * stage has exited and the output is complete. Rejects with `ProcessExitError` naming the first stage that
 * failed (`stages` holds every status) unless `reject: false`, with `TimeoutError` / `AbortError` /
 * `OutputTooLargeError` after stopping every stage, or with `SpawnError` when a stage cannot start (the
 * stages already started are stopped).
 *
 * ```ts
 * const { stdout } = await pipeline([["cat", "data.txt"], ["grep", "pattern"], ["sort"], ["uniq", "-c"]]);
 * ```
 */
export async function pipeline<E extends OutputEncoding = "utf8">(
  stages: readonly PipelineStage[],
  options: PipelineOptions<E> = {},
): Promise<PipelineResult<Output<E>>> {
  checkStages(stages);
  const { input, output } = options;
  if (typeof input !== "number") checkInput(input);
  const spawnOptions = resolveSpawnOptions(options);
  const maxOutput = resolveLimit("maxOutput", options.maxOutput, DEFAULT_MAX_OUTPUT);
  const display = stages.map(([command, ...args]) => formatCommand(command!, args)).join(" | ");
  checkDeadline(`pipeline \`${display}\``, options);
  const inputSlot: Slot = input === undefined ? "ignore" : typeof input === "number" ? input : "pipe";
  const group = new StageGroup(await startAll(stages, spawnOptions, inputSlot, typeof output === "number" ? output : "pipe"));
  const { children } = group;
  const disarm = armDeadline(`pipeline \`${display}\``, options, (reason) => group.stop(reason));
  const stop = (error: unknown): void => group.stop(error as Error);
  const stderr = children.map((child) => new OutputCollector(child.stderr!, maxOutput, "stderr", child.command, stop));
  const stdout = collectOutput(children[children.length - 1]!, output, maxOutput, stop);
  if (input !== undefined && typeof input !== "number") feed(children[0]!.stdin!, input, stop);
  try {
    const statuses = await Promise.all(children.map((child) => child.exited));
    await Promise.all([stdout.done, ...stderr.map((s) => s.done)]);
    if (group.stopped !== undefined && group.failure === undefined) throw group.stopped;
    const results: StageResult[] = statuses.map((status, i) => ({
      command: stages[i]![0]!,
      args: stages[i]!.slice(1),
      ...status,
      stderr: stderr[i]!.value("utf8") as string,
    }));
    const failure = group.failure;
    if (failure !== undefined && options.reject !== false) {
      const what = children.length === 1 ? "pipeline stage" : `pipeline stage ${failure + 1} of ${children.length}`;
      throw new ProcessExitError(what, children[failure]!.command, statuses[failure]!, stderr[failure]!.tail(), results);
    }
    const encoding: OutputEncoding = options.encoding ?? "utf8";
    return {
      stdout: (stdout.collector?.value(encoding) ?? (encoding === "buffer" ? new Uint8Array(0) : "")) as Output<E>,
      stages: results,
      durationMs: performance.now() - children[0]!.startedAt,
    };
  } finally {
    disarm();
  }
}

/** The running stages: stopping them all, and noticing the first one that fails. */
class StageGroup {
  readonly children: readonly ManagedProcess[];
  /** Why the stages were stopped, if they were. */
  stopped: Error | undefined;
  /** The index of the first stage that failed on its own. */
  failure: number | undefined;

  constructor(children: readonly ManagedProcess[]) {
    this.children = children;
    children.forEach((child, i) => {
      void child.exited.then((status) => {
        if (this.stopped !== undefined || !stageFailed(status, i, children.length)) return;
        this.failure = i;
        this.stop(new Error(`stage ${i + 1} failed`), false);
      });
    });
  }

  /**
   * Stops every stage. A timeout, an abort or too much output also drops the pipes at once (nothing in them
   * matters any more, and a background process holding one must not keep the pipeline waiting); a failed
   * stage does not, so that every stage's stderr is still read to its end.
   */
  stop(reason: Error, dropPipes = true): void {
    this.stopped ??= reason;
    for (const child of this.children) {
      child.stop(reason);
      if (dropPipes) child.destroyStreams();
    }
  }
}

/** The last stage's stdout: collected, or written into `output` with backpressure (not ended). */
function collectOutput(
  last: ManagedProcess,
  output: Writable | number | undefined,
  maxOutput: number,
  stop: (error: unknown) => void,
): { done: Promise<void>; collector: OutputCollector | undefined } {
  const stdout = last.stdout;
  if (stdout === null) return { done: Promise.resolve(), collector: undefined };
  if (output === undefined) {
    const collector = new OutputCollector(stdout, maxOutput, "stdout", last.command, stop);
    return { done: collector.done, collector };
  }
  const target = output as Writable;
  const onError = (error: unknown): void => stop(error);
  target.on("error", onError);
  stdout.on("error", onError);
  stdout.pipe(target, { end: false });
  const done = new Promise<void>((resolve) => stdout.once("close", resolve)).finally(() => {
    stdout.unpipe(target);
    target.off("error", onError);
  });
  return { done, collector: undefined };
}
