/**
 * Starting and stopping a process, the part every function of this package shares. Each stdio stream to
 * this process is a Unix socketpair, as Node's own `'pipe'` (measured here: a Node writer moves data 2–3×
 * faster into one than into a 64 KiB or 1 MiB pipe), or a real pipe (`pipe2`) of `pipeCapacity` bytes when
 * that option is given. Either way this process keeps one end as a {@link PipeSocket} (so its errors are
 * typed and its end-of-file can wait for the exit status), the child gets the other as its fd 0, 1 or 2,
 * and this process's copy of the child's end is closed right after the spawn (or end-of-file never comes).
 * Where native calls cannot be made, the socket pair is made through node:net (stdio-pair.ts), and
 * `pipeCapacity` is an `UnsupportedError`.
 */
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { closeSync } from "node:fs";
import { InvalidArgumentError, PermissionDeniedError } from "@ipc/core";
import { noop } from "@ipc/core/transport";
import { createPipe, type PipeEnds } from "../native/capacity.js";
import type { ExitStatus } from "../errors.js";
import { SpawnError } from "../errors.js";
import { canUse, socketpair } from "../native/native.js";
import { formatCommand, type ResolvedSpawnOptions } from "./options.js";
import { withParentDeath } from "./parent-death.js";
import { PipeSocket } from "../native/socket.js";
import { closeEnd, pairWith, type ChildEnd } from "./stdio-pair.js";

/**
 * How one of fds 0, 1, 2 of a child is wired: a new pipe, /dev/null, this process's, or a given end (an fd,
 * or a socket made through node:net).
 */
export type Slot = "pipe" | "ignore" | "inherit" | ChildEnd;

const STREAM_NAMES = ["stdin", "stdout", "stderr"] as const;

/** A started process: its pipes, how it ended, and how to stop it. */
export class ManagedProcess {
  readonly pid: number;
  /** The command line, for messages. */
  readonly command: string;
  readonly stdin: PipeSocket | null;
  readonly stdout: PipeSocket | null;
  readonly stderr: PipeSocket | null;
  /** Resolves once the process has exited and been reaped; never rejects. */
  readonly exited: Promise<ExitStatus>;
  /** `performance.now()` when it started. */
  readonly startedAt: number;
  readonly #child: ChildProcess;
  readonly #options: ResolvedSpawnOptions;
  readonly #onStop: ((reason: Error) => void)[] = [];
  #status: ExitStatus | undefined;
  #stopReason: Error | undefined;
  #forceKill: NodeJS.Timeout | undefined;

  constructor(child: ChildProcess, command: string, options: ResolvedSpawnOptions, streams: (PipeSocket | null)[], startedAt: number) {
    this.#child = child;
    this.pid = child.pid!;
    this.command = command;
    this.#options = options;
    this.startedAt = startedAt;
    [this.stdin, this.stdout, this.stderr] = [streams[0] ?? null, streams[1] ?? null, streams[2] ?? null];
    // A failed kill() is reported as 'error' on the child: nothing to do about it here.
    child.on("error", noop);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.#status = { code, signal };
        if (!options.killProcessGroup && this.#forceKill !== undefined) clearTimeout(this.#forceKill);
        resolve(this.#status);
      });
    });
  }

  /** How it ended, once it has. */
  get status(): ExitStatus | undefined {
    return this.#status;
  }

  /** Why this library stopped it, if it did. */
  get stopReason(): Error | undefined {
    return this.#stopReason;
  }

  /** Runs `hook` when (if) the process is stopped, before it is signalled. */
  onStop(hook: (reason: Error) => void): void {
    this.#onStop.push(hook);
  }

  /**
   * Stops the process for `reason` (the first reason wins): runs the stop hooks, sends `killSignal` (to the
   * group with `killProcessGroup`), and SIGKILL after `forceKillAfter` if it is still running.
   */
  stop(reason: Error): void {
    if (this.#stopReason !== undefined) return;
    this.#stopReason = reason;
    for (const hook of this.#onStop) hook(reason);
    const group = this.#options.killProcessGroup;
    if (this.#status !== undefined && !group) return;
    this.kill(this.#options.killSignal);
    if (this.#options.forceKillAfter !== Infinity) {
      this.#forceKill = setTimeout(() => this.kill("SIGKILL"), this.#options.forceKillAfter);
      this.#forceKill.unref();
    }
  }

  /** Sends `signal` to the process (or its group), unless it has exited. */
  kill(signal: NodeJS.Signals = this.#options.killSignal): void {
    if (this.#options.killProcessGroup) {
      try {
        process.kill(-this.pid, signal);
      } catch {
        // ESRCH: the whole group is gone.
      }
      return;
    }
    if (this.#status === undefined) this.#child.kill(signal);
  }

  /** Destroys this process's ends of the pipes (the child sees EOF / EPIPE). */
  destroyStreams(): void {
    this.stdin?.destroy();
    this.stdout?.destroy();
    this.stderr?.destroy();
  }
}

/** The pipe ends this process keeps, and the ends the child gets. */
interface Wiring {
  readonly childSlots: (string | ChildEnd)[];
  readonly ours: (PipeSocket | undefined)[];
  readonly childEnds: ChildEnd[];
}

/** `[the child's end, this process's end]` of a pipe for fd `index` (0: the child reads). */
function pipeEnds({ readFd, writeFd }: PipeEnds, index: number): [number, number] {
  return index === 0 ? [readFd, writeFd] : [writeFd, readFd];
}

/** One new stream to the child's fd `index`: the child's end, and this process's as a {@link PipeSocket}. */
async function newStream(index: number, capacity: number | undefined, what: string): Promise<[ChildEnd, PipeSocket]> {
  const direction = index === 0 ? "write" : "read";
  if (capacity !== undefined || canUse("pipe.stdio")) {
    const [child, own] = capacity === undefined ? socketpair() : pipeEnds(createPipe({ capacity }), index);
    try {
      return [child, new PipeSocket(own, direction, what)];
    } catch (error) {
      closeSync(child);
      closeSync(own);
      throw error;
    }
  }
  const own = new PipeSocket(undefined, direction, what);
  try {
    return [await pairWith(own), own];
  } catch (error) {
    own.destroy();
    throw error;
  }
}

async function wire(slots: readonly Slot[], capacity: number | undefined, display: string): Promise<Wiring> {
  const wiring: Wiring = { childSlots: [], ours: [], childEnds: [] };
  try {
    for (const [index, slot] of slots.entries()) {
      if (slot !== "pipe") {
        wiring.childSlots.push(slot);
        wiring.ours.push(undefined);
        continue;
      }
      const [child, own] = await newStream(index, capacity, `${STREAM_NAMES[index]} of \`${display}\``);
      wiring.childSlots.push(child);
      wiring.childEnds.push(child);
      wiring.ours.push(own);
    }
  } catch (error) {
    for (const end of wiring.childEnds) closeEnd(end);
    for (const own of wiring.ours) own?.destroy();
    throw error;
  }
  return wiring;
}

function spawnError(error: unknown, command: string): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const what = `cannot start \`${command}\``;
  if (code === "ENOENT") {
    return new SpawnError(`${what}: command not found (ENOENT); check its name, PATH and the cwd`, command, { cause: error });
  }
  if (code === "EACCES" || code === "EPERM") {
    return new PermissionDeniedError(`${what}: permission denied (${code}); is it executable?`, { cause: error });
  }
  if (typeof code === "string" && code.startsWith("ERR_")) {
    return new InvalidArgumentError(`${what}: ${(error as Error).message}`, { cause: error });
  }
  return new SpawnError(`${what}: ${typeof code === "string" ? code : String(error)}`, command, { cause: error });
}

/**
 * Starts `command` with fds 0–2 wired as `slots`. Resolves once the process runs; rejects with
 * `SpawnError` / `PermissionDeniedError` when it cannot start (and leaves no descriptor open). The fds in
 * `handOver` (given in `slots`) belong to the child from now on: they are closed here right after the spawn.
 */
export async function startProcess(
  command: string,
  args: readonly string[],
  options: ResolvedSpawnOptions,
  slots: readonly [Slot, Slot, Slot],
  handOver: readonly ChildEnd[] = [],
): Promise<ManagedProcess> {
  const display = formatCommand(command, args);
  let wiring: Wiring;
  try {
    wiring = await wire(slots, options.pipeCapacity, display);
  } catch (error) {
    for (const end of handOver) closeEnd(end);
    throw error;
  }
  const startedAt = performance.now();
  let child: ChildProcess;
  try {
    // With dieWithParent, setpriv starts the command (same pid): see parent-death.ts.
    const [file, argv] =
      options.parentDeathSignal === undefined ? [command, args] : withParentDeath(command, args, options.parentDeathSignal, options.cwd, options.env);
    child = spawn(file, argv, {
      cwd: options.cwd,
      env: options.env,
      stdio: wiring.childSlots as StdioOptions,
      detached: options.killProcessGroup,
      windowsHide: true,
    });
  } catch (error) {
    for (const own of wiring.ours) own?.destroy();
    throw spawnError(error, display);
  } finally {
    for (const end of [...wiring.childEnds, ...handOver]) closeEnd(end);
  }
  const streams = wiring.ours.map((own) => own ?? null);
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
  } catch (error) {
    for (const stream of streams) stream?.destroy();
    throw spawnError(error, display);
  }
  return new ManagedProcess(child, display, options, streams, startedAt);
}
