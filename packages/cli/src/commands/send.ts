/** `ipc send <url> <text | @file | ->`: connects, sends, optionally prints replies, closes. */
import { readFileSync } from "node:fs";
import { buffer as readAll } from "node:stream/consumers";
import type { Command } from "commander";
import { connect } from "@ipc/kit";
import { UsageError, nonNegativeInteger, positiveInteger, report } from "../fail.js";
import { PRINT_HELP, printer } from "../format.js";

interface SendFlags {
  replies: string;
  print: string;
  timeout: string;
  lines: boolean;
}

/** The messages the argument stands for: the text itself, a file's bytes, or stdin (whole, or per line). */
async function messages(argument: string, lines: boolean): Promise<Uint8Array[]> {
  let bytes: Uint8Array;
  // Bytes, not text: stdin may be binary (a protobuf message, an image), and decoding would mangle it.
  if (argument === "-") bytes = await readAll(process.stdin);
  else if (argument.startsWith("@")) {
    try {
      bytes = readFileSync(argument.slice(1));
    } catch (error) {
      throw new UsageError(`cannot read ${argument.slice(1)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  } else bytes = Buffer.from(argument);
  if (!lines) return [bytes];
  return Buffer.from(bytes)
    .toString("utf8")
    .split(/\r?\n/)
    .filter((line) => line.length > 0)
    .map((line) => Buffer.from(line));
}

async function send(url: string, argument: string, flags: SendFlags): Promise<void> {
  const replies = nonNegativeInteger("--replies", flags.replies);
  const timeout = positiveInteger("--timeout", flags.timeout);
  const print = printer(flags.print);
  const outgoing = await messages(argument, flags.lines);
  await using connection = await connect(url, { timeout });
  for (const message of outgoing) await connection.send(message, { timeout });
  for (let i = 0; i < replies; i++) {
    const reply = await connection.receive({ timeout });
    // A failure at run time (exit 1), not a mistake on the command line.
    if (reply === undefined) throw new Error(`the peer closed the connection after ${i} of ${replies} replies`);
    process.stdout.write(`${print(reply)}\n`);
  }
  await connection.close({ timeout });
}

export function sendCommand(program: Command): void {
  program
    .command("send")
    .description("connect to a URL, send a message, print the replies")
    .argument("<url>", "where to connect (see ipc serve --help)")
    .argument("<message>", "the text to send, @file for a file's bytes, - for stdin")
    .option("-r, --replies <n>", "replies to wait for and print", "0")
    .option("-p, --print <format>", PRINT_HELP, "utf8")
    .option("-t, --timeout <ms>", "limit on connecting, on each send and on each reply", "5000")
    .option("-l, --lines", "send each line of the input as its own message", false)
    .addHelpText("after", "\nExamples:\n  ipc send unix:///tmp/demo.sock hello --replies 1\n  printf 'a\\nb\\n' | ipc send tcp://127.0.0.1:7000 - --lines")
    .action(async (url: string, message: string, flags: SendFlags) => {
      try {
        await send(url, message, flags);
      } catch (error) {
        report("send", error);
      }
    });
}
