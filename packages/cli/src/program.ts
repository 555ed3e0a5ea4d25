/**
 * The `ipc` command as a commander program: bench, serve, send, call, trace, shm, doctor, choose. Each
 * subcommand lives in commands/<name>.ts. Errors are one line on stderr and a non-zero exit code (2 for bad
 * input), never a stack trace.
 */
import { createRequire } from "node:module";
import { Command } from "commander";
import { benchCommand } from "./commands/bench.js";
import { callCommand } from "./commands/call.js";
import { chooseCommand } from "./commands/choose.js";
import { doctorCommand } from "./commands/doctor.js";
import { sendCommand } from "./commands/send.js";
import { serveCommand } from "./commands/serve.js";
import { shmCommand } from "./commands/shm.js";
import { traceCommand } from "./commands/trace.js";

/**
 * A new `ipc` program, every subcommand added. `await createProgram().parseAsync()` is the `ipc` command;
 * `parseAsync(["choose", "--latency"], { from: "user" })` runs one from code. Like the command, it writes to
 * stdout and stderr, sets `process.exitCode`, and exits the process for `--help`, `--version` and command-line
 * mistakes (exit code 2), and on Ctrl-C in the commands that run until stopped.
 */
export function createProgram(): Command {
  const { version } = createRequire(import.meta.url)("../package.json") as { version: string };
  const program = new Command("ipc")
    .description("inter-process communication on Node.js: measure, serve, send, call, trace, inspect")
    .version(version)
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (text, write) => write(`ipc: ${text.replace(/^error: /, "")}`) })
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

  for (const add of [benchCommand, serveCommand, sendCommand, callCommand, traceCommand, shmCommand, doctorCommand, chooseCommand]) {
    add(program);
  }
  program.addHelpText(
    "after",
    "\nAddresses: unix:///path  unix-abstract:name  tcp://host:port  shm://name  fifo:///path  pipe:/cmd?arg=x  memory://name\n" +
      "Debug logging of every connection: NODE_DEBUG=ipc ipc …",
  );
  return program;
}
