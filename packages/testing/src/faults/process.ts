/**
 * Process-level faults: a server in a child process that a test can SIGKILL and start again, or freeze
 * (SIGSTOP) and thaw (SIGCONT). The child prints one line when it is ready (e.g. `ready`), which
 * `start()` waits for; every line it prints is kept in `lines`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { ClosedError, InvalidArgumentError, TimeoutError } from "@ipc/core";

/** How to run the server. */
export interface ServerProcessOptions {
  /** The program and its arguments, e.g. `[process.execPath, "server.mjs", address]`. */
  readonly command: readonly string[];
  /** Extra environment variables. Default: none (the parent's environment is inherited). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** The line (or a pattern of it) the child prints once it serves. Default: `"ready"`. */
  readonly ready?: string | RegExp | undefined;
  /** Milliseconds `start()` waits for that line. Default: 20 000. */
  readonly startTimeout?: number | undefined;
}

/** A server process under the test's control. */
export interface ServerProcess extends AsyncDisposable {
  /** The running child's pid (undefined between a kill and the next start). */
  readonly pid: number | undefined;
  /** Every line the children printed on stdout, across restarts. */
  readonly lines: readonly string[];
  /** Starts the child and waits for its ready line. */
  start(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and waits for the child to exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the child (SIGKILL) and starts a new one: the server process restarts, its state gone. */
  restart(): Promise<void>;
  /** SIGSTOP: the child stops running but its sockets stay open (a hung peer). */
  freeze(): void;
  /** SIGCONT after {@link ServerProcess.freeze}. */
  thaw(): void;
  /** Resolves with the first line printed from now on that matches `pattern`. */
  waitForLine(pattern: string | RegExp, timeout?: number): Promise<string>;
}

/** Describes a server process; nothing runs until `start()`. */
export function serverProcess(options: ServerProcessOptions): ServerProcess {
  return new Server(options);
}

class Server implements ServerProcess {
  readonly lines: string[] = [];
  readonly #options: ServerProcessOptions;
  #child: ChildProcess | undefined;
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  #watchers: { pattern: string | RegExp; resolve(line: string): void }[] = [];

  constructor(options: ServerProcessOptions) {
    this.#options = options;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) throw new InvalidArgumentError("the server process is already running");
    const [program, ...args] = this.#options.command;
    const child = spawn(program!, args, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...this.#options.env } });
    this.#child = child;
    this.#exit = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    createInterface({ input: child.stdout! }).on("line", (line) => this.#onLine(line));
    const ready = this.waitForLine(this.#options.ready ?? "ready", this.#options.startTimeout ?? 20_000);
    const died = this.#exit.then(({ code, signal }) => {
      throw new ClosedError(`the server process exited (code ${code}, signal ${signal}) before it was ready`);
    });
    await Promise.race([ready, died]);
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.#child;
    if (child === undefined) throw new ClosedError("the server process is not running");
    if (child.exitCode === null && child.signalCode === null) {
      if (signal === "SIGKILL" || signal === "SIGTERM") child.kill("SIGCONT"); // a frozen child cannot exit
      child.kill(signal);
    }
    const exit = await this.#exit!;
    this.#child = undefined;
    return exit;
  }

  async restart(): Promise<void> {
    await this.kill("SIGKILL");
    await this.start();
  }

  freeze(): void {
    this.#child?.kill("SIGSTOP");
  }

  thaw(): void {
    this.#child?.kill("SIGCONT");
  }

  waitForLine(pattern: string | RegExp, timeout = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#watchers = this.#watchers.filter((w) => w !== watcher);
        reject(new TimeoutError(`the server process printed no line matching ${String(pattern)} within ${timeout} ms`, timeout));
      }, timeout);
      const watcher = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.#watchers.push(watcher);
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#child !== undefined) await this.kill("SIGKILL");
  }

  #onLine(line: string): void {
    this.lines.push(line);
    for (const watcher of [...this.#watchers]) {
      const { pattern } = watcher;
      if (typeof pattern === "string" ? line === pattern : pattern.test(line)) {
        this.#watchers = this.#watchers.filter((w) => w !== watcher);
        watcher.resolve(line);
      }
    }
  }
}
