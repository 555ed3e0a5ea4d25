/**
 * @ipc/pipe: a framed channel to a child process (spawnChannel / parentChannel) against raw Node stdio with
 * the same frames in the same run — 64 B round trip, 64 KiB throughput (the default socketpairs, and
 * 1 MiB pipes), 64 B message rate — and pipeline() against `sh -c 'a | b | c'`.
 *
 * The child is this module run as a program (`node cases/pipe.js child <mode> [arg]`), pinned to the peer
 * CPU when the run pins processes. Pipeline stages may use both CPUs (as a shell's would), in both variants.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync } from "node:fs";
import net from "node:net";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createPipe, parentChannel, pipeline, run, spawnChannel, type ChildChannel } from "@ipc/pipe";
import type { BenchCase, CaseModule } from "../lib/case.js";
import { connectionRoundTrips, connectionSend, frameOf, rawRoundTrips as rawRoundTripsOver } from "../lib/raw.js";
import { latency, now } from "../lib/stats.js";

const WARMUP = 2_000;
const ROUND_TRIPS = 20_000;
const SMALL = 64;
const BIG = 64 * 1024;
const BIG_COUNT = 16_384;
const RATE_COUNT = 3_000_000;
const RAW_RATE_COUNT = 400_000;
const PIPELINE_BYTES = 2 * 1024 * 1024 * 1024;
const MIB = 1024 * 1024;
const self = fileURLToPath(import.meta.url);

// --- the child --------------------------------------------------------------------------------------

/** The child's side: `child <mode> [count] [size]`. */
async function child(mode: string, count: number, size: number): Promise<void> {
  switch (mode) {
    case "echo": {
      const connection = parentChannel();
      for await (const message of connection) await connection.send(message);
      await connection.close();
      return;
    }
    case "sink": {
      const connection = parentChannel();
      let seen = 0;
      for await (const _message of connection) if (++seen === count) await connection.send(new Uint8Array(1));
      await connection.close();
      return;
    }
    case "raw-echo":
      process.stdin.on("data", (chunk: Buffer) => process.stdout.write(chunk));
      return;
    case "raw-sink": {
      const total = count * (size + 4);
      let seen = 0;
      process.stdin.on("data", (chunk: Buffer) => {
        seen += chunk.length;
        if (seen === total) process.stdout.write(Buffer.alloc(1));
      });
      return;
    }
    default:
      throw new Error(`unknown child mode '${mode}'`);
  }
}

// --- the parent -------------------------------------------------------------------------------------

/** `node this-file child …`, on the peer CPU when the run pins processes. */
function childCommand(...args: (string | number)[]): [string, string[]] {
  const command = [process.execPath, self, "child", ...args.map(String)];
  const cpu = process.env.IPC_BENCH_PEER_CPU;
  return cpu === undefined ? [command[0]!, command.slice(1)] : ["taskset", ["-c", cpu, ...command]];
}

async function channel(mode: string, pipeCapacity?: number, ...args: number[]): Promise<ChildChannel> {
  const [command, argv] = childCommand(mode, ...args);
  return spawnChannel(command, argv, { pipeCapacity });
}

/** A child speaking raw bytes over Node's stdio (socketpairs), or over real pipes of `capacity` bytes. */
async function rawChild(mode: string, capacity: number | undefined, ...args: number[]): Promise<{
  child: ChildProcess;
  input: Writable;
  output: Readable;
}> {
  const [command, argv] = childCommand(mode, ...args);
  if (capacity === undefined) {
    const child = spawn(command, argv, { stdio: ["pipe", "pipe", "inherit"] });
    await once(child, "spawn");
    return { child, input: child.stdin!, output: child.stdout! };
  }
  const toChild = createPipe({ capacity });
  const fromChild = createPipe({ capacity });
  const child = spawn(command, argv, { stdio: [toChild.readFd, fromChild.writeFd, "inherit"] });
  await once(child, "spawn");
  closeSync(toChild.readFd);
  closeSync(fromChild.writeFd);
  return {
    child,
    input: new net.Socket({ fd: toChild.writeFd, readable: false, writable: true }),
    output: new net.Socket({ fd: fromChild.readFd, readable: true, writable: false }),
  };
}

async function channelRoundTrips(): Promise<Record<string, number>> {
  const connection = await channel("echo");
  const result = await connectionRoundTrips(connection, SMALL, { warmup: WARMUP, count: ROUND_TRIPS });
  await connection.close();
  return result;
}

async function rawRoundTrips(): Promise<Record<string, number>> {
  const { child, input, output } = await rawChild("raw-echo", undefined);
  const result = await rawRoundTripsOver(output, input, SMALL, { warmup: WARMUP, count: ROUND_TRIPS });
  child.kill("SIGKILL");
  return result;
}

async function channelSend(count: number, size: number, pipeCapacity?: number): Promise<Record<string, number>> {
  const connection = await channel("sink", pipeCapacity, count);
  const result = await connectionSend(connection, count, size);
  await connection.close();
  return result;
}

async function rawSend(count: number, size: number, corked: boolean, capacity?: number): Promise<Record<string, number>> {
  const { child, input, output } = await rawChild("raw-sink", capacity, count, size);
  const frame = frameOf(size);
  const acked = once(output, "data");
  const start = now();
  const batch = corked ? 1000 : 1;
  for (let i = 0; i < count; i += batch) {
    if (corked) input.cork();
    let ok = true;
    for (let j = i; j < i + batch && j < count; j++) ok = input.write(frame);
    if (corked) input.uncork();
    if (!ok) await once(input, "drain");
  }
  await acked;
  const seconds = (now() - start) / 1e9;
  child.kill("SIGKILL");
  return { "msgs/s": count / seconds, "bytes/s": (count * size) / seconds };
}

// --- pipelines -------------------------------------------------------------------------------------

/** Stages may run on both CPUs of the run, as a shell's would. */
function bothCpus(): string[] {
  const { IPC_BENCH_CPU: a, IPC_BENCH_PEER_CPU: b } = process.env;
  return a === undefined || b === undefined ? [] : ["taskset", "-c", `${a},${b}`];
}

const STAGES = [["head", "-c", String(PIPELINE_BYTES), "/dev/zero"], ["cat"], ["wc", "-c"]];

function checkCount(output: string): void {
  if (Number(output.trim()) !== PIPELINE_BYTES) throw new Error(`the pipeline passed ${output.trim()} bytes`);
}

async function ourPipeline(): Promise<Record<string, number>> {
  const start = now();
  const { stdout } = await pipeline(STAGES.map((stage) => [...bothCpus(), ...stage]));
  const seconds = (now() - start) / 1e9;
  checkCount(stdout);
  return { "bytes/s": PIPELINE_BYTES / seconds };
}

async function shellPipeline(): Promise<Record<string, number>> {
  const command = [...bothCpus(), "sh", "-c", STAGES.map((stage) => stage.join(" ")).join(" | ")];
  const start = now();
  const { stdout } = await run(command[0]!, command.slice(1));
  const seconds = (now() - start) / 1e9;
  checkCount(stdout);
  return { "bytes/s": PIPELINE_BYTES / seconds };
}

/** What code without this package does: every stage's output read into Node and written to the next. */
async function nodeStreamsPipeline(): Promise<Record<string, number>> {
  const start = now();
  const children = STAGES.map((stage) => {
    const command = [...bothCpus(), ...stage];
    return spawn(command[0]!, command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  });
  children[0]!.stdin!.end();
  for (let i = 0; i + 1 < children.length; i++) children[i]!.stdout!.pipe(children[i + 1]!.stdin!);
  let output = "";
  children.at(-1)!.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await Promise.all(children.map((c) => once(c, "close")));
  const seconds = (now() - start) / 1e9;
  checkCount(output);
  return { "bytes/s": PIPELINE_BYTES / seconds };
}

// --- the table -------------------------------------------------------------------------------------

const RTT = "child channel round trip, 64 B";
const THROUGHPUT = "child channel throughput, 64 KiB messages";
const RATE = "child channel message rate, 64 B";
const PIPELINE = "pipeline throughput, head -c 2G /dev/zero | cat | wc -c";

const cases: BenchCase[] = [
  { id: "pipe-rtt-ours", group: RTT, role: "ours", label: "spawnChannel()", run: channelRoundTrips },
  { id: "pipe-rtt-raw", group: RTT, role: "baseline", label: "raw Node stdio", run: rawRoundTrips },
  { id: "pipe-throughput-ours", group: THROUGHPUT, role: "ours", label: "spawnChannel(), default (socketpairs)", run: () => channelSend(BIG_COUNT, BIG) },
  { id: "pipe-throughput-1m-ours", group: THROUGHPUT, role: "ours", label: "spawnChannel(), pipeCapacity 1 MiB (pipes)", run: () => channelSend(BIG_COUNT, BIG, MIB) },
  { id: "pipe-throughput-raw", group: THROUGHPUT, role: "baseline", label: "raw Node stdio (socketpairs)", run: () => rawSend(BIG_COUNT, BIG, false) },
  { id: "pipe-throughput-raw-1m", group: THROUGHPUT, role: "reference", label: "raw Node, 1 MiB pipes", run: () => rawSend(BIG_COUNT, BIG, false, MIB) },
  { id: "pipe-rate-ours", group: RATE, role: "ours", label: "spawnChannel()", run: () => channelSend(RATE_COUNT, SMALL) },
  { id: "pipe-rate-raw", group: RATE, role: "baseline", label: "raw Node stdio, one write per message", run: () => rawSend(RAW_RATE_COUNT, SMALL, false) },
  { id: "pipe-rate-raw-corked", group: RATE, role: "reference", label: "raw Node stdio, corked ×1000", run: () => rawSend(RATE_COUNT, SMALL, true) },
  { id: "pipeline-ours", group: PIPELINE, role: "ours", label: "pipeline()", run: ourPipeline },
  { id: "pipeline-sh", group: PIPELINE, role: "baseline", label: "sh -c 'a | b | c'", run: shellPipeline },
  { id: "pipeline-node-streams", group: PIPELINE, role: "reference", label: "Node streams between stages", run: nodeStreamsPipeline },
];

export const pipeCases: CaseModule = {
  cases,
  groupMetrics: {
    [RTT]: ["p50 µs", "p99 µs"],
    [THROUGHPUT]: ["bytes/s"],
    [RATE]: ["msgs/s"],
    [PIPELINE]: ["bytes/s"],
  },
  targets: [
    { group: RTT, metric: "p50 µs", ratio: 1.15, text: "≤ 1.15× raw" },
    { group: THROUGHPUT, metric: "bytes/s", ratio: 0.9, text: "≥ 0.9× raw" },
    { group: RATE, metric: "msgs/s", ratio: 4, text: "≥ 4× raw (not syscall-bound)" },
    { group: PIPELINE, metric: "bytes/s", ratio: 0.9, text: "≥ 0.9× sh -c" },
  ],
};

if (process.argv[1] === self && process.argv[2] === "child") {
  await child(process.argv[3]!, Number(process.argv[4] ?? 0), Number(process.argv[5] ?? 0));
}
