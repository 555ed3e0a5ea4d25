/**
 * Whether a process or thread still runs, for the checks that replace "wait forever" (a mutex owner, a
 * ring's peer). Read from /proc, only while waiting (at most every 50 ms), never per message.
 */
import { readFileSync } from "node:fs";

/**
 * True if the process or thread `id` (in our pid namespace) runs; gone, or a zombie (dead, not yet
 * reaped by its parent), is false.
 */
export function alive(id: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${id}/stat`, "latin1");
  } catch {
    return false;
  }
  const state = stat.charAt(stat.lastIndexOf(")") + 2);
  return state !== "Z" && state !== "X";
}
