/**
 * A connection pool (docs/guide.md#reconnecting-and-pools). Eight concurrent jobs share three connections
 * (borrowers wait in order), a connection whose server side died is noticed and never lent out again, and
 * `await using` gives each connection back.
 *
 *   pnpm example tcp-pool
 */
import type { Connection } from "@ipc/core";
import { listen, pool } from "@ipc/tcp";

const text = new TextEncoder();
const read = new TextDecoder();

await using listener = await listen("tcp://127.0.0.1:0");
const served: Connection[] = [];
void (async () => {
  for await (const connection of listener) {
    served.push(connection);
    void (async () => {
      for await (const message of connection) await connection.send(message);
    })().catch(() => undefined);
  }
})();

await using connections = pool(listener.address, { max: 3, acquireTimeout: 5000 });
await Promise.all(
  Array.from({ length: 8 }, async (_, job) => {
    await using connection = await connections.acquire();
    await connection.send(text.encode(`job ${job}`));
    await connection.receive({ timeout: 2000 });
  }),
);
console.log(`8 jobs ran over ${served.length} connections; ${connections.idle} idle now`);

// The server drops one connection: the pool notices (no ping needed) and lends only live ones.
served[0]!.abort();
while (connections.idle === 3) await new Promise((resolve) => setTimeout(resolve, 5));
console.log(`a server-side close was noticed: ${connections.idle} idle left`);
{
  await using connection = await connections.acquire();
  await connection.send(text.encode("still fine"));
  console.log(`after the loss: ${read.decode(await connection.receive({ timeout: 2000 }))}`);
}
