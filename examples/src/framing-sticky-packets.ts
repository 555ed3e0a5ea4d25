/**
 * Why framing exists (docs/guide.md#framing: "sticky packets"): a byte stream has no message boundaries. Here
 * a raw client writes three messages as ONE write — and then one message split over five writes — to a server
 * that wraps its socket in `framed()`. The server still receives exactly the messages that were sent.
 *
 *   pnpm example framing-sticky-packets
 */
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeFrame, framed } from "@ipc/framing";

const dir = mkdtempSync(join(tmpdir(), "ipc-example-"));
const path = join(dir, "sticky.sock");
const text = new TextEncoder();

const received: string[] = [];
const server = net.createServer({ allowHalfOpen: true }, async (socket) => {
  const connection = framed(socket);
  for await (const message of connection) received.push(new TextDecoder().decode(message));
  await connection.close();
});
server.listen(path);
await once(server, "listening");

const socket = net.connect(path);
await once(socket, "connect");
// Three frames glued together in one write…
const glued = Buffer.concat(["Message 1", "Message 2", "Message 3"].map((m) => encodeFrame(text.encode(m))));
socket.write(glued);
// …and one frame trickling in over five writes.
const split = encodeFrame(text.encode("a message that arrives in pieces"));
for (let at = 0; at < split.length; at += 8) {
  socket.write(split.subarray(at, at + 8));
  await new Promise((resolve) => setTimeout(resolve, 5));
}
socket.end();
await once(socket, "close");

server.close();
rmSync(dir, { recursive: true, force: true });
console.log(`${glued.length + split.length} bytes in 6 writes became ${received.length} messages:`);
for (const message of received) console.log(`  "${message}"`);
