/**
 * Anonymous pipes (docs/guide.md#running-a-command): write to a child's stdin, close it, read its stdout and
 * exit status. `run()` writes the input while reading the output (so any amount of either flows without
 * deadlock) and closes stdin when the input is written — the two classic pipe mistakes
 * (docs/guide.md#pipes-and-pipelines) avoided.
 *
 *   pnpm example pipe-basic
 */
import { ProcessExitError, run } from "@ipc/pipe";

const { stdout, code, signal, durationMs } = await run("cat", [], { input: "Hello Pipe!\nLine 2\n" });
console.log(`Output: ${JSON.stringify(stdout)}`);
console.log(`Exit status: code ${String(code)}, signal ${String(signal)} (${durationMs.toFixed(1)} ms)`);

// A failure is a typed error carrying the exit status and the end of stderr.
try {
  await run("ls", ["/no/such/directory"]);
} catch (error) {
  if (!(error instanceof ProcessExitError)) throw error;
  console.log(`${error.code}: exit code ${String(error.exitCode)}, stderr ${JSON.stringify(error.stderr.trim())}`);
}
