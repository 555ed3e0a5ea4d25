/**
 * Many streams over one Unix socket: a bulk transfer, request/response calls and an event stream whose reader
 * stalls, side by side. Each stream has its own credit window, so the stalled one holds up nobody. Why one
 * connection for many streams: docs/guide.md#reusing-connections.
 *
 *   pnpm example channels-mux
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mux } from "@ipc/channels";
import { connect, listen } from "@ipc/unix";

const dir = mkdtempSync(join(tmpdir(), "channels-mux-"));
const text = new TextEncoder();
const read = new TextDecoder();
try {
  await using listener = await listen(`unix://${join(dir, "mux.sock")}`);
  const accepted = listener.accept({ timeout: 5000 });
  const window = 64 * 1024; // each stream's credit: what a sender may have in flight before it waits
  const client = mux(await connect(listener.address, { timeout: 5000 }), { window });
  const server = mux((await accepted)!, { window });

  // The server: answers "rpc" calls, counts "bulk" bytes, and never reads "events" (a stalled consumer).
  const served = (async () => {
    for await (const stream of server) {
      if (stream.name === "rpc")
        void (async () => {
          for await (const call of stream) await stream.send(text.encode(`pong ${read.decode(call)}`));
        })().catch(() => undefined); // ends when the client goes
      if (stream.name === "bulk")
        void (async () => {
          let bytes = 0;
          for await (const chunk of stream) bytes += chunk.byteLength;
          console.log(`[server] bulk: ${bytes / 1024 / 1024} MiB received`);
        })().catch(() => undefined);
      if (stream.name === "events") console.log("[server] events: accepted, and never read");
    }
  })();

  const events = await client.open("events", { timeout: 5000 });
  const rpc = await client.open("rpc", { timeout: 5000 });
  const bulk = await client.open("bulk", { timeout: 5000 });

  // Fill the events stream's window: those sends are accepted (however busy the machine, hence the generous
  // limit). Each 1 KiB message costs 1 024 + 64 bytes of credit (docs/wire.md §8.3), and a message may start
  // while any credit is left. The next one waits, and only the events stream's sends do.
  const cost = 1024 + 64;
  let queued = 0;
  for (; queued * cost < window; queued++) await events.send(new Uint8Array(1024), { timeout: 10_000 });
  const waits = await events.send(new Uint8Array(1024), { timeout: 100 }).then(
    () => false,
    () => true,
  );
  console.log(`[client] events: ${queued} messages of 1 KiB sent, then send() ${waits ? "waits" : "does NOT wait"} (the reader stalls; its window is full)`);

  const sending = (async () => {
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 320; i++) await bulk.send(chunk); // 20 MiB
    await bulk.close({ timeout: 10_000 });
  })();
  for (let i = 1; i <= 3; i++) {
    await rpc.send(text.encode(`ping ${i}`));
    console.log(`[client] rpc: ${read.decode(await rpc.receive({ timeout: 5000 }))} (while the bulk stream streams)`);
  }
  await sending;
  console.log(`[client] bulk: 20 MiB sent; buffered on the server now: ${server.stats.bufferedBytes} bytes (the stalled events)`);
  client.abort();
  await served.catch(() => undefined);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log("done");
