/**
 * The segments this toolkit created, found by their header in /dev/shm, and the removal of those a dead
 * process left behind (killed processes leak their names there).
 */
import { readFileSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { alive } from "./liveness.js";
import { peekHeader } from "./segment.js";
import type { SegmentHeader } from "./header.js";

/** A segment of this toolkit, as {@link list} reports it. */
export interface SegmentInfo extends SegmentHeader {
  readonly name: string;
  /** Its size in /dev/shm (header included). */
  readonly bytes: number;
  /** Whether the process that created it still runs. */
  readonly creatorAlive: boolean;
  /** Pids of the processes that map it now (those whose /proc/<pid>/maps this process can read). */
  readonly mappedBy: readonly number[];
}

/** Pids mapping each /dev/shm name, from /proc/<pid>/maps. */
function mappers(): Map<string, number[]> {
  const found = new Map<string, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let maps: string;
    try {
      maps = readFileSync(`/proc/${entry}/maps`, "utf8");
    } catch {
      continue; // gone, or not ours to read
    }
    for (const match of maps.matchAll(/ \/dev\/shm\/(\S+)(?: \(deleted\))?$/gm)) {
      const list = found.get(match[1]!) ?? [];
      if (!list.includes(Number(entry))) list.push(Number(entry));
      found.set(match[1]!, list);
    }
  }
  return found;
}

/** This toolkit's segments in /dev/shm, with who created them and who maps them now. */
export function list(): SegmentInfo[] {
  const mapped = mappers();
  const segments: SegmentInfo[] = [];
  let names: string[];
  try {
    names = readdirSync("/dev/shm");
  } catch {
    return [];
  }
  for (const name of names.sort()) {
    const header = peekHeader(name);
    if (header === undefined) continue;
    let bytes = 0;
    try {
      bytes = statSync(`/dev/shm/${name}`).size;
    } catch {
      continue;
    }
    segments.push({ ...header, name, bytes, creatorAlive: alive(header.creatorPid), mappedBy: mapped.get(name) ?? [] });
  }
  return segments;
}

/**
 * Removes this toolkit's segments whose creator is gone and that no process maps; returns their names.
 * Segments of others (no header) and segments in use are left alone.
 */
export function removeStale(): string[] {
  const removed: string[] = [];
  for (const segment of list()) {
    if (segment.creatorAlive || segment.mappedBy.length > 0) continue;
    try {
      unlinkSync(`/dev/shm/${segment.name}`);
      removed.push(segment.name);
    } catch {
      // Removed by someone else meanwhile.
    }
  }
  return removed;
}
