/**
 * Reading stdout and stderr at the same time (docs/guide.md#reading-stdout-and-stderr): blocking code needs a
 * thread per stream; here each is an async iterator of lines, read concurrently, with backpressure (a
 * consumer that stops reading stops the child instead of buffering its output).
 *
 *   pnpm example pipe-stdout-stderr
 */
import { spawnLines } from "@ipc/pipe";

const child = await spawnLines("sh", ["-c", 'read line; echo "stdout: got $line"; echo stderr >&2; echo done'], {
  input: "input data\n",
});
await Promise.all([
  (async () => {
    for await (const line of child.stdout) console.log(`[stdout] ${line}`);
  })(),
  (async () => {
    for await (const line of child.stderr) console.log(`[stderr] ${line}`);
  })(),
]);
const { code } = await child.exited;
console.log(`exit code ${String(code)}`);
