/**
 * Whether two processes can share a CPU, from their affinity (Linux: `Cpus_allowed_list` in /proc/<pid>/status,
 * read once per connection). The spin policy of a connection depends on it (MessageRing.spinUntilReadable's
 * `peerWaking`; docs/benchmarks.md, the idle round trip): a side that spins while the peer it just rang is being
 * woken keeps a CPU the peer may need — unless the two are pinned to different CPUs.
 */
import { readFileSync } from "node:fs";

/** The CPUs `pid` may run on, or undefined where that cannot be read (not Linux, the process gone). */
function allowedCpus(pid: number | "self"): Set<number> | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "latin1");
  } catch {
    return undefined;
  }
  const line = /^Cpus_allowed_list:\s*([0-9,\-]+)\s*$/m.exec(status);
  if (line === null) return undefined;
  const cpus = new Set<number>();
  for (const part of line[1]!.split(",")) {
    const [from, to = from] = part.split("-").map(Number);
    if (!Number.isInteger(from) || !Number.isInteger(to) || to! - from! > 4096) return undefined;
    for (let cpu = from!; cpu <= to!; cpu++) cpus.add(cpu);
  }
  return cpus;
}

/** True only when this process and `peerPid` are each pinned to CPUs the other may not use. */
export function onSeparateCpus(peerPid: number | undefined): boolean {
  if (peerPid === undefined || peerPid === process.pid) return false;
  const mine = allowedCpus("self");
  const theirs = allowedCpus(peerPid);
  if (mine === undefined || theirs === undefined) return false;
  for (const cpu of mine) if (theirs.has(cpu)) return false;
  return true;
}
