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
