/**
 * The contract in thirty lines, without the OS: an echo server and a client on the in-memory transport.
 * Swap `memoryTransport` and the address for any other transport and the code stays the same.
 *
 *   pnpm example memory-echo
 */
import { memoryTransport } from "@ipc/core";

const text = new TextEncoder();
const read = new TextDecoder();

await using listener = await memoryTransport.listen("memory://echo");

// The server: echo every message of every connection until its client closes.
const serving = (async () => {
  for await (const connection of listener) {
    for await (const message of connection) await connection.send(message);
    await connection.close();
  }
})();

{
  await using client = await memoryTransport.connect("memory://echo", { timeout: 1000 });
  for (const word of ["hello", "from", "memory"]) {
    await client.send(text.encode(word));
    const reply = await client.receive({ timeout: 1000 });
    console.log(`sent ${word} → got ${read.decode(reply)}`);
  }
} // `await using` closes the client here; the server sees the end of its loop.

await listener.close();
await serving;
console.log("done");
