/**
 * A Unix socket echo server and a client — in two processes (docs/guide.md#unix-sockets-and-permissions). The
 * server's socket file is created 0600 and removed when it closes; the client learns the server's pid from
 * the socket itself.
 *
 *   pnpm example unix-echo
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, listen } from "@ipc/unix";

const text = new TextEncoder();
const read = new TextDecoder();

if (process.argv[2] === "server") {
  const listener = await listen(process.argv[3]!);
  console.log(`[server ${process.pid}] listening on ${listener.address}`);
  const connection = await listener.accept();
  console.log(`[server] client connected: pid ${connection!.peer?.pid}, uid ${connection!.peer?.uid}`);
  for await (const message of connection!) {
    console.log(`[server] received: ${read.decode(message)}`);
    await connection!.send(message);
  }
  await connection!.close();
  await listener.close();
} else {
  const dir = mkdtempSync(join(tmpdir(), "ipc-example-"));
  const path = join(dir, "echo.sock");
  const server = spawn(process.execPath, [fileURLToPath(import.meta.url), "server", path], { stdio: ["ignore", "inherit", "inherit"] });
  // The server may still be starting: retry the connect for a moment.
  let client;
  for (let attempt = 0; client === undefined; attempt++) {
    try {
      client = await connect(path, { timeout: 2000 });
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  console.log(`[client] connected to pid ${client.peer?.pid}`);
  for (const line of ["Hello, Unix socket!", "second message"]) {
    await client.send(text.encode(line));
    console.log(`[client] echo: ${read.decode(await client.receive({ timeout: 2000 }))}`);
  }
  await client.close({ timeout: 2000 });
  await new Promise((resolve) => server.once("exit", resolve));
  rmSync(dir, { recursive: true, force: true });
}
