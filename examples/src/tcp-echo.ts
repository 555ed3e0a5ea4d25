/**
 * A TCP echo server and a client (docs/guide.md#tcp-tuning-and-pools). Port 0 picks a free port; the listener
 * reports it. Nagle is off and keep-alive on by default; the kernel's buffer sizes are reported.
 *
 *   pnpm example tcp-echo
 */
import { connect, listen } from "@ipc/tcp";

const text = new TextEncoder();
const read = new TextDecoder();

await using listener = await listen("tcp://127.0.0.1:0");
console.log(`[server] listening on ${listener.address}`);
const serving = (async () => {
  for await (const connection of listener) {
    console.log(`[server] connection from ${connection.remoteAddress}`);
    for await (const message of connection) await connection.send(message);
    await connection.close();
  }
})();

{
  await using client = await connect(listener.address, { timeout: 2000 });
  console.log(`[client] socket: noDelay ${client.socket.noDelay}, keepAlive ${client.socket.keepAlive}`);
  for (const line of ["Hello, TCP!", "a second line"]) {
    await client.send(text.encode(line));
    console.log(`[client] echo: ${read.decode(await client.receive({ timeout: 2000 }))}`);
  }
}
await listener.close();
await serving;
