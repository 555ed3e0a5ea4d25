/**
 * "Sticky packets" on TCP (docs/guide.md#framing): a client sends a thousand small messages as fast as it can
 * — they travel in a few big segments, and the server reads them in a few big chunks — yet every message
 * comes out whole and in order. Then one 1 MiB message, split over many reads, comes out whole too.
 *
 *   pnpm example tcp-sticky-packets
 */
import { connect, listen } from "@ipc/tcp";

await using listener = await listen("tcp://127.0.0.1:0");
const received = (async () => {
  const connection = (await listener.accept({ timeout: 2000 }))!;
  const sizes: number[] = [];
  let inOrder = true;
  for await (const message of connection) {
    if (message.byteLength < 100 && new TextDecoder().decode(message) !== `message ${sizes.length}`) inOrder = false;
    sizes.push(message.byteLength);
  }
  return { sizes, inOrder };
})();

const client = await connect(listener.address, { timeout: 2000 });
for (let i = 0; i < 1000; i++) await client.send(new TextEncoder().encode(`message ${i}`));
await client.send(new Uint8Array(1024 * 1024).fill(7));
await client.close({ timeout: 2000 });

const { sizes, inOrder } = await received;
console.log(`${sizes.length} messages arrived, ${inOrder ? "each whole and in order" : "OUT OF ORDER"}`);
console.log(`the last one is ${sizes[sizes.length - 1]} bytes`);
