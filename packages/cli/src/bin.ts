#!/usr/bin/env node
/**
 * The `ipc` executable (package.json's `bin`): the program of program.ts on this process's arguments, with the
 * process-wide handlers a command needs and a library must not install.
 */
import { createProgram } from "./program.js";

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

await createProgram().parseAsync();
