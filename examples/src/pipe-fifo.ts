/**
 * Named pipes (docs/guide.md#fifos): mkfifo, a writer in another process, a reader here that waits for it
 * without blocking the event loop (and without holding a threadpool thread). Then the fifo: transport
 * (docs/guide.md#the-fifo-transport): message connections between unrelated processes over pairs of FIFOs.
 *
 *   pnpm example pipe-fifo
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fifoTransport, mkfifo, openFifoReader, run } from "@ipc/pipe";

const [role, address] = process.argv.slice(2);
if (role === "client") {
  // Another process: connect, send, print the answer.
  const connection = await fifoTransport.connect(address!, { timeout: 5000 });
  await connection.send(new TextEncoder().encode("Hello over a FIFO pair!"));
  console.log(`client got: ${new TextDecoder().decode(await connection.receive({ timeout: 5000 }))}`);
  await connection.close({ timeout: 5000 });
} else {
  const dir = mkdtempSync(join(tmpdir(), "pipe-fifo-"));
  try {
    const path = join(dir, "my_fifo");
    mkfifo(path, 0o600);
    const reader = openFifoReader(path);
    let received = "";
    reader.on("data", (chunk: Buffer) => (received += chunk.toString()));
    const ended = new Promise((resolve) => reader.once("end", resolve));
    // The writer is another process with a plain blocking open(2).
    await run("sh", ["-c", `echo 'Hello from writer!' > ${path}`]);
    await ended;
    console.log(`Received: ${received.trim()}`);

    const fifoAddress = `fifo://${join(dir, "service")}`;
    await using listener = await fifoTransport.listen(fifoAddress);
    const serving = (async () => {
      const connection = (await listener.accept({ timeout: 5000 }))!;
      for await (const message of connection) {
        await connection.send(new TextEncoder().encode(new TextDecoder().decode(message).toUpperCase()));
      }
      await connection.close({ timeout: 5000 });
    })();
    const { stdout } = await run(process.execPath, [process.argv[1]!, "client", fifoAddress], { timeout: 10_000 });
    process.stdout.write(stdout);
    await serving;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
