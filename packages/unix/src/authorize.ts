/** The listener's admission rules: the shorthands, then `authorize()`, all before any byte is read. */
import type { Peer } from "@ipc/core";
import type { UnixListenOptions } from "./options.js";

/** Why a peer is refused, or undefined if it is accepted. */
export async function refusal(peer: Peer, options: UnixListenOptions | undefined): Promise<string | undefined> {
  if (options?.sameUser === true && peer.uid !== process.getuid?.()) {
    return `uid ${peer.uid} is not this server's uid ${process.getuid?.()} (sameUser)`;
  }
  if (options?.allowUids !== undefined && !options.allowUids.includes(peer.uid)) {
    return `uid ${peer.uid} is not in allowUids`;
  }
  if (options?.allowGids !== undefined && !options.allowGids.includes(peer.gid)) {
    return `gid ${peer.gid} is not in allowGids`;
  }
  if (options?.authorize !== undefined) {
    try {
      if ((await options.authorize(peer)) !== true) return "authorize() refused it";
    } catch (error) {
      return `authorize() threw: ${(error as Error)?.message ?? String(error)}`;
    }
  }
  return undefined;
}
