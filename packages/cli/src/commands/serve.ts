/** `ipc serve <url>`: listens, prints every message it receives, optionally echoes it back. */
import type { Command } from "commander";
import { listen, type Connection } from "@ipc/kit";
import { report } from "../fail.js";
import { PRINT_HELP, printer, type Printer } from "../format.js";
import { isNats, serveNatsSubject } from "../nats.js";
import { closeAll, onSignals, track } from "../signals.js";

interface ServeFlags {
  echo: boolean;
  print: string;
  once: boolean;
}

async function handle(connection: Connection, flags: ServeFlags, print: Printer, out: NodeJS.WritableStream, id: number): Promise<void> {
  process.stderr.write(`#${id} connected: ${connection.remoteAddress}${connection.peer ? ` (pid ${connection.peer.pid}, uid ${connection.peer.uid})` : ""}\n`);
  try {
    for await (const message of connection) {
      out.write(`#${id} ${message.byteLength} B: ${print(message)}\n`);
      if (flags.echo) await connection.send(message);
    }
    await connection.close({ timeout: 5000 });
    process.stderr.write(`#${id} closed\n`);
  } catch (error) {
    process.stderr.write(`#${id} failed: ${(error as Error).message}\n`);
  }
}

async function serve(url: string, flags: ServeFlags): Promise<void> {
  const print = printer(flags.print);
  if (isNats(url)) return serveNatsSubject(url, { echo: flags.echo, once: flags.once, print });
  const listener = await listen(url);
  // On `pipe:` stdout is the channel to the parent: the messages are shown on stderr instead.
  const out = url.startsWith("pipe:") ? process.stderr : process.stdout;
  process.stderr.write(`listening on ${listener.address}\n`);
  const open = new Set<Connection>();
  onSignals(() => closeAll(listener, open));
  let id = 0;
  for await (const connection of listener) {
    track(open, connection);
    const served = handle(connection, flags, print, out, ++id);
    if (flags.once) {
      await served;
      break;
    }
  }
  await listener.close();
}

export function serveCommand(program: Command): void {
  program
    .command("serve")
    .description("listen at a URL and print every message received (the socat of this toolkit)")
    .argument(
      "<url>",
      "unix:///path, unix-abstract:name, tcp://host:port, shm://name, fifo:///path, pipe:, memory://name, or nats://host:port/subject (prints the subject's messages; --echo answers requests)",
    )
    .option("-e, --echo", "send every message back", false)
    .option("-p, --print <format>", PRINT_HELP, "utf8")
    .option("--once", "exit after the first connection ends", false)
    .addHelpText(
      "after",
      "\nExamples:\n  ipc serve unix:///tmp/demo.sock --echo\n  ipc serve tcp://127.0.0.1:7000 --print hex\n  ipc serve 'nats://127.0.0.1:4222/orders.>' --echo",
    )
    .action(async (url: string, flags: ServeFlags) => {
      try {
        await serve(url, flags);
      } catch (error) {
        report("serve", error);
      }
    });
}
