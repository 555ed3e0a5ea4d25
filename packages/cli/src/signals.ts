/** Ctrl-C (SIGINT) and SIGTERM: the commands that run until stopped end cleanly, leaving nothing behind. */
import type { Connection, Listener } from "@ipc/kit";

/** Ctrl-C (SIGINT) and SIGTERM: run `cleanup` once (close the listener, remove the socket), then exit. */
export function onSignals(cleanup: () => Promise<void> | void): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    void Promise.resolve()
      .then(cleanup)
      .catch(() => undefined)
      .finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/** Keeps `connection` in `open` until it is gone. */
export function track(open: Set<Connection>, connection: Connection): void {
  open.add(connection);
  void connection.closed.catch(() => undefined).finally(() => open.delete(connection));
}

/**
 * Closes `listener` and every connection in `open` cleanly — each peer sees a close, not a vanished
 * process (a shm peer would see its ring's owner die) — aborting one that takes more than a second.
 */
export async function closeAll(listener: Listener, open: ReadonlySet<Connection>): Promise<void> {
  await Promise.allSettled([listener.close(), ...[...open].map((c) => c.close({ timeout: 1000 }).catch(() => c.abort()))]);
}
