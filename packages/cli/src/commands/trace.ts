/**
 * `ipc trace <listen-url> <upstream-url>`: a frame-aware proxy. Clients connect to it instead of the
 * server; it forwards every message both ways and logs each one — time, connection, direction, size,
 * content: what tcpdump and strace show, at the level of whole messages (docs/guide.md, Debugging).
 */
import type { Command } from "commander";
import { connect, listen, type Connection } from "@ipc/kit";
import { UsageError, positiveInteger, report } from "../fail.js";
import { PRINT_HELP, printer, timestamp, type Printer } from "../format.js";
import { closeAll, onSignals, track } from "../signals.js";
import { isNats, traceNats } from "../nats.js";

interface TraceFlags {
  print: string;
  maxBytes: string;
}

/** Forwards `from` → `to`, logging each message; ends `to` when `from` ends. */
async function pump(from: Connection, to: Connection, arrow: string, id: number, print: Printer): Promise<void> {
  for await (const message of from) {
    process.stdout.write(`${timestamp()} #${id} ${arrow} ${message.byteLength} B  ${print(message)}\n`);
    await to.send(message);
  }
  await to.close({ timeout: 5000 });
}

async function relay(client: Connection, upstreamUrl: string, id: number, print: Printer, open: Set<Connection>): Promise<void> {
  track(open, client);
  process.stdout.write(`${timestamp()} #${id} open ${client.remoteAddress}${client.peer ? ` (pid ${client.peer.pid})` : ""} → ${upstreamUrl}\n`);
  let upstream: Connection;
  try {
    upstream = await connect(upstreamUrl, { timeout: 5000 });
    track(open, upstream);
  } catch (error) {
    process.stdout.write(`${timestamp()} #${id} upstream refused: ${(error as Error).message}\n`);
    client.abort();
    return;
  }
  const results = await Promise.allSettled([pump(client, upstream, "→", id, print), pump(upstream, client, "←", id, print)]);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure !== undefined) {
    client.abort();
    upstream.abort();
    process.stdout.write(`${timestamp()} #${id} failed: ${(failure.reason as Error).message}\n`);
  } else process.stdout.write(`${timestamp()} #${id} closed\n`);
}

async function trace(listenUrl: string, upstreamUrl: string | undefined, flags: TraceFlags): Promise<void> {
  const print = printer(flags.print, positiveInteger("--max-bytes", flags.maxBytes));
  if (isNats(listenUrl)) return traceNats(listenUrl, print);
  if (upstreamUrl === undefined) throw new UsageError("ipc trace <listen-url> <upstream-url>: say where the real server is");
  await using listener = await listen(listenUrl);
  process.stderr.write(`tracing ${listener.address} → ${upstreamUrl}\n`);
  const open = new Set<Connection>();
  onSignals(() => closeAll(listener, open));
  let id = 0;
  for await (const client of listener) void relay(client, upstreamUrl, ++id, print, open);
}

export function traceCommand(program: Command): void {
  program
    .command("trace")
    .description("a proxy that logs every message in both directions (time, direction, size, content)")
    .argument("<listen-url>", "where clients connect instead; or nats://host:port[/prefix] to watch @ipc RPC on NATS (no proxy needed)")
    .argument("[upstream-url]", "the real server (not for nats://)")
    .option("-p, --print <format>", PRINT_HELP, "hex")
    .option("-m, --max-bytes <n>", "show at most this much of each message", "64")
    .addHelpText(
      "after",
      "\nExample:\n  ipc trace unix:///tmp/app-traced.sock unix:///run/app.sock --print utf8\n  ipc trace nats://127.0.0.1:4222 --print hex",
    )
    .action(async (listenUrl: string, upstreamUrl: string | undefined, flags: TraceFlags) => {
      try {
        await trace(listenUrl, upstreamUrl, flags);
      } catch (error) {
        report("trace", error);
      }
    });
}
