/**
 * Batching writes (docs/guide.md#batching): 100 000 small writes to a child, one write(2) each, against the
 * same 100 000 messages sent over spawnChannel(), whose framing batches the sends of one tick into one write.
 * The number of write calls is this process's own count (/proc/self/io).
 *
 *   pnpm example pipe-batching
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parentChannel, spawnChannel } from "@ipc/pipe";

const LINES = 100_000;
const writeCalls = (): number => Number(/^syscw:\s*(\d+)/m.exec(readFileSync("/proc/self/io", "utf8"))![1]);

if (process.argv[2] === "child") {
  // Counts the messages up to an empty one, answers with the count, and starts over.
  const channel = parentChannel();
  let count = 0;
  for await (const message of channel) {
    if (message.byteLength > 0) count++;
    else await channel.send(new TextEncoder().encode(String(count)));
    if (message.byteLength === 0) count = 0;
  }
  await channel.close();
} else {
  // Naive: one write() per line. Node writes each at once while the pipe has room: one system call each.
  const cat = spawn("sh", ["-c", "cat > /dev/null"], { stdio: ["pipe", "ignore", "inherit"] });
  let calls = writeCalls();
  let start = performance.now();
  for (let i = 0; i < LINES; i++) {
    if (!cat.stdin!.write(`Line ${i}\n`)) await once(cat.stdin!, "drain");
  }
  cat.stdin!.end();
  await once(cat, "exit");
  console.log(`naive: ${LINES} lines, ${writeCalls() - calls} write calls, ${(performance.now() - start).toFixed(0)} ms`);

  // Batched: the same lines as messages over a channel; send() resolves at once while under the
  // high-water mark, and what is sent in one tick leaves in one write (64 KiB at most).
  const channel = await spawnChannel(process.execPath, [fileURLToPath(import.meta.url), "child"]);
  // A first round trip, so that the child's start-up is not counted.
  await channel.send(new Uint8Array(0));
  await channel.receive({ timeout: 10_000 });
  calls = writeCalls();
  start = performance.now();
  const encoder = new TextEncoder();
  for (let i = 0; i < LINES; i++) await channel.send(encoder.encode(`Line ${i}\n`));
  await channel.send(new Uint8Array(0));
  const count = new TextDecoder().decode(await channel.receive({ timeout: 10_000 }));
  const sendCalls = writeCalls() - calls;
  console.log(`batched: ${count} messages, ${sendCalls} write calls, ${(performance.now() - start).toFixed(0)} ms`);
  await channel.close({ timeout: 10_000 });
}
