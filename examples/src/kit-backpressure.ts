/**
 * Backpressure (docs/guide.md#backpressure): a fast sender and a slow reader. `send()` resolves only once the
 * transport has room, so the sender slows down to the reader's pace and memory stays bounded — no queue to
 * size, no hand-kept counter of what is in flight to keep in sync.
 *
 *   pnpm example kit-backpressure
 */
import { setTimeout as sleep } from "node:timers/promises";
import { connect, listen } from "@ipc/kit";

const url = `unix-abstract:kit-backpressure-${process.pid}`;
const highWaterMark = 64 * 1024;
await using listener = await listen(url, { highWaterMark });

let received = 0;
const reader = (async () => {
  const connection = (await listener.accept())!;
  for await (const _message of connection) {
    received++;
    if (received % 50 === 0) await sleep(50); // a slow consumer
  }
  return received;
})();

await using client = await connect(url, { highWaterMark });
const message = new Uint8Array(16 * 1024);
let ahead = 0;
for (let sent = 1; sent <= 400; sent++) {
  await client.send(message); // waits whenever the reader falls behind
  ahead = Math.max(ahead, sent - received);
}
await client.close({ timeout: 10_000 });
console.log(`sent 400 messages of 16 KiB (6.25 MiB) to a slow reader, which received ${await reader}`);
// What is in flight is bounded by the two highWaterMarks plus the kernel's socket buffers, not by the backlog.
console.log(`the sender was never more than ${ahead} messages ahead of the reader (of 400)`);
