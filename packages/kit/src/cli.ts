#!/usr/bin/env node
/**
 * The `ipc` command: bench, serve, send, call, trace, shm, doctor, choose. Each subcommand lives in
 * cli/<name>.ts. Errors are one line on stderr and a non-zero exit code (2 for bad input), never a stack trace.
 */
import { createRequire } from "node:module";
import { Command } from "commander";
import { benchCommand } from "./cli/bench.js";
import { callCommand } from "./cli/call.js";
import { chooseCommand } from "./cli/choose.js";
import { doctorCommand } from "./cli/doctor.js";
import { serveCommand } from "./cli/serve.js";
import { sendCommand } from "./cli/send.js";
import { shmCommand } from "./cli/shm.js";
import { traceCommand } from "./cli/trace.js";

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

// `ipc … | head` closes our stdout early: that is the reader's choice, not a failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => process.exit(error.code === "EPIPE" ? 0 : 1));

// Unexpected failures still get one line (the command handlers report their own).
process.on("uncaughtException", (error) => {
  process.stderr.write(`ipc: ${error.message}\n`);
  process.exit(1);
});
process.on("unhandledRejection", (error) => {
  process.stderr.write(`ipc: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

await program.parseAsync();
