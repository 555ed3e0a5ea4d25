/**
 * @ipc/shm between two processes, against raw node:net on a Unix socket in the same run:
 * - 64 B round trip in three modes: both sides spinning (`tryWrite` + `readSync({ spin: Infinity })`),
 *   spin-then-sleep (async `read()`, event loop free while waiting; also through the `shm://` transport's
 *   Connection), and idle (one message every millisecond, so the other side is asleep when it comes);
 * - one-way throughput of 64 KiB messages (ring `write()`/`readView()`, and the transport);
 * - one-way rate of 64 B messages (`tryWrite` / `readView` + `release`, both sides spinning).
 * Standalone rings: the peer creates two (to it, from it), the case opens them and unlinks the names.
 */
import { once } from "node:events";
import net from "node:net";
import { basename, join } from "node:path";
import type { Connection } from "@ipc/core";
import { MessageRing, connect, listen } from "@ipc/shm";
import type { BenchCase, CaseModule, PeerHandle, Target } from "../lib/case.js";
import { connectionRoundTrips, connectionSend, echoBytes, echoMessages, rawRoundTrips as rawRoundTripsOver, rawSend as rawSendOver, sinkBytes, sinkMessages, type RoundTripPlan } from "../lib/raw.js";
import { latency, now } from "../lib/stats.js";

const WARMUP = 5_000;
const ROUND_TRIPS = 50_000;
const IDLE_ROUND_TRIPS = 1_000;
const IDLE_GAP_MS = 1;
const BIG = 64 * 1024;
const BIG_COUNT = 40_000;
const SMALL = 64;
const SMALL_COUNT = 20_000_000;
const RING_CAPACITY = 1 << 22;

interface Arg {
  readonly dir: string;
  readonly name: string;
  readonly count: number;
  readonly size: number;
  /** How the peer waits: spinning forever, or async read() (spin then sleep). */
  readonly mode: "spin" | "sleep";
  /**
   * How a sink peer takes messages: `copy`: tryRead(), a fresh copy each; `into`: drain(), copied into
   * one buffer of the consumer's; `drain`: drain(), read in place (one byte looked at).
   */
  readonly take: "copy" | "into" | "drain";
}

const argOf = (count: number, size: number, mode: Arg["mode"], take: Arg["take"] = "copy") => (dir: string): string =>
  JSON.stringify({ dir, name: `ipc-bench-${basename(dir)}`, count, size, mode, take } satisfies Arg);
const parse = (raw: string): Arg => JSON.parse(raw) as Arg;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const planOf = (idle: boolean): RoundTripPlan =>
  idle ? { warmup: 100, count: IDLE_ROUND_TRIPS, gapMs: IDLE_GAP_MS } : { warmup: WARMUP, count: ROUND_TRIPS };

// --- standalone rings ---------------------------------------------------------------------------

/** The peer's side: creates the rings `<name>.in` (it reads) and `<name>.out` (it writes). */
function peerRings(arg: Arg): { input: MessageRing; output: MessageRing } {
  const input = MessageRing.create({ name: `${arg.name}.in`, capacity: RING_CAPACITY });
  const output = MessageRing.create({ name: `${arg.name}.out`, capacity: RING_CAPACITY });
  return { input, output };
}

/** The case's side: opens them and removes the names (the mappings stay; nothing is left behind). */
function caseRings(peer: PeerHandle): { output: MessageRing; input: MessageRing } {
  const { name } = parse(peer.arg);
  const output = MessageRing.open(`${name}.in`);
  const input = MessageRing.open(`${name}.out`);
  output.memory!.unlink();
  input.memory!.unlink();
  return { output, input };
}

async function ringEchoPeer(raw: string): Promise<void> {
  const arg = parse(raw);
  const { input, output } = peerRings(arg);
  process.stdout.write("ready\n");
  if (arg.mode === "spin") {
    for (;;) {
      const message = input.readSync({ spin: Infinity })!;
      while (!output.tryWrite(message));
    }
  }
  for (;;) await output.write((await input.read())!);
}

async function ringRoundTrips(peer: PeerHandle, mode: "spin" | "sleep" | "idle"): Promise<Record<string, number>> {
  const { output, input } = caseRings(peer);
  const message = new Uint8Array(SMALL).fill(1);
  const warmup = mode === "idle" ? 100 : WARMUP;
  const count = mode === "idle" ? IDLE_ROUND_TRIPS : ROUND_TRIPS;
  const samples = new Float64Array(count);
  for (let i = 0; i < warmup + count; i++) {
    if (mode === "idle") await sleep(IDLE_GAP_MS);
    const start = now();
    if (mode === "spin") {
      output.tryWrite(message);
      input.readSync({ spin: Infinity });
    } else {
      await output.write(message);
      await input.read();
    }
    if (i >= warmup) samples[i - warmup] = now() - start;
  }
  const { p50, p99 } = latency(samples);
  return { "p50 µs": p50, "p99 µs": p99 };
}

/** The peer takes every message (see Arg.take) and answers once it has all of them. */
async function ringSinkPeer(raw: string): Promise<void> {
  const arg = parse(raw);
  const { input, output } = peerRings(arg);
  process.stdout.write("ready\n");
  let seen = 0;
  let bytes = 0;
  if (arg.take === "copy") {
    while (seen < arg.count) {
      const message = input.tryRead();
      if (message instanceof Uint8Array) {
        bytes += message.byteLength;
        seen++;
      }
    }
  } else if (arg.take === "into") {
    const buffer = new Uint8Array(arg.size);
    const copy = (data: Uint8Array, offset: number, length: number): void => {
      buffer.set(data.subarray(offset, offset + length));
      bytes += length;
    };
    while (seen < arg.count) seen += input.drain(copy);
  } else {
    let first = 0;
    const look = (data: Uint8Array, offset: number, length: number): void => {
      first ^= data[offset]!;
      bytes += length;
    };
    while (seen < arg.count) seen += input.drain(look);
    if (first === -1) throw new Error("unreachable: keeps the read of each message");
  }
  output.tryWrite(new Uint8Array([bytes === arg.count * arg.size ? 1 : 0]));
  await sleep(60_000);
}

/** Sends `count` messages one by one with `tryWrite()`, or in batches of 64 with `tryWriteBatch()`. */
async function ringSend(peer: PeerHandle, batched: boolean): Promise<Record<string, number>> {
  const { count, size } = parse(peer.arg);
  const { output, input } = caseRings(peer);
  const message = new Uint8Array(size).fill(2);
  const batch = Array.from({ length: 64 }, () => message);
  const start = now();
  if (batched) {
    for (let sent = 0; sent < count; ) sent += output.tryWriteBatch(count - sent >= 64 ? batch : batch.slice(0, count - sent));
  } else {
    for (let i = 0; i < count; i++) while (!output.tryWrite(message));
  }
  const ack = input.readSync({ spin: Infinity });
  const seconds = (now() - start) / 1e9;
  if (ack?.[0] !== 1) throw new Error("the peer received the wrong number of bytes");
  return { "msgs/s": count / seconds, "bytes/s": (count * size) / seconds };
}

// --- the shm:// transport -------------------------------------------------------------------------

async function transportServer(raw: string, serve: (connection: Connection, arg: Arg) => Promise<void>): Promise<void> {
  const arg = parse(raw);
  const listener = await listen(`shm://${arg.name}`, { ringCapacity: RING_CAPACITY });
  process.stdout.write(`ready ${listener.address}\n`);
  for await (const connection of listener) void serve(connection, arg).catch(() => undefined);
}

async function sink(connection: Connection, arg: Arg): Promise<void> {
  await sinkMessages(connection, arg.count);
}

async function transportRoundTrips(peer: PeerHandle, idle: boolean): Promise<Record<string, number>> {
  const connection = await connect(peer.ready);
  const result = await connectionRoundTrips(connection, SMALL, planOf(idle));
  connection.abort();
  return result;
}

async function transportSend(peer: PeerHandle): Promise<Record<string, number>> {
  const { count, size } = parse(peer.arg);
  const connection = await connect(peer.ready);
  const result = await connectionSend(connection, count, size);
  connection.abort();
  return result;
}

// --- raw node:net on a Unix socket ----------------------------------------------------------------

async function rawServer(raw: string, onSocket: (socket: net.Socket, arg: Arg) => void): Promise<void> {
  const arg = parse(raw);
  const server = net.createServer((socket) => onSocket(socket, arg));
  await new Promise<void>((resolve) => server.listen(join(arg.dir, "raw.sock"), resolve));
  process.stdout.write(`ready ${join(arg.dir, "raw.sock")}\n`);
}

function rawEcho(socket: net.Socket): void {
  echoBytes(socket, socket);
}

function rawSink(socket: net.Socket, arg: Arg): void {
  sinkBytes(socket, socket, arg.count, arg.size);
}

async function rawConnect(peer: PeerHandle): Promise<net.Socket> {
  const socket = net.connect(peer.ready);
  await once(socket, "connect");
  return socket;
}

async function rawRoundTrips(peer: PeerHandle, idle: boolean): Promise<Record<string, number>> {
  const socket = await rawConnect(peer);
  const result = await rawRoundTripsOver(socket, socket, SMALL, planOf(idle));
  socket.destroy();
  return result;
}

async function rawSend(peer: PeerHandle): Promise<Record<string, number>> {
  const { count, size } = parse(peer.arg);
  const socket = await rawConnect(peer);
  const result = await rawSendOver(socket, once(socket, "data"), count, size);
  socket.destroy();
  return result;
}

// --- the cases ----------------------------------------------------------------------------------

const SPIN = "Shared memory: round trip 64 B, both sides spinning";
const SLEEP = "Shared memory: round trip 64 B, spin then sleep";
const IDLE = `Shared memory: round trip 64 B, idle (one every ${IDLE_GAP_MS} ms)`;
const THROUGHPUT = "Shared memory: throughput, 64 KiB messages";
const RATE = "Shared memory: message rate, 64 B";
const RAW = "raw node:net, Unix socket";
const RAW_COUNT = 1_000_000;

const cases: BenchCase[] = [
  { id: "shm-rtt-spin-raw", group: SPIN, role: "baseline", label: RAW, run: (p) => rawRoundTrips(p!, false), peer: (a) => rawServer(a, rawEcho), peerArg: argOf(0, 0, "spin") },
  { id: "shm-rtt-spin-ring", group: SPIN, role: "ours", label: "MessageRing tryWrite + readSync({ spin: Infinity })", run: (p) => ringRoundTrips(p!, "spin"), peer: ringEchoPeer, peerArg: argOf(0, 0, "spin") },
  { id: "shm-rtt-sleep-raw", group: SLEEP, role: "baseline", label: RAW, run: (p) => rawRoundTrips(p!, false), peer: (a) => rawServer(a, rawEcho), peerArg: argOf(0, 0, "sleep") },
  { id: "shm-rtt-sleep-ring", group: SLEEP, role: "ours", label: "MessageRing write() + read()", run: (p) => ringRoundTrips(p!, "sleep"), peer: ringEchoPeer, peerArg: argOf(0, 0, "sleep") },
  { id: "shm-rtt-sleep-transport", group: SLEEP, role: "ours", label: "shm:// Connection send() + receive()", run: (p) => transportRoundTrips(p!, false), peer: (a) => transportServer(a, echoMessages), peerArg: argOf(0, 0, "sleep") },
  { id: "shm-rtt-idle-raw", group: IDLE, role: "baseline", label: RAW, run: (p) => rawRoundTrips(p!, true), peer: (a) => rawServer(a, rawEcho), peerArg: argOf(0, 0, "sleep") },
  { id: "shm-rtt-idle-ring", group: IDLE, role: "ours", label: "MessageRing write() + read()", run: (p) => ringRoundTrips(p!, "idle"), peer: ringEchoPeer, peerArg: argOf(0, 0, "sleep") },
  { id: "shm-rtt-idle-transport", group: IDLE, role: "ours", label: "shm:// Connection send() + receive()", run: (p) => transportRoundTrips(p!, true), peer: (a) => transportServer(a, echoMessages), peerArg: argOf(0, 0, "sleep") },
  { id: "shm-throughput-raw", group: THROUGHPUT, role: "baseline", label: RAW, run: (p) => rawSend(p!), peer: (a) => rawServer(a, rawSink), peerArg: argOf(BIG_COUNT / 4, BIG, "sleep") },
  { id: "shm-throughput-ring", group: THROUGHPUT, role: "ours", label: "MessageRing tryWrite / drain, copied into the reader's buffer", run: (p) => ringSend(p!, false), peer: ringSinkPeer, peerArg: argOf(BIG_COUNT, BIG, "spin", "into") },
  { id: "shm-throughput-transport", group: THROUGHPUT, role: "ours", label: "shm:// Connection", run: (p) => transportSend(p!), peer: (a) => transportServer(a, sink), peerArg: argOf(BIG_COUNT / 4, BIG, "sleep") },
  { id: "shm-rate-raw", group: RATE, role: "baseline", label: `${RAW}, one write per message`, run: (p) => rawSend(p!), peer: (a) => rawServer(a, rawSink), peerArg: argOf(RAW_COUNT, SMALL, "sleep") },
  { id: "shm-rate-ring", group: RATE, role: "ours", label: "MessageRing tryWrite / drain", run: (p) => ringSend(p!, false), peer: ringSinkPeer, peerArg: argOf(SMALL_COUNT, SMALL, "spin", "drain") },
  { id: "shm-rate-ring-batch", group: RATE, role: "ours", label: "MessageRing tryWriteBatch(64) / drain", run: (p) => ringSend(p!, true), peer: ringSinkPeer, peerArg: argOf(SMALL_COUNT, SMALL, "spin", "drain") },
  { id: "shm-rate-transport", group: RATE, role: "ours", label: "shm:// Connection", run: (p) => transportSend(p!), peer: (a) => transportServer(a, sink), peerArg: argOf(RAW_COUNT * 2, SMALL, "sleep") },
];

const targets: Target[] = [
  { group: SPIN, metric: "p50 µs", absolute: 1, text: "≤ 1 µs" },
  { group: SPIN, metric: "p50 µs", ratio: 1 / 20, text: "≥ 20× faster than raw" },
  { group: SLEEP, metric: "p50 µs", absolute: 2, text: "≤ 2 µs" },
  { group: IDLE, metric: "p50 µs", ratio: 1, text: "no slower than raw" },
  { group: THROUGHPUT, metric: "bytes/s", ratio: 2, text: "≥ 2× raw" },
  { group: RATE, metric: "msgs/s", absolute: 20e6, text: "≥ 20 M msgs/s" },
];

export const shmCases: CaseModule = {
  cases,
  groupMetrics: { [SPIN]: ["p50 µs", "p99 µs"], [SLEEP]: ["p50 µs", "p99 µs"], [IDLE]: ["p50 µs", "p99 µs"], [THROUGHPUT]: ["bytes/s"], [RATE]: ["msgs/s"] },
  targets,
};
