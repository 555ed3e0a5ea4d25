/**
 * The reference loops of the self-check (docs/benchmarks.md, "Self-check"): each job written the plain way,
 * in one file that uses nothing but node:* and nothing of the harness, run as programs of their own:
 *
 *   node plain/loops.js serve '<job>'   a server (echo, or a sink counting 'data' bytes), prints "ready <address>"
 *   node plain/loops.js run '<job>'     the client: round trips, or a stream; prints one JSON line of metrics
 *
 * Round trip: write a frame of `size` bytes, wait until as many bytes came back ('data'), again. Stream: write
 * one reused buffer per message (small messages: a fresh buffer of packed frames per write), honour
 * write() === false / 'drain', end; the receiver counts 'data' bytes and answers the count at the end.
 * A harness baseline much slower than these is a harness problem, not a property of Node.
 */
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { openSync, readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import tls from "node:tls";
import { fileURLToPath } from "node:url";

interface Job {
  transport: "unix" | "tcp" | "tls" | "stdio" | "fifo";
  kind: "rtt" | "stream";
  size: number;
  dir: string;
  warmupMs: number;
  measureMs: number;
  gapMs?: number;
  /** Where the server is (a path or a port), for the client. */
  address?: string;
  /** The CPU of the stdio child (taskset), when pinned. */
  childCpu?: string;
}

const [role, text] = process.argv.slice(2);
const job = JSON.parse(text!) as Job;

function frame(size: number): Buffer {
  const bytes = Buffer.alloc(4 + size, 0x61);
  bytes.writeUInt32BE(size, 0);
  return bytes;
}

/** The serving side on a pair of streams: echo, or count and answer the count when the input ends. */
function serveOn(input: Readable, output: Writable): void {
  if (job.kind === "rtt") {
    input.on("data", (chunk: Buffer) => output.write(chunk));
    return;
  }
  let bytes = 0;
  input.on("data", (chunk: Buffer) => (bytes += chunk.length));
  input.on("end", () => output.end(String(bytes)));
}

function fifoPaths(): { toServer: string; toClient: string } {
  return { toServer: join(job.dir, "plain-up"), toClient: join(job.dir, "plain-down") };
}

async function serve(): Promise<void> {
  process.stdin.on("end", () => process.exit(0)).resume(); // the process that started this one is gone
  if (job.transport === "fifo") {
    const { toServer, toClient } = fifoPaths();
    execFileSync("mkfifo", [toServer, toClient]);
    process.stdout.write("ready\n");
    const input = new net.Socket({ fd: openSync(toServer, "r"), readable: true, writable: false });
    const output = new net.Socket({ fd: openSync(toClient, "w"), readable: false, writable: true });
    serveOn(input, output);
    return;
  }
  const onSocket = (socket: net.Socket): void => serveOn(socket, socket);
  const server =
    job.transport === "tls"
      ? tls.createServer({ key: readFileSync(join(job.dir, "key.pem")), cert: readFileSync(join(job.dir, "cert.pem")) }, onSocket)
      : net.createServer({ allowHalfOpen: true }, onSocket);
  if (job.transport === "unix") server.listen(join(job.dir, "plain.sock"));
  else server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  process.stdout.write(`ready ${typeof address === "string" ? address : address!.port}\n`);
}

/** The client's streams to the server (or to a child on stdio). */
async function open(): Promise<{ input: Readable; output: Writable }> {
  if (job.transport === "stdio") {
    const command = [process.execPath, fileURLToPath(import.meta.url), "child", text!];
    const pinned = job.childCpu === undefined ? command : ["taskset", "-c", job.childCpu, ...command];
    const child = spawn(pinned[0]!, pinned.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
    return { input: child.stdout!, output: child.stdin! };
  }
  if (job.transport === "fifo") {
    const { toServer, toClient } = fifoPaths();
    const output = new net.Socket({ fd: openSync(toServer, "w"), readable: false, writable: true });
    const input = new net.Socket({ fd: openSync(toClient, "r"), readable: true, writable: false });
    return { input, output };
  }
  let socket: net.Socket;
  if (job.transport === "tls") {
    socket = tls.connect({ host: "127.0.0.1", port: Number(job.address), ca: readFileSync(join(job.dir, "cert.pem")) });
    await once(socket, "secureConnect");
  } else {
    socket =
      job.transport === "unix"
        ? net.connect({ path: job.address!, allowHalfOpen: true })
        : net.connect({ host: "127.0.0.1", port: Number(job.address), allowHalfOpen: true });
    await once(socket, "connect");
  }
  socket.setNoDelay(true);
  return { input: socket, output: socket };
}

async function roundTrips(input: Readable, output: Writable): Promise<object> {
  const bytes = frame(job.size);
  const samples: number[] = [];
  let got = 0;
  let resolveOne: () => void = () => undefined;
  input.on("data", (chunk: Buffer) => {
    got += chunk.length;
    if (got >= bytes.length) {
      got -= bytes.length;
      resolveOne();
    }
  });
  const one = async (): Promise<number> => {
    const back = new Promise<void>((resolve) => (resolveOne = resolve));
    const start = performance.now();
    output.write(bytes);
    await back;
    return performance.now() - start;
  };
  await one(); // the connection (or the child) is up
  const warm = performance.now() + job.warmupMs;
  const end = warm + job.measureMs;
  for (let t = performance.now(); t < end || samples.length < 10; t = performance.now()) {
    if (job.gapMs !== undefined) await new Promise((resolve) => setTimeout(resolve, job.gapMs));
    const took = await one();
    if (t >= warm) samples.push(took);
  }
  samples.sort((a, b) => a - b);
  const at = (p: number): number => samples[Math.min(samples.length - 1, Math.ceil(p * samples.length) - 1)]! * 1000;
  return { "p50 µs": at(0.5), "p99 µs": at(0.99) };
}

async function stream(input: Readable, output: Writable): Promise<object> {
  const small = job.size < 4096;
  const single = frame(job.size);
  const perWrite = small ? Math.floor((64 * 1024) / single.length) : 1;
  const next = (): Buffer => {
    if (!small) return single;
    const batch = Buffer.allocUnsafe(perWrite * single.length);
    for (let i = 0; i < perWrite; i++) single.copy(batch, i * single.length);
    return batch;
  };
  let answer = "";
  input.on("data", (chunk: Buffer) => (answer += chunk.toString()));
  const answered = once(input, "end");
  const warm = performance.now() + job.warmupMs;
  let start = 0;
  let sentBefore = 0;
  let sent = 0;
  for (;;) {
    const ok = output.write(next());
    sent += perWrite;
    if (!ok) await once(output, "drain");
    const t = performance.now();
    if (start === 0 && t >= warm) {
      start = t;
      sentBefore = sent;
    }
    if (start !== 0 && t >= start + job.measureMs) break;
  }
  output.end();
  await answered;
  const seconds = (performance.now() - start) / 1000;
  if (Number(answer) !== sent * single.length) throw new Error(`sent ${sent * single.length} bytes, the receiver counted ${answer}`);
  const messages = sent - sentBefore;
  return { "msgs/s": messages / seconds, "bytes/s": (messages * job.size) / seconds };
}

if (role === "serve") {
  await serve();
} else if (role === "child") {
  // The stdio child: its stdin and stdout are the channel.
  serveOn(process.stdin, process.stdout);
} else {
  const { input, output } = await open();
  const metrics = job.kind === "rtt" ? await roundTrips(input, output) : await stream(input, output);
  process.stdout.write(`${JSON.stringify(metrics)}\n`);
  process.exit(0);
}
