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
import { latency, now } from "../lib/stats.js";

const WARMUP = 2_000;
const ROUND_TRIPS = 20_000;
const BIG = 64 * 1024;
const SMALL = 64;

interface PeerArg {
  readonly path: string;
  readonly count: number;
  readonly size: number;
}

function frameOf(size: number): Buffer {
  const frame = Buffer.alloc(4 + size, 0x33);
  frame.writeUInt32BE(size, 0);
  return frame;
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
  const message = new Uint8Array(SMALL).fill(1);
  const samples = new Float64Array(ROUND_TRIPS);
  for (let i = 0; i < WARMUP + ROUND_TRIPS; i++) {
    const start = now();
    await connection.send(message);
    await connection.receive();
    if (i >= WARMUP) samples[i - WARMUP] = now() - start;
  }
  connection.abort();
  const { p50, p99 } = latency(samples);
  return { "p50 µs": p50, "p99 µs": p99 };
}

async function rawRoundTrips(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const socket = await dial(arg(peer).path);
  socket.setNoDelay?.(true);
  const frame = frameOf(SMALL);
  const samples = new Float64Array(ROUND_TRIPS);
  await new Promise<void>((resolve) => {
    let i = 0;
    let got = 0;
    let start = now();
    socket.on("data", (chunk: Buffer) => {
      got += chunk.length;
      if (got < frame.length) return;
      got -= frame.length;
      if (i >= WARMUP) samples[i - WARMUP] = now() - start;
      if (++i === WARMUP + ROUND_TRIPS) return resolve();
      start = now();
      socket.write(frame);
    });
    socket.write(frame);
  });
  socket.destroy();
  const { p50, p99 } = latency(samples);
  return { "p50 µs": p50, "p99 µs": p99 };
}

async function framedEchoPeer(raw: string): Promise<void> {
  await serve((JSON.parse(raw) as PeerArg).path, (socket) => {
    const connection = framed(socket);
    void (async () => {
      for await (const message of connection) await connection.send(message);
    })().catch(() => undefined);
  });
}

async function rawEchoPeer(raw: string): Promise<void> {
  await serve((JSON.parse(raw) as PeerArg).path, (socket) => {
    socket.on("data", (chunk: Buffer) => socket.write(chunk));
    socket.on("error", () => undefined);
  });
}

// --- one-way streams: the receiver answers one byte (or message) when it has everything ----------

async function framedSend(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const { path, count, size } = arg(peer);
  const connection = framed(await dial(path));
  const message = new Uint8Array(size).fill(2);
  const start = now();
  for (let i = 0; i < count; i++) await connection.send(message);
  await connection.receive();
  const seconds = (now() - start) / 1e9;
  connection.abort();
  return { "msgs/s": count / seconds, "bytes/s": (count * size) / seconds };
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
  await serve(path, (socket) => {
    const connection = framed(socket);
    void (async () => {
      let seen = 0;
      for await (const _message of connection) if (++seen === count) await connection.send(new Uint8Array(1));
    })().catch(() => undefined);
  });
}

async function rawSinkPeer(raw: string): Promise<void> {
  const { path, count, size } = JSON.parse(raw) as PeerArg;
  await serve(path, (socket) => {
    const total = count * (size + 4);
    let seen = 0;
    socket.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      if (seen === total) socket.write(Buffer.alloc(1));
    });
    socket.on("error", () => undefined);
  });
}

// --- in-memory round trip (one process) -----------------------------------------------------------

async function memoryRoundTrips(): Promise<Record<string, number>> {
  const [client, server] = memoryPair();
  void (async () => {
    for await (const message of server) await server.send(message);
  })().catch(() => undefined);
  const message = new Uint8Array(SMALL);
  const samples = new Float64Array(ROUND_TRIPS);
  for (let i = 0; i < WARMUP + ROUND_TRIPS; i++) {
    const start = now();
    await client.send(message);
    await client.receive();
    if (i >= WARMUP) samples[i - WARMUP] = now() - start;
  }
  client.abort();
  const { p50, p99 } = latency(samples);
  return { "p50 µs": p50, "p99 µs": p99 };
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
