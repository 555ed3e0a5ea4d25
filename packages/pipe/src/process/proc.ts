/**
 * What /proc tells about another process: its credentials (for `connection.peer`) and whether it is on its
 * way out (to tell a child that died from one that merely closed a pipe).
 */
import { readFileSync } from "node:fs";
import type { Peer } from "@ipc/core";

/** PF_EXITING in /proc/<pid>/stat's flags: set first thing in the kernel's do_exit(), before the fds close. */
const PF_EXITING = 0x4;

/** `{ pid, uid, gid }` of process `pid` (effective ids), or `undefined` if it cannot be read. */
export function peerOf(pid: number): Peer | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
    const gid = /^Gid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
    if (uid === undefined || gid === undefined) return undefined;
    return { pid, uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

/**
 * True when process `pid` is exiting, a zombie, or gone. A pipe that reaches end-of-file or breaks while
 * this is false was closed by a live process on purpose.
 */
export function isDying(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return true;
  }
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags …": comm may hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const flags = Number(fields[6]);
  return state === "Z" || state === "X" || (flags & PF_EXITING) !== 0;
}
