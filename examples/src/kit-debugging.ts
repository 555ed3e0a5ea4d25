/**
 * Debugging IPC (docs/guide.md#debugging), at the level of messages rather than packets:
 * 1. a `logger` (or `NODE_DEBUG=ipc` in the environment) logs every connection and message size;
 * 2. `ipc trace <listen-url> <upstream-url>` (the command of @ipc/cli) sits between a client and a server
 *    and logs every message both ways — what tcpdump and strace show as bytes. Here it runs as a child
 *    process.
 *
 *   pnpm example kit-debugging
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { connect, formatDebugEvent, listen } from "@ipc/kit";

const server = `unix-abstract:kit-debugging-server-${process.pid}`;
const traced = `unix-abstract:kit-debugging-traced-${process.pid}`;

await using listener = await listen(server);
void (async () => {
  for await (const connection of listener) for await (const m of connection) await connection.send(m);
})();

// 1. A logger on one connection.
const client = await connect(server, { logger: (event) => console.log(`  log: ${formatDebugEvent(event)}`) });
await client.send(new TextEncoder().encode("logged"));
await client.receive({ timeout: 1000 });
await client.close({ timeout: 1000 });

// 2. The ipc command's trace proxy in front of the server: the `ipc` executable of @ipc/cli, where its
// package.json's "bin" says it is.
const cliPackage = createRequire(import.meta.url).resolve("@ipc/cli/package.json");
const cli = join(dirname(cliPackage), (JSON.parse(readFileSync(cliPackage, "utf8")) as { bin: { ipc: string } }).bin.ipc);
const proxy = spawn(process.execPath, [cli, "trace", traced, server, "--print", "utf8"], { stdio: ["ignore", "pipe", "pipe"] });
try {
  await once(createInterface({ input: proxy.stderr! }), "line"); // "tracing …": it is listening
  const lines = createInterface({ input: proxy.stdout! })[Symbol.asyncIterator]();
  // Through another process: generous limits, so that a busy machine does not fail the example.
  const through = await connect(traced, { timeout: 10_000 });
  await through.send(new TextEncoder().encode("hello through the tracer"));
  console.log(`client got: ${new TextDecoder().decode(await through.receive({ timeout: 10_000 }))}`);
  for (let i = 0; i < 3; i++) console.log(`  trace: ${(await lines.next()).value.replace(/^\S+ /, "")}`);
  through.abort();
} finally {
  proxy.kill();
}
