/**
 * Socket pairs made with node:net alone, for a child's stdio and between pipeline stages where native
 * calls cannot be made (another platform, or IPC_NATIVE=off): a listener in a private directory (0700, so
 * no other user can connect) accepts exactly one connection from this process, and goes away. What the
 * child gets is a connected Unix stream socket, as with socketpair().
 */
import { closeSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromSystemError } from "@ipc/core";

/** One end a child gets: a descriptor, or a socket (Node's spawn shares its descriptor with the child). */
export type ChildEnd = number | net.Socket;

/** Closes this process's copy of an end handed to a child. */
export function closeEnd(end: ChildEnd): void {
  if (typeof end === "number") closeSync(end);
  else end.destroy();
}

/**
 * Connects `ours` (a socket not yet connected) to a fresh private listener and returns the accepted end,
 * paused: `ours` and the result are the two ends of one connection.
 */
export async function pairWith(ours: net.Socket): Promise<net.Socket> {
  const what = "create a socket pair";
  const directory = mkdtempSync(join(tmpdir(), "ipc-pair-"));
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error) => reject(fromSystemError(error, what)));
      server.listen(join(directory, "s"), resolve);
    });
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(fromSystemError(error, what));
      ours.once("error", onError);
      ours.connect(join(directory, "s"), () => {
        ours.off("error", onError);
        resolve();
      });
    });
    return await accepted;
  } finally {
    server.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

/** A socket pair between two children: `[the writer's end, the reader's end]`, neither read by this process. */
export async function childLink(): Promise<[net.Socket, net.Socket]> {
  const writer = new net.Socket({ allowHalfOpen: true });
  writer.pause(); // this process never reads either end
  try {
    return [writer, await pairWith(writer)];
  } catch (error) {
    writer.destroy();
    throw error;
  }
}
