/**
 * Raw Node, no @ipc code, on each mechanism the transports use: the baselines (lib/raw.ts: the fastest
 * straightforward code for each job), the "one write per message" rows, and the reference loops of the
 * self-check (plain/loops.ts, run as programs of their own). Only node:* is imported here, so the processes
 * of these cases carry nothing else. The groups that show them are made by cases/transports.ts.
 *
 * Who connects to whom: for round trips the peer is the echo server and the measuring side connects (it reads
 * with `onread`); for streams the measuring side is the sender and listens, and the peer, the receiver,
 * connects with `onread` (Node offers `onread` to the sockets it connects, not to those a server accepts).
 */
import { execFileSync, execFile } from "node:child_process";
import { once } from "node:events";
import { openSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { BenchCase, CaseContext, CaseModule, CaseParams, Metrics } from "../lib/case.js";
import { certificate, connectWhenUp, exitWithParent, firstLine, pinned, readyLine, spawnPiped, startReady } from "../lib/processes.js";
import { ByteCounter, RoundTrips, answerCount, echo, readAnswer, sendStream, type StreamShape } from "../lib/raw.js";
import { SMALL_MESSAGE, sizeId } from "../lib/sizes.js";
import { ALL_REGIMES } from "../lib/titles.js";

/** The mechanisms raw Node is measured on. */
export type Mechanism = "unix" | "tcp" | "tls" | "stdio" | "fifo";
export const MECHANISMS: readonly Mechanism[] = ["unix", "tcp", "tls", "stdio", "fifo"];

/** The id of a raw case: `raw-unix-rtt-64B`, `raw-tcp-stream-64KiB`, `raw-unix-stream-64B-per-message`. */
export function rawId(mechanism: Mechanism, kind: "rtt" | "stream", size: number, suffix = ""): string {
  return `raw-${mechanism}-${kind}-${sizeId(size)}${suffix}`;
}

/** The id of a reference loop: `plain-unix-rtt-64B`. */
export function plainId(mechanism: Mechanism, kind: "rtt" | "stream", size: number, suffix = ""): string {
  return `plain-${mechanism}-${kind}-${sizeId(size)}${suffix}`;
}

/** TLS is measured up to 64 KiB (its record layer, not the mechanism, decides beyond). */
export function sizesOf(mechanism: Mechanism, params: CaseParams): number[] {
  return params.sizes.filter((s) => mechanism !== "tls" || s <= 64 * 1024);
}

/** The gap of the idle round trip (both sides asleep when a message comes): one every millisecond. */
export const IDLE_GAP_MS = 1;

interface Arg {
  readonly dir: string;
  readonly size: number;
}
const argOf =
  (size: number) =>
  (dir: string): string =>
    JSON.stringify({ dir, size } satisfies Arg);
const parse = (text: string): Arg => JSON.parse(text) as Arg;

// --- FIFOs: a pair, made by the serving side; blocking opens meet (docs/wire.md §6 has the fifo: layout) --

function fifoPaths(dir: string): { toPeer: string; fromPeer: string } {
  return { toPeer: join(dir, "raw-up"), fromPeer: join(dir, "raw-down") };
}

/** The peer's ends: it reads `toPeer`, writes `fromPeer` (each open waits for the other side's). */
function peerFifos(dir: string, onread?: object): { input: net.Socket; output: net.Socket } {
  const { toPeer, fromPeer } = fifoPaths(dir);
  const input = new net.Socket({
    fd: openSync(toPeer, "r"),
    readable: true,
    writable: false,
    ...(onread === undefined ? {} : { onread }),
  } as net.SocketConstructorOpts);
  const output = new net.Socket({ fd: openSync(fromPeer, "w"), readable: false, writable: true });
  return { input, output };
}

function caseFifos(dir: string, onread?: object): { input: net.Socket; output: net.Socket } {
  const { toPeer, fromPeer } = fifoPaths(dir);
  const output = new net.Socket({ fd: openSync(toPeer, "w"), readable: false, writable: true });
  const input = new net.Socket({
    fd: openSync(fromPeer, "r"),
    readable: true,
    writable: false,
    ...(onread === undefined ? {} : { onread }),
  } as net.SocketConstructorOpts);
  return { input, output };
}

// --- round trips ---------------------------------------------------------------------------------------

async function echoServer(mechanism: Mechanism, text: string): Promise<void> {
  const { dir } = parse(text);
  exitWithParent();
  if (mechanism === "fifo") {
    const { toPeer, fromPeer } = fifoPaths(dir);
    execFileSync("mkfifo", [toPeer, fromPeer]);
    process.stdout.write("ready\n");
    const { input, output } = peerFifos(dir);
    echo(input, output);
    return;
  }
  const onSocket = (socket: net.Socket): void => {
    socket.setNoDelay(true);
    echo(socket, socket);
  };
  const server = mechanism === "tls" ? tls.createServer(certificate(dir), onSocket) : net.createServer(onSocket);
  if (mechanism === "unix") server.listen(join(dir, "raw.sock"));
  else server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  process.stdout.write(`ready ${typeof address === "string" ? address : String(address!.port)}\n`);
}

async function roundTrips(mechanism: Mechanism, context: CaseContext, gapMs?: number): Promise<Metrics> {
  const { size, dir } = parse(context.arg);
  const trips = new RoundTrips(size);
  const onread = trips.onread;
  if (mechanism === "stdio") {
    const peer = spawnPiped(context.childCommand(context.arg));
    peer.stdout!.on("data", (chunk: Buffer) => trips.received(chunk.byteLength));
    try {
      return await trips.run(peer.stdin!, context.budget, gapMs);
    } finally {
      peer.kill("SIGKILL");
    }
  }
  let output: net.Socket;
  let input: net.Socket;
  if (mechanism === "fifo") {
    ({ input, output } = caseFifos(dir, onread));
  } else if (mechanism === "tls") {
    input = output = tls.connect({ host: "127.0.0.1", port: Number(context.ready), ca: certificate(dir).cert });
    await once(input, "secureConnect");
    input.on("data", (chunk: Buffer) => trips.received(chunk.byteLength)); // TLS sockets cannot read with onread
  } else {
    const at = mechanism === "unix" ? { path: context.ready } : { host: "127.0.0.1", port: Number(context.ready) };
    input = output = net.connect({ ...at, onread } as net.NetConnectOpts);
    await once(input, "connect");
  }
  output.setNoDelay?.(true);
  try {
    return await trips.run(output, context.budget, gapMs);
  } finally {
    input.destroy();
    output.destroy();
  }
}

/** The stdio echo child. */
async function echoChild(): Promise<void> {
  echo(process.stdin, process.stdout);
  await once(process.stdin, "end");
}

// --- streams --------------------------------------------------------------------------------------------

async function receiver(mechanism: Mechanism, text: string): Promise<void> {
  const { dir } = parse(text);
  const counter = new ByteCounter();
  const onread = counter.onread;
  if (mechanism === "fifo") {
    const { toPeer, fromPeer } = fifoPaths(dir);
    execFileSync("mkfifo", [toPeer, fromPeer]);
    process.stdout.write("ready\n");
    exitWithParent();
    // 'data' events, not onread: on a FIFO they measured 20–30 % faster (1.33–1.49 against 1.13–1.18 GB/s).
    const { input, output } = peerFifos(dir);
    answerCount(input, output, counter, true, true);
    return;
  }
  process.stdout.write("ready\n");
  const address = await firstLine(); // the sender listens, then says where
  exitWithParent();
  if (mechanism === "tls") {
    const socket = tls.connect({ host: "127.0.0.1", port: Number(address), ca: certificate(dir).cert, allowHalfOpen: true } as tls.ConnectionOptions);
    await once(socket, "secureConnect");
    answerCount(socket, socket, counter, true, true);
    return;
  }
  const connect = (): net.Socket =>
    net.connect({
      ...(mechanism === "unix" ? { path: address } : { host: "127.0.0.1", port: Number(address) }),
      allowHalfOpen: true,
      onread,
    } as net.NetConnectOpts);
  const socket = await connectWhenUp(connect);
  answerCount(socket, socket, counter, false, true);
}

async function stream(mechanism: Mechanism, context: CaseContext, shape: StreamShape): Promise<Metrics> {
  const { size, dir } = parse(context.arg);
  if (mechanism === "stdio") {
    const peer = spawnPiped(context.childCommand(context.arg));
    try {
      await readyLine(peer.stdout!);
      return await sendStream(peer.stdin!, readAnswer(peer.stdout!), size, context.budget, shape);
    } finally {
      peer.kill("SIGKILL");
    }
  }
  if (mechanism === "fifo") {
    const { input, output } = caseFifos(dir);
    try {
      return await sendStream(output, readAnswer(input), size, context.budget, shape);
    } finally {
      input.destroy();
    }
  }
  const accepted = new Promise<net.Socket>((resolve) => {
    const onSocket = (socket: net.Socket): void => resolve(socket);
    const server =
      mechanism === "tls"
        ? tls.createServer({ ...certificate(dir), allowHalfOpen: true } as tls.TlsOptions, onSocket)
        : net.createServer({ allowHalfOpen: true }, onSocket);
    server.listen(mechanism === "unix" ? join(dir, "raw.sock") : { host: "127.0.0.1", port: 0 }, () => {
      const address = server.address();
      context.tellPeer(typeof address === "string" ? address : String(address!.port));
    });
  });
  const socket = await accepted;
  socket.setNoDelay(true);
  try {
    return await sendStream(socket, readAnswer(socket), size, context.budget, shape);
  } finally {
    socket.destroy();
  }
}

/** The stdio receiving child: reads fd 0 with onread (a socket pair Node made, or a pipe), answers on stdout. */
export async function receiverChild(): Promise<void> {
  const counter = new ByteCounter();
  const onread = counter.onread;
  const input = new net.Socket({ fd: 0, readable: true, writable: false, onread } as net.SocketConstructorOpts);
  process.stdout.write("ready\n");
  answerCount(input, process.stdout, counter, false, false);
  await once(input, "end");
  await new Promise((resolve) => setImmediate(resolve)); // the answer is out (stdout writes to a pipe are synchronous)
}

// --- the reference loops: plain/loops.js, programs of their own ------------------------------------------

const plainProgram = fileURLToPath(new URL("../plain/loops.js", import.meta.url));
const run = promisify(execFile);

async function plain(mechanism: Mechanism, kind: "rtt" | "stream", context: CaseContext, gapMs?: number): Promise<Metrics> {
  const { size, dir } = parse(context.arg);
  if (mechanism === "tls") certificate(dir);
  const job = {
    transport: mechanism,
    kind,
    size,
    dir,
    warmupMs: context.budget.warmupMs,
    measureMs: context.budget.measureMs,
    gapMs,
    childCpu: context.peerCpu,
  };
  const server = mechanism === "stdio" ? undefined : await startReady(pinned(context.peerCpu, [process.execPath, plainProgram, "serve", JSON.stringify(job)]));
  try {
    const client = pinned(context.cpu, [process.execPath, plainProgram, "run", JSON.stringify({ ...job, address: server?.ready })]);
    const { stdout } = await run(client[0]!, client.slice(1), { maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split("\n").pop()!) as Metrics;
  } finally {
    server?.kill();
  }
}

// --- the cases ------------------------------------------------------------------------------------------

function casesOf(mechanism: Mechanism, params: CaseParams): BenchCase[] {
  const cases: BenchCase[] = [];
  const raw =
    mechanism === "stdio" ? "raw Node child stdio" : mechanism === "fifo" ? "raw Node FIFO pair" : mechanism === "tls" ? "raw node:tls" : "raw node:net";
  const serving = mechanism === "stdio" ? {} : undefined;
  for (const size of sizesOf(mechanism, params)) {
    // The Unix socket round trip of 64 B is also measured with both processes on one core.
    const regimes = mechanism === "unix" && size === 64 ? ALL_REGIMES : undefined;
    cases.push({
      id: rawId(mechanism, "rtt", size),
      label: raw,
      run: (c) => roundTrips(mechanism, c),
      ...(serving ?? { peer: (a: string) => echoServer(mechanism, a) }),
      child: echoChild,
      peerArg: argOf(size),
      regimes,
    });
    cases.push({ id: plainId(mechanism, "rtt", size), label: "plain loop", run: (c) => plain(mechanism, "rtt", c), peerArg: argOf(size), regimes });
    const shapes: [StreamShape, string][] =
      size < SMALL_MESSAGE
        ? [
            ["packed", ""],
            ["per-message", "-per-message"],
          ]
        : [["frames", ""]];
    for (const [shape, suffix] of shapes) {
      cases.push({
        id: rawId(mechanism, "stream", size, suffix),
        label: shape === "packed" ? `${raw}, frames packed into 64 KiB writes` : shape === "per-message" ? `${raw}, one write per message` : raw,
        run: (c) => stream(mechanism, c, shape),
        ...(serving ?? { peer: (a: string) => receiver(mechanism, a) }),
        child: receiverChild,
        peerArg: argOf(size),
      });
    }
    cases.push({ id: plainId(mechanism, "stream", size), label: "plain loop", run: (c) => plain(mechanism, "stream", c), peerArg: argOf(size) });
  }
  return cases;
}

/** The idle round trip over a Unix socket (the shared-memory idle group's baseline) and its reference. */
function idleCases(): BenchCase[] {
  return [
    { id: "raw-unix-rtt-idle", label: "raw node:net", run: (c) => roundTrips("unix", c, IDLE_GAP_MS), peer: (a) => echoServer("unix", a), peerArg: argOf(64) },
    { id: "plain-unix-rtt-idle", label: "plain loop", run: (c) => plain("unix", "rtt", c, IDLE_GAP_MS), peerArg: argOf(64) },
  ];
}

export const module: CaseModule = {
  cases: (params) => [...MECHANISMS.flatMap((m) => casesOf(m, params)), ...idleCases()],
};
