/**
 * Socket files this process created are removed when their listener closes and, for those still open,
 * when the process exits normally — but only if the file is still the one that listener bound (same
 * inode), never a file another server put at the same path since.
 */
import { lstatSync, unlinkSync } from "node:fs";

/** A socket file bound by one listener. */
export interface OwnedFile {
  readonly path: string;
  readonly dev: bigint;
  readonly ino: bigint;
}

const owned = new Set<OwnedFile>();
let hooked = false;

/** Records the socket file at `path`, just bound, for removal. */
export function own(path: string): OwnedFile {
  // bigint stats: a non-bigint stat of a socket would trip nodejs/node#51142 for later requires (see @ipc/native).
  const { dev, ino } = lstatSync(path, { bigint: true });
  const file = { path, dev, ino };
  owned.add(file);
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const file of owned) release(file);
    });
  }
  return file;
}

/** Removes the socket file if it is still the one recorded. */
export function release(file: OwnedFile): void {
  if (!owned.delete(file)) return;
  try {
    const now = lstatSync(file.path, { bigint: true });
    if (now.dev === file.dev && now.ino === file.ino) unlinkSync(file.path);
  } catch {
    // Already gone: nothing to remove.
  }
}
