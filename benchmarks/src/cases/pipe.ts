/**
 * @ipc/pipe beyond the transport groups (cases/transports.ts has spawnChannel() over the default socket
 * pairs): spawnChannel() over 1 MiB pipes and raw Node over the same pipes, in the 64 KiB throughput group;
 * and pipeline() against `sh -c 'a | b | c'` and against Node streams between the stages.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync } from "node:fs";
import net from "node:net";
import { createPipe, pipeline, run, spawnChannel } from "@ipc/pipe";
import type { BenchCase, CaseContext, CaseModule, Group, Metrics } from "../lib/case.js";
import { measureMessages, serveMessages } from "../lib/loops.js";
import { readyLine } from "../lib/processes.js";
import { readAnswer, sendStream } from "../lib/raw.js";
import { now } from "../lib/stats.js";
import { groupTitle } from "../lib/titles.js";
import { parentChannel } from "@ipc/pipe";
import { receiverChild } from "./raw.js";

const BIG = 64 * 1024;
const MIB = 1024 * 1024;
const PIPELINE_BYTES = 1024 * 1024 * 1024;

/** spawnChannel() with pipes of 1 MiB instead of Node's socket pairs. */
async function channelOverPipes(context: CaseContext): Promise<Metrics> {
  const [command, ...args] = context.childCommand("channel");
  const connection = await spawnChannel(command!, args, { pipeCapacity: MIB });
  try {
    return await measureMessages(connection, "stream", BIG, context.budget);
  } finally {
    connection.abort();
  }
}

/** Raw Node over two 1 MiB pipes to a child (the child reads with onread, as the raw baseline's does). */
async function rawOverPipes(context: CaseContext): Promise<Metrics> {
  const toChild = createPipe({ capacity: MIB });
  const fromChild = createPipe({ capacity: MIB });
  const [command, ...args] = context.childCommand("raw");
  const child = spawn(command!, args, { stdio: [toChild.readFd, fromChild.writeFd, "inherit"] });
  await once(child, "spawn");
  closeSync(toChild.readFd);
  closeSync(fromChild.writeFd);
  const output = new net.Socket({ fd: toChild.writeFd, readable: false, writable: true });
  const input = new net.Socket({ fd: fromChild.readFd, readable: true, writable: false });
  try {
    await readyLine(input);
    return await sendStream(output, readAnswer(input), BIG, context.budget, "frames");
  } finally {
    child.kill("SIGKILL");
    input.destroy();
  }
}

async function child(arg: string): Promise<void> {
  if (arg === "raw") return receiverChild();
  const connection = parentChannel();
  await serveMessages(connection, "stream").catch(() => undefined);
  await connection.close().catch(() => undefined);
}

// --- pipelines ---------------------------------------------------------------------------------------------

const STAGES = [["head", "-c", String(PIPELINE_BYTES), "/dev/zero"], ["cat"], ["wc", "-c"]];

function checkCount(output: string): void {
  if (Number(output.trim()) !== PIPELINE_BYTES) throw new Error(`the pipeline passed ${output.trim()} bytes`);
}

/** Stages may run on both CPUs of a pinned run, as a shell's would. */
function stage(context: CaseContext, command: readonly string[]): string[] {
  return context.cpu === undefined || context.peerCpu === undefined ? [...command] : ["taskset", "-c", `${context.cpu},${context.peerCpu}`, ...command];
}

async function ourPipeline(context: CaseContext): Promise<Metrics> {
  const start = now();
  const { stdout } = await pipeline(STAGES.map((s) => stage(context, s)));
  const seconds = (now() - start) / 1e9;
  checkCount(stdout);
  return { "bytes/s": PIPELINE_BYTES / seconds };
}

async function shellPipeline(context: CaseContext): Promise<Metrics> {
  const command = stage(context, ["sh", "-c", STAGES.map((s) => s.join(" ")).join(" | ")]);
  const start = now();
  const { stdout } = await run(command[0]!, command.slice(1));
  const seconds = (now() - start) / 1e9;
  checkCount(stdout);
  return { "bytes/s": PIPELINE_BYTES / seconds };
}

/** What code without @ipc/pipe does: every stage's output read into Node and written to the next. */
async function nodeStreamsPipeline(context: CaseContext): Promise<Metrics> {
  const start = now();
  const children = STAGES.map((s) => {
    const command = stage(context, s);
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

const PIPELINE = "pipeline throughput, head -c 1G /dev/zero | cat | wc -c";

const cases: BenchCase[] = [
  { id: "pipe-stream-64KiB-1MiB-pipes", label: "spawnChannel(), pipeCapacity 1 MiB (pipes)", run: channelOverPipes, child },
  { id: "raw-pipes-stream-64KiB", label: "raw Node, 1 MiB pipes", run: rawOverPipes, child },
  { id: "pipeline-ours", label: "pipeline()", run: ourPipeline },
  { id: "pipeline-sh", label: "sh -c 'a | b | c'", run: shellPipeline },
  { id: "pipeline-node-streams", label: "Node streams between stages", run: nodeStreamsPipeline },
];

function groups(sizes: readonly number[]): Group[] {
  const all: Group[] = [
    {
      title: PIPELINE,
      metrics: ["bytes/s"],
      rows: [
        { case: "pipeline-ours", role: "ours" },
        { case: "pipeline-sh", role: "baseline" },
        { case: "pipeline-node-streams", role: "other" },
      ],
      targets: [{ metric: "bytes/s", ratio: 0.9, text: "≥ 0.9× sh -c" }],
      transport: "pipe",
    },
  ];
  if (sizes.includes(BIG)) {
    all.push({
      title: groupTitle("pipe", "stream", BIG),
      metrics: ["bytes/s"],
      rows: [
        { case: "pipe-stream-64KiB-1MiB-pipes", role: "ours", profiles: [] },
        { case: "raw-pipes-stream-64KiB", role: "other", profiles: [] },
      ],
    });
  }
  return all;
}

export const module: CaseModule = { cases: () => cases, groups: (params) => groups(params.sizes) };
