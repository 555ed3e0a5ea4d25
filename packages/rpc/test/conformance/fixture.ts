import type { ChildProcess } from "node:child_process";
import type { Connection, ConnectOptions, ListenOptions, Listener } from "@ipc/core";

/** What a transport supplies to run the RPC suite. Every part is optional: a missing one skips its cases by name. */
export interface RpcConformanceFixture {
  /** Names the suite in the report, e.g. `"unix"`. */
  readonly name: string;
  /** A fresh, unused listener address. With `listen` and `connect`: the cases served in this process. */
  readonly address?: (() => string | Promise<string>) | undefined;
  readonly listen?: ((address: string, options?: ListenOptions) => Promise<Listener>) | undefined;
  readonly connect?: ((address: string, options?: ConnectOptions) => Promise<Connection>) | undefined;
  /** The worker-process pattern: the test service served by a child process. Absent: those cases are skipped. */
  readonly worker?: RpcWorkerCapability | undefined;
  /**
   * Cases this transport is known to fail, by title (without the group), each with the reason — the bug
   * and where it is tracked. They are skipped with the reason in their title, so the report keeps showing
   * them. Default: none.
   */
  readonly knownFailures?: Readonly<Record<string, string>> | undefined;
  /** Runs after each test, pass or fail, after the suite closed what it opened. */
  teardown?(): void | Promise<void>;
}

/**
 * How to reach a server in a child process. The suite's worker program (`worker.ts`, built to
 * `test/gen/conformance/worker.js`) imports `module` and serves the test service on the connection its
 * `workerEndpoint()` returns.
 */
export interface RpcWorkerCapability {
  /**
   * A module the worker program `import()`s. It exports `workerEndpoint(): Promise<Connection>`: the
   * child's end of its connection to the parent (e.g. `framed()` over its stdio, or the one connection a
   * listener accepted). The worker exits with 0 once that connection is closed.
   */
  readonly module: string;
  /**
   * Starts `command` (`[node, worker program, …arguments]`) as a child process connected to this one, and
   * resolves with this end of the connection once it is up.
   */
  spawn(command: readonly string[]): Promise<{ readonly connection: Connection; readonly child: WorkerProcess }>;
}

/**
 * The worker's process: a `ChildProcess`, or anything with its pid, `kill()` and a promise of how it ended
 * (an @ipc/pipe `ChildChannel` is one). The suite signals it (SIGSTOP, SIGKILL) and kills it after each test.
 */
export type WorkerProcess =
  | ChildProcess
  | {
      readonly pid: number;
      kill(signal?: NodeJS.Signals): void;
      /** Settles (never rejects) once the process has ended. */
      readonly exited: Promise<{ readonly code: number | null; readonly signal: string | null }>;
    };
