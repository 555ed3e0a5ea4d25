/**
 * `spawnChannel()`: a message `Connection` to a child process over its stdin and stdout, framed as in
 * docs/wire.md, so the child can be written in any language. Its stderr stays free for logs. The channel
 * and the process live and die together: the child's death ends the connection with its exit status, and
 * a broken or aborted connection stops the child.
 */
import type { Readable } from "node:stream";
import {
  AbortError,
  InvalidArgumentError,
  formatAddress,
  race,
  type CloseOptions,
  type ConnectOptions,
  type MessageBatchView,
  type MessageView,
  type Peer,
  type ReceiveBatchOptions,
  type ReceiveOptions,
  type SendOptions,
  type ViewConnection,
} from "@ipc/core";
import { Deferred, resolveConnectionOptions, settledOf } from "@ipc/core/transport";
import { framed } from "@ipc/framing";
import { ProcessExitError, failed, type ExitStatus } from "../errors.js";
import { STDERR_TAIL } from "../process/io.js";
import { checkCommand, checkDeadline, resolveSpawnOptions, type SpawnOptions } from "../process/options.js";
import { isDying, peerOf } from "../process/proc.js";
import { startProcess, type ManagedProcess } from "../process/start.js";
import type { Verdict } from "../native/socket.js";

/** Options of {@link spawnChannel}: the connection's, the process's, and what to do with its stderr. */
export interface SpawnChannelOptions extends ConnectOptions, SpawnOptions {
  /**
   * The child's stderr: `"inherit"` (this process's stderr: logs show up), `"pipe"` (readable as
   * `channel.stderr`; its last 8 KiB also go into `ProcessExitError.stderr`; unread output is dropped, so a
   * chatty child never blocks), or `"ignore"`. Default: `"inherit"`.
   */
  readonly stderr?: "inherit" | "pipe" | "ignore" | undefined;
}

/** A message connection to a child process, and the process. */
export interface ChildChannel extends ViewConnection {
  /** The child's process id. */
  readonly pid: number;
  /** The child's stderr with `stderr: "pipe"`, `null` otherwise. */
  readonly stderr: Readable | null;
  /** How the child ended; never rejects. `closed` settles only after this. */
  readonly exited: Promise<ExitStatus>;
  /** Sends `signal` (default: the `killSignal` option) to the child (or its group with `killProcessGroup`). */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Decides what an end-of-file on the child's stdout, or an error on its pipes, means. A live child closed
 * the pipe on purpose: keep it. A dying one: wait for its status, and if it failed on its own, the
 * connection ends with `ProcessExitError` instead (a SIGKILL between two frames is not a clean close).
 */
function childVerdict(child: ManagedProcess, tail: () => string): Verdict {
  let decided: Promise<Error | undefined> | undefined;
  return () => {
    if (child.status === undefined && !isDying(child.pid)) return Promise.resolve(undefined);
    decided ??= child.exited.then((status) =>
      child.stopReason === undefined && failed(status) ? new ProcessExitError("child process", child.command, status, tail()) : undefined,
    );
    return decided;
  };
}

/** Keeps the last {@link STDERR_TAIL} bytes of `stream`, and drains it so the child never blocks on it. */
function keepTail(stream: Readable): () => string {
  let kept = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    kept = Buffer.concat([kept, chunk]);
    if (kept.byteLength > 2 * STDERR_TAIL) kept = kept.subarray(kept.byteLength - STDERR_TAIL);
  });
  stream.on("error", () => undefined);
  return () => kept.subarray(Math.max(0, kept.byteLength - STDERR_TAIL)).toString("utf8");
}

class ChildConnection implements ChildChannel {
  readonly stderr: Readable | null;
  readonly #inner: ViewConnection;
  readonly #child: ManagedProcess;
  readonly #closed = new Deferred();
  #abortReason: Error | undefined;

  constructor(inner: ViewConnection, child: ManagedProcess, stderr: Readable | null) {
    this.#inner = inner;
    this.#child = child;
    this.stderr = stderr;
    inner.closed.then(
      () => void child.exited.then(() => this.#settle(undefined)),
      (error: Error) => {
        // The channel is the child's only line to this process: without it, it has to go.
        child.stop(error);
        void child.exited.then(() => this.#settle(error));
      },
    );
  }

  get localAddress(): string {
    return this.#inner.localAddress;
  }
  get remoteAddress(): string {
    return this.#inner.remoteAddress;
  }
  get peer(): Peer | undefined {
    return this.#inner.peer;
  }
  get maxMessageSize(): number {
    return this.#inner.maxMessageSize;
  }
  get pid(): number {
    return this.#child.pid;
  }
  get exited(): Promise<ExitStatus> {
    return this.#child.exited;
  }
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    return this.#inner.send(message, options);
  }

  sendBatch(messages: readonly Uint8Array[], options?: SendOptions): Promise<void> {
    return this.#inner.sendBatch(messages, options);
  }

  receive(options?: ReceiveOptions): Promise<Uint8Array | undefined> {
    return this.#inner.receive(options);
  }

  receiveBatch(options?: ReceiveBatchOptions): Promise<Uint8Array[] | undefined> {
    return this.#inner.receiveBatch(options);
  }

  /** The opt-in zero-copy receive of framed() connections (packages/pipe/README.md). */
  receiveView(options?: ReceiveOptions): Promise<MessageView | undefined> {
    return this.#inner.receiveView(options);
  }

  /** The opt-in zero-copy batch receive of framed() connections (packages/pipe/README.md). */
  receiveViews(options?: ReceiveBatchOptions): Promise<MessageBatchView | undefined> {
    return this.#inner.receiveViews(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inner[Symbol.asyncIterator]();
  }

  /** Graceful: ends the child's stdin after what was accepted, waits for its end-of-file and its exit. */
  async close(options?: CloseOptions): Promise<void> {
    void this.#inner.close();
    try {
      await race("close", settledOf(this.#closed.promise), options);
    } catch (error) {
      this.abort(error as Error);
    }
  }

  /** At once: drops the pipes and stops the child (`killSignal`, then SIGKILL after `forceKillAfter`). */
  abort(reason?: Error): void {
    if (this.#closed.settled || this.#abortReason !== undefined) return;
    const error = reason ?? new AbortError("the connection was aborted");
    this.#abortReason = error;
    this.#inner.abort(error);
    this.#child.stop(error);
  }

  kill(signal?: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #settle(error: Error | undefined): void {
    const failure = this.#abortReason ?? error;
    if (failure === undefined) this.#closed.resolve();
    else this.#closed.reject(failure);
  }
}

/**
 * Starts `command` with `args` (no shell) and resolves with a message connection over its stdin and stdout
 * (the child uses {@link parentChannel}, or speaks docs/wire.md's framing itself). `timeout` and `signal`
 * bound the start. Rejects with `SpawnError` / `PermissionDeniedError` when the child cannot start.
 *
 * The connection follows the @ipc contract. Besides: `closed` settles after the child has exited; when the
 * child dies on its own with a failure status, the connection fails with `ProcessExitError` (after the
 * messages it sent before); when the connection fails or is aborted, the child is stopped.
 */
export async function spawnChannel(command: string, args: readonly string[] = [], options: SpawnChannelOptions = {}): Promise<ChildChannel> {
  checkCommand(command, args, "spawnChannel");
  resolveConnectionOptions(options);
  const spawnOptions = resolveSpawnOptions(options);
  const stderrMode = options.stderr ?? "inherit";
  if (!["inherit", "pipe", "ignore"].includes(stderrMode)) {
    throw new InvalidArgumentError(`stderr must be "inherit", "pipe" or "ignore", got ${String(stderrMode)}`);
  }
  const address = formatAddress({ scheme: "pipe", command, args });
  checkDeadline(`spawnChannel ${address}`, options);
  const starting = startProcess(command, args, spawnOptions, ["pipe", "pipe", stderrMode]);
  const child = await race(`spawnChannel ${address}`, starting, options, () => {
    void starting.then(
      (late) => {
        late.stop(new AbortError("spawnChannel gave up before the child started"));
        late.destroyStreams();
      },
      () => undefined,
    );
  });
  const tail = child.stderr === null ? () => "" : keepTail(child.stderr);
  const verdict = childVerdict(child, tail);
  child.stdin!.holdUntil(verdict);
  child.stdout!.holdUntil(verdict);
  const inner = framed(
    { readable: child.stdout!, writable: child.stdin! },
    { ...options, localAddress: "pipe:", remoteAddress: address, peer: peerOf(child.pid), peerName: "the child" },
  );
  return new ChildConnection(inner, child, child.stderr);
}
