/**
 * The `ipc` command of the @ipc toolkit, for the shell: `ipc bench` (every transport measured on this
 * machine, the quick profile of @ipc/bench), `ipc serve`, `ipc send`, `ipc call` (an @ipc/rpc method from
 * JSON), `ipc trace` (a message-level proxy), `ipc shm ls|inspect|rm-stale`, `ipc doctor` and `ipc choose`.
 * The executable is this package's `bin` (`ipc`); this entry point is the same program for code:
 *
 * - {@link createProgram}: the `ipc` command as a commander `Command`, to run a subcommand from code.
 * - {@link diagnose}: the checks of `ipc doctor`, as data.
 *
 * Importing it runs nothing and installs no process handlers.
 *
 * @packageDocumentation
 */
export { createProgram } from "./program.js";
export { diagnose, type Finding } from "./commands/doctor.js";
