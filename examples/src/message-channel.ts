/**
 * One message type for every kind of IPC (docs/guide.md#typed-messages-the-envelope): typed envelopes — text,
 * binary, and commands with arguments — over a framed connection between two processes. The parent spawns a
 * child and talks to it over the child's stdin/stdout; stderr stays free for logs.
 *
 *   pnpm example message-channel
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { messageChannel, type ChannelMessage } from "@ipc/channels";
import { framed } from "@ipc/framing";

function describe(message: ChannelMessage): string {
  switch (message.kind) {
    case "text":
      return `text "${message.text}"`;
    case "binary":
      return `binary [${[...message.binary].join(", ")}]`;
    case "command":
      return `command ${message.cmd} ${message.args.join(" ")}`;
    default:
      return message.kind;
  }
}

if (process.argv[2] === "child") {
  // The child: answer each command, echo everything else, until the parent closes.
  const channel = messageChannel(framed({ readable: process.stdin, writable: process.stdout }));
  for await (const message of channel) {
    console.error(`child got ${describe(message)}`);
    if (message.kind === "command" && message.cmd === "add") {
      const sum = message.args.map(Number).reduce((a, b) => a + b, 0);
      await channel.send({ kind: "text", text: `sum = ${sum}` });
    } else {
      await channel.send(message);
    }
  }
  await channel.close();
} else {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "child"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const channel = messageChannel(framed({ readable: child.stdout, writable: child.stdin }));
  const requests: ChannelMessage[] = [
    { kind: "text", text: "hello child" },
    { kind: "binary", binary: new Uint8Array([1, 2, 3]) },
    { kind: "command", cmd: "add", args: ["19", "23"] },
  ];
  for (const request of requests) {
    await channel.send(request);
    const reply = await channel.receive({ timeout: 5000 });
    console.log(`parent sent ${describe(request)} → got ${reply === undefined ? "nothing" : describe(reply)}`);
  }
  await channel.close({ timeout: 5000 });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  console.log(`child exited with code ${String(code)}`);
}
