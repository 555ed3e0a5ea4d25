/**
 * Performance practice (docs/guide.md#batching-and-zero-copy), measured rather than asserted:
 * - batching (docs/guide.md#batching) — sends issued in the same tick leave in one write: no need to
 *   concatenate by hand;
 * - zero copy (docs/guide.md#zero-copy) — a large message is written from the caller's array, and shared
 *   memory skips the kernel;
 * - connection reuse (docs/guide.md#reusing-connections) — one connection for many requests instead of one
 *   per request.
 * The numbers vary with the machine; what the example shows is the ratio.
 *
 *   pnpm example kit-performance
 */
import { connect, listen, type Connection } from "@ipc/kit";

const url = `unix-abstract:kit-performance-${process.pid}`;
await using listener = await listen(url);
void (async () => {
  for await (const connection of listener) {
    void (async () => {
      for await (const message of connection) if (message.byteLength > 0 && message[0] === 1) await connection.send(message);
    })().catch(() => undefined);
  }
})();

async function time(what: string, run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  const ms = performance.now() - start;
  console.log(`${what}: ${ms.toFixed(1)} ms`);
  return ms;
}

const request = new Uint8Array([1, 2, 3]);
const small = new Uint8Array(64);
const client: Connection = await connect(url);

// Batching: awaiting each send vs handing many sends to one tick (they are written together).
const oneByOne = await time("batching: 20 000 sends, awaited one by one", async () => {
  for (let i = 0; i < 20_000; i++) await client.send(small);
});
const batched = await time("batching: 20 000 sends, 100 per tick", async () => {
  for (let i = 0; i < 200; i++) await Promise.all(Array.from({ length: 100 }, () => client.send(small)));
});
console.log(`    batching: ${(oneByOne / batched).toFixed(1)}× faster`);

// Connection reuse: a request per connection vs one reused connection.
const fresh = await time("reuse: 200 requests, a new connection each", async () => {
  for (let i = 0; i < 200; i++) {
    const c = await connect(url);
    await c.send(request);
    await c.receive();
    await c.close();
  }
});
const reused = await time("reuse: 200 requests over one connection", async () => {
  for (let i = 0; i < 200; i++) {
    await client.send(request);
    await client.receive();
  }
});
console.log(`    reuse: ${(fresh / reused).toFixed(1)}× faster`);

// Zero copy: a 4 MiB message is sent without copying it into an intermediate buffer first.
const big = new Uint8Array(4 << 20);
await time("zero copy: 25 messages of 4 MiB (100 MiB)", async () => {
  for (let i = 0; i < 25; i++) await client.send(big);
});
console.log("    for zero copies between processes, use shm:// (see pnpm example shm-transport)");
await client.close();
