/**
 * A request/response protocol over a Unix socket (docs/guide.md#typed-messages-the-envelope) — with the core
 * envelope (`messageChannel`) instead of bincode, and requests matched to responses by id. A request
 * `{ id, data }` becomes a `command` message; the `Response` a `text` message, and errors are told apart by their
 * command.
 *
 *   pnpm example unix-protocol
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messageChannel, type ChannelMessage } from "@ipc/channels";
import { connect, listen } from "@ipc/unix";

const dir = mkdtempSync(join(tmpdir(), "ipc-example-"));
const path = join(dir, "protocol.sock");
const listener = await listen(path);

// The server: each request is a command ["request", id, data]; the response is text "id:Processed: data".
const serving = (async () => {
  for await (const connection of listener) {
    const channel = messageChannel(connection);
    for await (const message of channel) {
      if (message.kind === "command" && message.cmd === "request") {
        const [id, data] = message.args;
        await channel.send({ kind: "text", text: `${id}:Processed: ${data}` });
      } else {
        await channel.send({ kind: "command", cmd: "error", args: ["0", "Invalid message type"] });
      }
    }
    await channel.close();
  }
})();

const client = messageChannel(await connect(path, { timeout: 2000 }));
const describe = (m: ChannelMessage | undefined): string =>
  m === undefined ? "nothing" : m.kind === "text" ? `response ${m.text}` : m.kind === "command" ? `${m.cmd} ${m.args.join(" ")}` : m.kind;
for (const [id, data] of [
  ["1", "hello"],
  ["2", "world"],
] as const) {
  await client.send({ kind: "command", cmd: "request", args: [id, data] });
  console.log(`request ${id} → ${describe(await client.receive({ timeout: 2000 }))}`);
}
await client.send({ kind: "binary", binary: new Uint8Array([1, 2, 3]) });
console.log(`binary → ${describe(await client.receive({ timeout: 2000 }))}`);
await client.close({ timeout: 2000 });
await listener.close();
await serving;
rmSync(dir, { recursive: true, force: true });
