/**
 * `ipc shm ls | inspect <name> | rm-stale`: this toolkit's shared-memory segments in /dev/shm — who made
 * them, who maps them, what state a ring is in — and the removal of those dead processes left behind.
 * Reads the files; maps nothing.
 */
import { closeSync, openSync, readSync } from "node:fs";
import type { Command } from "commander";
import { shm } from "@ipc/kit";
import { UsageError, report } from "../fail.js";

// Through @ipc/kit's re-export of @ipc/shm's public API.
const { HEADER_SIZE, RING_HEADER, SegmentKind, checkName, list, removeStale } = shm;
type SegmentInfo = shm.SegmentInfo;

const KINDS: Readonly<Record<number, string>> = { [SegmentKind.Raw]: "raw", [SegmentKind.Ring]: "ring", [SegmentKind.Channel]: "channel" };

function kindName(kind: number): string {
  return KINDS[kind] ?? `kind ${kind}`;
}

function ls(json: boolean): void {
  const segments = list();
  if (json) {
    process.stdout.write(`${JSON.stringify(segments, null, 2)}\n`);
    return;
  }
  if (segments.length === 0) {
    process.stdout.write("no @ipc segments in /dev/shm\n");
    return;
  }
  const rows = [["name", "kind", "bytes", "creator", "created", "mapped by"]];
  for (const s of segments) {
    rows.push([
      s.name,
      kindName(s.kind),
      String(s.bytes),
      `${s.creatorPid}${s.creatorAlive ? "" : " (dead)"}`,
      new Date(s.createdAt).toISOString(),
      s.mappedBy.join(",") || "nobody",
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows)
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd()}\n`,
    );
}

/** Whether process `pid` lives (EPERM: it does, as another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** `pid 123`, `pid 123 (gone)` or `none`, for a pid word of a ring header. */
function pidText(pid: number): string {
  return pid === 0 ? "none" : `${pid}${alive(pid) ? "" : " (gone)"}`;
}

/** The state of the ring whose header starts at `offset` in `bytes` (docs/wire.md, "Message ring"). */
function ringState(bytes: Buffer, offset: number): string[] {
  const word = (index: number): number => bytes.readUInt32LE(offset + index * 4);
  const capacity = word(0);
  const used = (word(16) - word(32)) >>> 0;
  return [
    `capacity ${capacity} B, version ${word(1)}`,
    `head ${word(16)} (bytes written), tail ${word(32)} (bytes read): ${used} B unread, ${capacity - used} B free`,
    `producer pid ${pidText(word(18))}${word(17) ? ", finished" : ""}${word(64) ? ", asleep" : ""}`,
    `consumer pid ${pidText(word(34))}${word(33) ? ", finished" : ""}${word(48) ? ", asleep" : ""}`,
  ];
}

function readStart(name: string, length: number): Buffer {
  const fd = openSync(`/dev/shm/${name}`, "r");
  try {
    const bytes = Buffer.alloc(length);
    const read = readSync(fd, bytes, 0, length, 0);
    return bytes.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

function inspect(name: string): void {
  try {
    checkName(name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const segment: SegmentInfo | undefined = list().find((s) => s.name === name);
  if (segment === undefined) throw new UsageError(`no @ipc segment named '${name}' in /dev/shm (ipc shm ls lists them)`);
  const lines = [
    `${segment.name}: ${kindName(segment.kind)}, ${segment.bytes} B (${segment.dataSize} B of data), header version ${segment.version}`,
    `created ${new Date(segment.createdAt).toISOString()} by pid ${segment.creatorPid} (${segment.creatorAlive ? "alive" : "gone"}); mapped by ${segment.mappedBy.join(", ") || "nobody"}`,
  ];
  if (segment.kind === SegmentKind.Ring || segment.kind === SegmentKind.Channel) {
    const first = readStart(name, HEADER_SIZE + RING_HEADER);
    const capacity = first.readUInt32LE(HEADER_SIZE);
    const offsets = segment.kind === SegmentKind.Ring ? [HEADER_SIZE] : [HEADER_SIZE, HEADER_SIZE + RING_HEADER + capacity];
    const bytes = readStart(name, offsets.at(-1)! + RING_HEADER);
    offsets.forEach((offset, i) => {
      lines.push(segment.kind === SegmentKind.Ring ? "ring:" : i === 0 ? "ring 1 (listener → client):" : "ring 2 (client → listener):");
      lines.push(...ringState(bytes, offset).map((l) => `  ${l}`));
    });
  }
  if (!segment.creatorAlive && segment.mappedBy.length === 0) lines.push("stale: its creator is gone and nobody maps it (ipc shm rm-stale removes it)");
  process.stdout.write(`${lines.join("\n")}\n`);
}

export function shmCommand(program: Command): void {
  const command = program.command("shm").description("list, inspect and clean up this toolkit's shared-memory segments");
  command
    .command("ls")
    .description("list the segments in /dev/shm made by this toolkit")
    .option("--json", "print JSON", false)
    .action((flags: { json: boolean }) => {
      try {
        ls(flags.json);
      } catch (error) {
        report("shm ls", error);
      }
    });
  command
    .command("inspect")
    .description("show a segment's header, and a ring's head, tail, free space and peers")
    .argument("<name>", "the segment's name, as ipc shm ls shows it")
    .action((name: string) => {
      try {
        inspect(name);
      } catch (error) {
        report("shm inspect", error);
      }
    });
  command
    .command("rm-stale")
    .description("remove the segments whose creator is dead and that no process maps")
    .action(() => {
      try {
        const removed = removeStale();
        process.stdout.write(removed.length === 0 ? "nothing stale\n" : `removed ${removed.join(", ")}\n`);
      } catch (error) {
        report("shm rm-stale", error);
      }
    });
}
