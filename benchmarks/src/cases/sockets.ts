/**
 * The socket transports against raw Node on the same kind of socket, two processes: @ipc/unix vs
 * node:net on a Unix socket, @ipc/tcp vs node:net on loopback TCP, @ipc/tcp with TLS vs node:tls. Round
 * trip of 64 B, one-way throughput of 64 KiB messages, one-way rate of 64 B messages. And 1 000 clients
 * doing 100 round trips each against one server, with the server's memory before and after.
 */
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import type { Connection, Listener } from "@ipc/core";
import * as tcp from "@ipc/tcp";
import * as unix from "@ipc/unix";
import type { BenchCase, CaseModule, PeerHandle, Target } from "../lib/case.js";
import { connectionRoundTrips, connectionSend, echoBytes, echoMessages, rawRoundTrips as rawRoundTripsOver, rawSend as rawSendOver, sinkBytes, sinkMessages } from "../lib/raw.js";
import { now } from "../lib/stats.js";

type Kind = "unix" | "tcp" | "tls";

interface Arg {
  readonly dir: string;
  readonly count: number;
  readonly size: number;
}

const WARMUP = 2_000;
const ROUND_TRIPS = 20_000;
const BIG = 64 * 1024;
const SMALL = 64;

/** A self-signed certificate for 127.0.0.1, made once per case run in its temp dir. */
function certificate(dir: string): { key: string; cert: string } {
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  try {
    return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
  } catch {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    return certificate(dir);
  }
}

// --- our side ------------------------------------------------------------------------------------

/** A backlog for 1 000 clients connecting at once (the default 128 would let the kernel drop some). */
const BACKLOG = 1024;

async function ourListener(kind: Kind, dir: string): Promise<Listener> {
  if (kind === "unix") return unix.listen(join(dir, "s.sock"), { backlog: BACKLOG });
  return tcp.listen("tcp://127.0.0.1:0", kind === "tls" ? { tls: certificate(dir), backlog: BACKLOG } : { backlog: BACKLOG });
}

function ourConnect(kind: Kind, peer: PeerHandle): Promise<Connection> {
  if (kind === "unix") return unix.connect(peer.ready);
  const { dir } = JSON.parse(peer.arg) as Arg;
  return tcp.connect(peer.ready, kind === "tls" ? { tls: { ca: certificate(dir).cert } } : undefined);
}

async function ourServer(kind: Kind, raw: string, serve: (connection: Connection) => Promise<void>): Promise<void> {
  const listener = await ourListener(kind, (JSON.parse(raw) as Arg).dir);
  process.stdout.write(`ready ${listener.address}\n`);
  for await (const connection of listener) void serve(connection).catch(() => undefined);
}

async function ourRoundTrips(kind: Kind, peer: PeerHandle): Promise<Record<string, number>> {
  const connection = await ourConnect(kind, peer);
  const result = await connectionRoundTrips(connection, SMALL, { warmup: WARMUP, count: ROUND_TRIPS });
  connection.abort();
  return result;
}

async function ourSend(kind: Kind, peer: PeerHandle): Promise<Record<string, number>> {
  const { count, size } = JSON.parse(peer.arg) as Arg;
  const connection = await ourConnect(kind, peer);
  const result = await connectionSend(connection, count, size);
  connection.abort();
  return result;
}

// --- raw Node --------------------------------------------------------------------------------------

async function rawServer(kind: Kind, raw: string, onSocket: (socket: net.Socket) => void): Promise<void> {
  const { dir } = JSON.parse(raw) as Arg;
  const server = kind === "tls" ? tls.createServer(certificate(dir), onSocket) : net.createServer(onSocket);
  const at = kind === "unix" ? { path: join(dir, "raw.sock") } : { host: "127.0.0.1", port: 0 };
  await new Promise<void>((resolve) => server.listen(at, resolve));
  const address = server.address();
  process.stdout.write(`ready ${typeof address === "string" ? address : String(address?.port)}\n`);
}

async function rawConnect(kind: Kind, peer: PeerHandle): Promise<net.Socket> {
  if (kind === "unix") {
    const socket = net.connect(peer.ready);
    await once(socket, "connect");
    return socket;
  }
  if (kind === "tcp") {
    const socket = net.connect({ host: "127.0.0.1", port: Number(peer.ready), noDelay: true });
    await once(socket, "connect");
    return socket;
  }
  const { dir } = JSON.parse(peer.arg) as Arg;
  const socket = tls.connect({ host: "127.0.0.1", port: Number(peer.ready), ca: certificate(dir).cert });
  await once(socket, "secureConnect");
  socket.setNoDelay(true);
  return socket;
}

async function rawRoundTrips(kind: Kind, peer: PeerHandle): Promise<Record<string, number>> {
  const socket = await rawConnect(kind, peer);
  const result = await rawRoundTripsOver(socket, socket, SMALL, { warmup: WARMUP, count: ROUND_TRIPS });
  socket.destroy();
  return result;
}

async function rawSend(kind: Kind, peer: PeerHandle): Promise<Record<string, number>> {
  const { count, size } = JSON.parse(peer.arg) as Arg;
  const socket = await rawConnect(kind, peer);
  const result = await rawSendOver(socket, once(socket, "data"), count, size);
  socket.destroy();
  return result;
}

function rawEcho(socket: net.Socket): void {
  echoBytes(socket, socket);
}

function rawSink(count: number, size: number): (socket: net.Socket) => void {
  return (socket) => sinkBytes(socket, socket, count, size);
}

// --- 1 000 clients -------------------------------------------------------------------------------

const CLIENTS = 1000;
const CLIENT_ROUND_TRIPS = 100;

const rss = (): number => process.memoryUsage().rss / (1024 * 1024);

/** The server: echoes; on a message "rss" answers its RSS at start, at the busiest, and now (after GC). */
async function manyServer(kind: Kind, raw: string): Promise<void> {
  const start = rss();
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
  sampler.unref();
  await ourServer(kind, raw, async (connection) => {
    for await (const message of connection) {
      if (message.byteLength === 3 && new TextDecoder().decode(message) === "rss") {
        (globalThis as { gc?: () => void }).gc?.();
        await new Promise((resolve) => setTimeout(resolve, 200));
        await connection.send(new TextEncoder().encode(JSON.stringify({ start, peak, end: rss() })));
      } else {
        await connection.send(message);
      }
    }
    await connection.close();
  });
}

async function manyClients(kind: Kind, peer: PeerHandle): Promise<Record<string, number>> {
  const began = now();
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => ourConnect(kind, peer)));
  let failures = 0;
  await Promise.all(
    clients.map(async (client, id) => {
      const message = new TextEncoder().encode(`client ${id}`);
      for (let i = 0; i < CLIENT_ROUND_TRIPS; i++) {
        await client.send(message);
        const reply = await client.receive();
        if (reply?.byteLength !== message.byteLength) failures++;
      }
      await client.close();
    }),
  );
  const seconds = (now() - began) / 1e9;
  const probe = await ourConnect(kind, peer);
  await probe.send(new TextEncoder().encode("rss"));
  const memory = JSON.parse(new TextDecoder().decode(await probe.receive())) as { start: number; peak: number; end: number };
  probe.abort();
  if (failures > 0) throw new Error(`${failures} round trips came back wrong`);
  return { "round trips/s": (CLIENTS * CLIENT_ROUND_TRIPS) / seconds, "RSS start MiB": memory.start, "RSS peak MiB": memory.peak, "RSS after MiB": memory.end };
}

// --- the cases -----------------------------------------------------------------------------------

const label: Record<Kind, { ours: string; raw: string; title: string }> = {
  unix: { ours: "@ipc/unix", raw: "raw node:net", title: "Unix socket" },
  tcp: { ours: "@ipc/tcp", raw: "raw node:net", title: "TCP loopback" },
  tls: { ours: "@ipc/tcp + TLS", raw: "raw node:tls", title: "TLS loopback" },
};

const arg = (count: number, size: number) => (dir: string): string => JSON.stringify({ dir, count, size });

function casesOf(kind: Kind): { cases: BenchCase[]; groups: Record<string, string[]>; targets: Target[] } {
  const { ours, raw, title } = label[kind];
  const rtt = `${title}: round trip, 64 B`;
  const throughput = `${title}: throughput, 64 KiB messages`;
  const rate = `${title}: message rate, 64 B`;
  const big = kind === "tls" ? 4096 : 16_384;
  const small = kind === "tls" ? 1_000_000 : 3_000_000;
  const cases: BenchCase[] = [
    { id: `${kind}-rtt-ours`, group: rtt, role: "ours", label: ours, run: (p) => ourRoundTrips(kind, p!), peer: (a) => ourServer(kind, a, echoMessages), peerArg: arg(0, 0) },
    { id: `${kind}-rtt-raw`, group: rtt, role: "baseline", label: raw, run: (p) => rawRoundTrips(kind, p!), peer: (a) => rawServer(kind, a, rawEcho), peerArg: arg(0, 0) },
    { id: `${kind}-throughput-ours`, group: throughput, role: "ours", label: ours, run: (p) => ourSend(kind, p!), peer: (a) => ourServer(kind, a, (c) => sinkMessages(c, big)), peerArg: arg(big, BIG) },
    { id: `${kind}-throughput-raw`, group: throughput, role: "baseline", label: raw, run: (p) => rawSend(kind, p!), peer: (a) => rawServer(kind, a, rawSink(big, BIG)), peerArg: arg(big, BIG) },
    { id: `${kind}-rate-ours`, group: rate, role: "ours", label: ours, run: (p) => ourSend(kind, p!), peer: (a) => ourServer(kind, a, (c) => sinkMessages(c, small)), peerArg: arg(small, SMALL) },
    { id: `${kind}-rate-raw`, group: rate, role: "baseline", label: `${raw}, one write per message`, run: (p) => rawSend(kind, p!), peer: (a) => rawServer(kind, a, rawSink(small / 5, SMALL)), peerArg: arg(small / 5, SMALL) },
  ];
  return {
    cases,
    groups: { [rtt]: ["p50 µs", "p99 µs"], [throughput]: ["bytes/s"], [rate]: ["msgs/s"] },
    targets: [
      { group: rtt, metric: "p50 µs", ratio: 1.15, text: "≤ 1.15× raw" },
      { group: throughput, metric: "bytes/s", ratio: 0.9, text: "≥ 0.9× raw" },
      { group: rate, metric: "msgs/s", absolute: 4e6, text: "≥ 4 M msgs/s" },
    ],
  };
}

const kinds = (["unix", "tcp", "tls"] as const).map(casesOf);
const many = (kind: "unix" | "tcp"): BenchCase => ({
  id: `${kind}-1000-clients`,
  group: `${label[kind].title}: 1 000 clients × 100 round trips`,
  role: "ours",
  label: label[kind].ours,
  run: (p) => manyClients(kind, p!),
  peer: (a) => manyServer(kind, a),
  peerArg: arg(0, 0),
});

export const socketCases: CaseModule = {
  cases: [...kinds.flatMap((k) => k.cases), many("unix"), many("tcp")],
  groupMetrics: Object.assign(
    {},
    ...kinds.map((k) => k.groups),
    Object.fromEntries(
      (["unix", "tcp"] as const).map((kind) => [
        `${label[kind].title}: 1 000 clients × 100 round trips`,
        ["round trips/s", "RSS start MiB", "RSS peak MiB", "RSS after MiB"],
      ]),
    ),
  ),
  targets: kinds.flatMap((k) => k.targets),
  metrics: {
    "round trips/s": { name: "round trips/s", unit: "k round trips/s", higherIsBetter: true, scale: 1e3 },
    "RSS start MiB": { name: "RSS start MiB", unit: "MiB RSS at start", higherIsBetter: false },
    "RSS peak MiB": { name: "RSS peak MiB", unit: "MiB RSS at peak", higherIsBetter: false },
    "RSS after MiB": { name: "RSS after MiB", unit: "MiB RSS after", higherIsBetter: false },
  },
};
