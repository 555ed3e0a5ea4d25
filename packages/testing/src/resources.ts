/**
 * What a test opened — connections, listeners, child processes, background tasks, other clean-ups — released
 * after it, pass or fail (from the test framework's after-each hook: this package never imports one).
 */
import type { ChildProcess } from "node:child_process";
import type { Connection, Listener } from "@ipc/core";

/** Everything a test opened, released by {@link Resources.release}. */
export class Resources {
  readonly #connections = new Set<Connection>();
  readonly #listeners = new Set<Listener>();
  readonly #children = new Set<ChildProcess>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #cleanups: (() => unknown)[] = [];

  /** Aborted on release. Returns `connection`. */
  connection<T extends Connection>(connection: T): T {
    this.#connections.add(connection);
    return connection;
  }

  /** Closed on release. Returns `listener`. */
  listener<T extends Listener>(listener: T): T {
    this.#listeners.add(listener);
    return listener;
  }

  /** SIGKILLed on release if it still runs. Returns `child`. */
  child(child: ChildProcess): ChildProcess {
    this.#children.add(child);
    return child;
  }

  /** A background task whose failure must not become an unhandled rejection; awaited on release. */
  task<T>(promise: Promise<T>): Promise<T> {
    const quiet = promise.catch(() => undefined);
    this.#tasks.add(quiet);
    return promise;
  }

  /** Runs on release, after the above, the last one registered first. */
  cleanup(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  /** Kills the children, aborts the connections, closes the listeners, awaits the tasks, runs the clean-ups. */
  async release(): Promise<void> {
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    for (const connection of this.#connections) connection.abort();
    await Promise.allSettled([...this.#listeners].map((l) => l.close()));
    await Promise.allSettled([...this.#tasks]);
    for (const fn of this.#cleanups.splice(0).reverse()) await fn();
    this.#connections.clear();
    this.#listeners.clear();
    this.#children.clear();
    this.#tasks.clear();
  }
}
