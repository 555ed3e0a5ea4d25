/**
 * Parent and child talking in messages (docs/guide.md#messages-to-a-child): the pipe: transport. The parent
 * connects to `pipe:<node>?arg=<this file>&arg=child`, which starts the child; the child's listen("pipe:")
 * yields its one connection, to the parent, over stdin/stdout. The child's console.log goes to stderr (the
 * channel is moved off fd 1), and its exit status ends the connection.
 *
 *   pnpm example pipe-channel
 */
import { fileURLToPath } from "node:url";
import { messageChannel } from "@ipc/channels";
import { formatAddress } from "@ipc/core";
import { pipeTransport } from "@ipc/pipe";

if (process.argv[2] === "child") {
  const listener = await pipeTransport.listen("pipe:");
  const channel = messageChannel((await listener.accept())!);
  console.log("child: this log line goes to stderr, not into the channel");
  for await (const message of channel) {
    if (message.kind === "command" && message.cmd === "add") {
      await channel.send({ kind: "text", text: `sum = ${message.args.map(Number).reduce((a, b) => a + b, 0)}` });
    } else if (message.kind === "text") {
      await channel.send({ kind: "text", text: message.text.split("").reverse().join("") });
    }
  }
  await channel.close();
} else {
  const address = formatAddress({ scheme: "pipe", command: process.execPath, args: [fileURLToPath(import.meta.url), "child"] });
  const connection = await pipeTransport.connect(address, { stderr: "pipe" });
  let logs = "";
  connection.stderr!.on("data", (chunk: Buffer) => (logs += chunk.toString()));
  console.log(`connected to child ${connection.pid} (peer pid ${String(connection.peer?.pid)})`);
  const channel = messageChannel(connection);
  await channel.send({ kind: "command", cmd: "add", args: ["19", "23"] });
  console.log(`add 19 23 → ${JSON.stringify(await channel.receive({ timeout: 5000 }))}`);
  await channel.send({ kind: "text", text: "stressed" });
  console.log(`reverse "stressed" → ${JSON.stringify(await channel.receive({ timeout: 5000 }))}`);
  await channel.close({ timeout: 5000 });
  await connection.closed;
  console.log(`child exited with ${JSON.stringify(await connection.exited)}`);
  console.log(`child's stderr: ${logs.trim()}`);
}
