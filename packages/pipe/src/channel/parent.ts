/**
 * `parentChannel()`: the child's side of {@link spawnChannel} — a message connection over this process's
 * stdin and stdout. The channel's pipes are moved off fds 0 and 1 (to close-on-exec descriptors), fd 0 is
 * pointed at /dev/null and fd 1 at stderr: a stray `console.log` then goes to the log instead of corrupting
 * the frames, the process's own children do not inherit the channel, and closing the channel really closes
 * it (Node never closes `process.stdout`).
 *
 * Where native calls cannot be made (dup2 and fcntl; another platform, or IPC_NATIVE=off), the channel is
 * fds 0 and 1 themselves: nothing else may write to stdout (log to stderr), and the process's own children
 * inherit the channel unless they are given other stdio.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import { AddressInUseError, InvalidArgumentError, type Connection, type ConnectionOptions } from "@ipc/core";
import { resolveConnectionOptions } from "@ipc/core/transport";
import { framed } from "@ipc/framing";
import { canUse, dup2, dupCloexec } from "../native/native.js";
import { peerOf } from "../process/proc.js";
import { PipeSocket } from "../native/socket.js";

let claimed = false;

function checkStdio(fd: number, name: string): void {
  let kind: string;
  try {
    // bigint: a plain fstatSync of a pipe would make later require()s of symlinked packages fail (native/native.ts).
    const stat = fstatSync(fd, { bigint: true });
    if (stat.isFIFO() || stat.isSocket()) return;
    kind = stat.isCharacterDevice() ? "a terminal or device" : stat.isFile() ? "a file" : "not a pipe";
  } catch {
    kind = "closed";
  }
  throw new InvalidArgumentError(
    `parentChannel(): this process's ${name} is ${kind}, not a pipe; start it with spawnChannel() (or give it pipes that carry docs/wire.md's frames)`,
  );
}

/** Points `fd` at what `source` refers to, or at /dev/null if that fails (e.g. fd 2 is closed). */
function redirect(fd: number, source: number, flags: "r" | "w"): void {
  try {
    dup2(source, fd);
  } catch {
    const devNull = openSync("/dev/null", flags);
    dup2(devNull, fd);
    closeSync(devNull);
  }
}

/**
 * Takes the pipes of fds 0 and 1 for a channel (once per process): moves them to close-on-exec descriptors,
 * points fd 0 at /dev/null and fd 1 at stderr, and returns them as streams. {@link parentChannel} frames
 * them; the conformance relay forwards their bytes.
 */
export function takeParentStdio(): { readable: PipeSocket; writable: PipeSocket } {
  if (claimed) {
    throw new AddressInUseError("this process's stdin and stdout already carry a channel (parentChannel() or listen('pipe:') was called before)");
  }
  checkStdio(0, "stdin");
  checkStdio(1, "stdout");
  if (!canUse("pipe.stdio")) {
    claimed = true;
    return {
      readable: new PipeSocket(0, "read", "the channel from the parent (stdin)"),
      writable: new PipeSocket(1, "write", "the channel to the parent (stdout)"),
    };
  }
  const input = dupCloexec(0);
  const output = dupCloexec(1);
  claimed = true;
  const devNull = openSync("/dev/null", "r");
  dup2(devNull, 0);
  closeSync(devNull);
  redirect(1, 2, "w");
  return {
    readable: new PipeSocket(input, "read", "the channel from the parent (stdin)"),
    writable: new PipeSocket(output, "write", "the channel to the parent (stdout)"),
  };
}

/**
 * The connection to the parent, over this process's stdin (messages in) and stdout (messages out). Call it
 * once per process: a second call (or `pipeTransport.listen("pipe:")` after it) throws `AddressInUseError`.
 * Throws `InvalidArgumentError` when stdin or stdout is not a pipe or socket (a terminal, a file).
 *
 * After the call, fd 1 writes to stderr and fd 0 reads /dev/null: log with `console.log` or
 * `console.error` freely, and do not read `process.stdin`.
 */
export function parentChannel(options?: ConnectionOptions): Connection {
  resolveConnectionOptions(options);
  return framed(takeParentStdio(), { ...options, localAddress: "pipe:", remoteAddress: "pipe:", peer: peerOf(process.ppid) });
}
