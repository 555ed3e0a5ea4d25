/**
 * framed() over a Unix socket between two processes, against raw node:net on the same socket type:
 * 64 B round trip, 64 KiB one-way throughput, 64 B one-way message rate.
 */
import { once } from "node:events";
import { join } from "node:path";
import net from "node:net";
import { framed } from "@ipc/framing";
import { memoryPair } from "@ipc/core";
import type { BenchCase, CaseModule, PeerHandle } from "../lib/case.js";
import { connectionRoundTrips, connectionSend, echoBytes, echoMessages, frameOf, rawRoundTrips as rawRoundTripsOver, sinkBytes, sinkMessages } from "../lib/raw.js";
import { now } from "../lib/stats.js";

const WARMUP = 2_000;
const ROUND_TRIPS = 20_000;
const BIG = 64 * 1024;
const SMALL = 64;

interface PeerArg {
  readonly path: string;
  readonly count: number;
  readonly size: number;
}

async function serve(path: string, onSocket: (socket: net.Socket) => void): Promise<void> {
  const server = net.createServer({ allowHalfOpen: true }, onSocket);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  process.stdout.write("ready\n");
}

async function dial(path: string): Promise<net.Socket> {
  const socket = net.connect({ path, allowHalfOpen: true });
  await once(socket, "connect");
  return socket;
}

const arg = (peer: PeerHandle | undefined): PeerArg => JSON.parse(peer!.arg) as PeerArg;

// --- round trip -----------------------------------------------------------------------------------

async function framedRoundTrips(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const connection = framed(await dial(arg(peer).path));
  const result = await connectionRoundTrips(connection, SMALL, { warmup: WARMUP, count: ROUND_TRIPS });
  connection.abort();
  return result;
}

async function rawRoundTrips(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const socket = await dial(arg(peer).path);
  const result = await rawRoundTripsOver(socket, socket, SMALL, { warmup: WARMUP, count: ROUND_TRIPS });
  socket.destroy();
  return result;
}

async function framedEchoPeer(raw: string): Promise<void> {
  await serve((JSON.parse(raw) as PeerArg).path, (socket) => void echoMessages(framed(socket)).catch(() => undefined));
}

async function rawEchoPeer(raw: string): Promise<void> {
  await serve((JSON.parse(raw) as PeerArg).path, (socket) => echoBytes(socket, socket));
}

// --- one-way streams: the receiver answers one byte (or message) when it has everything ----------

async function framedSend(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const { path, count, size } = arg(peer);
  const connection = framed(await dial(path));
  const result = await connectionSend(connection, count, size);
  connection.abort();
  return result;
}

async function rawSend(peer: PeerHandle | undefined, corked: boolean): Promise<Record<string, number>> {
  const { path, count, size } = arg(peer);
  const socket = await dial(path);
  const frame = frameOf(size);
  const acked = once(socket, "data");
  const start = now();
  const batch = corked ? 1000 : 1;
  for (let i = 0; i < count; i += batch) {
    if (corked) socket.cork();
    let ok = true;
    for (let j = i; j < i + batch && j < count; j++) ok = socket.write(frame);
    if (corked) socket.uncork();
    if (!ok) await once(socket, "drain");
  }
  await acked;
  const seconds = (now() - start) / 1e9;
  socket.destroy();
  return { "msgs/s": count / seconds, "bytes/s": (count * size) / seconds };
}

async function framedSinkPeer(raw: string): Promise<void> {
  const { path, count } = JSON.parse(raw) as PeerArg;
  await serve(path, (socket) => void sinkMessages(framed(socket), count).catch(() => undefined));
}

async function rawSinkPeer(raw: string): Promise<void> {
  const { path, count, size } = JSON.parse(raw) as PeerArg;
  await serve(path, (socket) => sinkBytes(socket, socket, count, size));
}

// --- in-memory round trip (one process) -----------------------------------------------------------

async function memoryRoundTrips(): Promise<Record<string, number>> {
  const [client, server] = memoryPair();
  void echoMessages(server).catch(() => undefined);
  const result = await connectionRoundTrips(client, SMALL, { warmup: WARMUP, count: ROUND_TRIPS });
  client.abort();
  return result;
}

/** The peer argument of a one-way stream case: where, how many messages, how big. */
const stream = (count: number, size: number) => (dir: string): string =>
  JSON.stringify({ path: join(dir, "s.sock"), count, size });

const RTT = "Unix socket round trip, 64 B";
const RTT_SHARED = "Unix socket round trip, 64 B, both on one core";
const THROUGHPUT = "Unix socket throughput, 64 KiB messages";
const RATE = "Unix socket message rate, 64 B";

const cases: BenchCase[] = [
  { id: "unix-rtt-ours", group: RTT, role: "ours", label: "framed()", run: framedRoundTrips, peer: framedEchoPeer },
  { id: "unix-rtt-raw", group: RTT, role: "baseline", label: "raw node:net", run: rawRoundTrips, peer: rawEchoPeer },
  { id: "unix-rtt-shared-ours", group: RTT_SHARED, role: "ours", label: "framed()", run: framedRoundTrips, peer: framedEchoPeer, placement: "shared" },
  { id: "unix-rtt-shared-raw", group: RTT_SHARED, role: "baseline", label: "raw node:net", run: rawRoundTrips, peer: rawEchoPeer, placement: "shared" },
  { id: "unix-throughput-ours", group: THROUGHPUT, role: "ours", label: "framed()", run: framedSend, peer: framedSinkPeer, peerArg: stream(16_384, BIG) },
  { id: "unix-throughput-raw", group: THROUGHPUT, role: "baseline", label: "raw node:net", run: (p) => rawSend(p, false), peer: rawSinkPeer, peerArg: stream(16_384, BIG) },
  { id: "unix-rate-ours", group: RATE, role: "ours", label: "framed()", run: framedSend, peer: framedSinkPeer, peerArg: stream(3_000_000, SMALL) },
  { id: "unix-rate-raw", group: RATE, role: "baseline", label: "raw node:net, one write per message", run: (p) => rawSend(p, false), peer: rawSinkPeer, peerArg: stream(400_000, SMALL) },
  { id: "unix-rate-raw-corked", group: RATE, role: "reference", label: "raw node:net, corked ×1000", run: (p) => rawSend(p, true), peer: rawSinkPeer, peerArg: stream(3_000_000, SMALL) },
  { id: "memory-rtt-ours", group: "memory transport round trip, 64 B", role: "ours", label: "memoryPair()", run: memoryRoundTrips },
];

export const framedOverUnix: CaseModule = {
  cases,
  groupMetrics: {
    [RTT]: ["p50 µs", "p99 µs"],
    [RTT_SHARED]: ["p50 µs", "p99 µs"],
    [THROUGHPUT]: ["bytes/s"],
    [RATE]: ["msgs/s"],
    "memory transport round trip, 64 B": ["p50 µs", "p99 µs"],
  },
  targets: [
    { group: RTT, metric: "p50 µs", ratio: 1.15, text: "≤ 1.15× raw" },
    { group: RTT_SHARED, metric: "p50 µs", ratio: 1.15, text: "≤ 1.15× raw" },
    { group: THROUGHPUT, metric: "bytes/s", ratio: 0.9, text: "≥ 0.9× raw" },
    { group: RATE, metric: "msgs/s", absolute: 4e6, text: "≥ 4 M msgs/s" },
  ],
};
