/**
 * The channel layers of @ipc/core between two processes over @ipc/unix: a reliable session and a mux
 * stream, each against the plain @ipc/unix connection it runs over (the baseline, in the same run):
 * 64 B round trip and 64 B one-way message rate.
 */
import { join } from "node:path";
import { mux, reliable, reliableListener, type Connection } from "@ipc/core";
import * as unix from "@ipc/unix";
import type { BenchCase, CaseModule, PeerHandle } from "../lib/case.js";
import { connectionRoundTrips, connectionSend, echoMessages, sinkMessages } from "../lib/raw.js";

const WARMUP = 2_000;
const ROUND_TRIPS = 20_000;
const RATE_COUNT = 500_000;
const SMALL = 64;

interface PeerArg {
  readonly path: string;
  readonly count: number;
}

const arg = (peer: PeerHandle | undefined): PeerArg => JSON.parse(peer!.arg) as PeerArg;
const address = (path: string): string => `unix://${path}`;

type Layer = "raw" | "reliable" | "mux";

/** Serves `layer` on a Unix socket: each connection (or session, or stream) is handed to `handle`. */
async function servePeer(layer: Layer, path: string, handle: (c: Connection) => Promise<void>): Promise<void> {
  const listener = await unix.listen(address(path));
  process.stdout.write("ready\n");
  const run = (c: Connection): void => void handle(c).catch(() => undefined);
  if (layer === "reliable") {
    for await (const session of reliableListener(listener)) run(session);
    return;
  }
  for await (const connection of listener) {
    if (layer === "raw") run(connection);
    else void (async () => {
      for await (const stream of mux(connection)) run(stream);
    })().catch(() => undefined);
  }
}

/** The client end of `layer`, and how to let it go. */
async function open(layer: Layer, path: string): Promise<{ connection: Connection; done(): void }> {
  if (layer === "reliable") {
    const session = await reliable(({ signal }) => unix.connect(address(path), { signal }), { timeout: 10_000 });
    return { connection: session, done: () => session.abort() };
  }
  const connection = await unix.connect(address(path), { timeout: 10_000 });
  if (layer === "raw") return { connection, done: () => connection.abort() };
  const streams = mux(connection);
  return { connection: await streams.open("bench", { timeout: 10_000 }), done: () => streams.abort() };
}

const roundTrips = (layer: Layer) => async (peer: PeerHandle | undefined): Promise<Record<string, number>> => {
  const { connection, done } = await open(layer, arg(peer).path);
  const result = await connectionRoundTrips(connection, SMALL, { warmup: WARMUP, count: ROUND_TRIPS });
  done();
  return result;
};

const rate = (layer: Layer) => async (peer: PeerHandle | undefined): Promise<Record<string, number>> => {
  const { path, count } = arg(peer);
  const { connection, done } = await open(layer, path);
  const result = await connectionSend(connection, count, SMALL);
  done();
  return result;
};

const echoPeer = (layer: Layer) => (raw: string): Promise<void> =>
  servePeer(layer, (JSON.parse(raw) as PeerArg).path, (c) => echoMessages(c));

const sinkPeer = (layer: Layer) => (raw: string): Promise<void> => {
  const { path, count } = JSON.parse(raw) as PeerArg;
  return servePeer(layer, path, (c) => sinkMessages(c, count));
};

const stream = (count: number) => (dir: string): string => JSON.stringify({ path: join(dir, "s.sock"), count });

const RELIABLE_RTT = "reliable session round trip, 64 B (over @ipc/unix)";
const RELIABLE_RATE = "reliable session message rate, 64 B (over @ipc/unix)";
const MUX_RTT = "mux stream round trip, 64 B (over @ipc/unix)";
const MUX_RATE = "mux stream message rate, 64 B (over @ipc/unix)";
const RAW = "@ipc/unix connection";

const cases: BenchCase[] = [
  { id: "channels-reliable-rtt-ours", group: RELIABLE_RTT, role: "ours", label: "reliable()", run: roundTrips("reliable"), peer: echoPeer("reliable") },
  { id: "channels-reliable-rtt-raw", group: RELIABLE_RTT, role: "baseline", label: RAW, run: roundTrips("raw"), peer: echoPeer("raw") },
  {
    id: "channels-reliable-rate-ours",
    group: RELIABLE_RATE,
    role: "ours",
    label: "reliable()",
    run: rate("reliable"),
    peer: sinkPeer("reliable"),
    peerArg: stream(RATE_COUNT),
  },
  { id: "channels-reliable-rate-raw", group: RELIABLE_RATE, role: "baseline", label: RAW, run: rate("raw"), peer: sinkPeer("raw"), peerArg: stream(RATE_COUNT) },
  { id: "channels-mux-rtt-ours", group: MUX_RTT, role: "ours", label: "mux() stream", run: roundTrips("mux"), peer: echoPeer("mux") },
  { id: "channels-mux-rtt-raw", group: MUX_RTT, role: "baseline", label: RAW, run: roundTrips("raw"), peer: echoPeer("raw") },
  { id: "channels-mux-rate-ours", group: MUX_RATE, role: "ours", label: "mux() stream", run: rate("mux"), peer: sinkPeer("mux"), peerArg: stream(RATE_COUNT) },
  { id: "channels-mux-rate-raw", group: MUX_RATE, role: "baseline", label: RAW, run: rate("raw"), peer: sinkPeer("raw"), peerArg: stream(RATE_COUNT) },
];

export const channelCases: CaseModule = {
  cases,
  groupMetrics: {
    [RELIABLE_RTT]: ["p50 µs", "p99 µs"],
    [RELIABLE_RATE]: ["msgs/s"],
    [MUX_RTT]: ["p50 µs", "p99 µs"],
    [MUX_RATE]: ["msgs/s"],
  },
  targets: [
    { group: RELIABLE_RTT, metric: "p50 µs", ratio: 1.3, text: "≤ 1.3× the raw connection" },
    { group: RELIABLE_RATE, metric: "msgs/s", ratio: 0.6, text: "≥ 0.6× the raw connection" },
    { group: MUX_RTT, metric: "p50 µs", ratio: 1.3, text: "≤ 1.3× the raw connection" },
    { group: MUX_RATE, metric: "msgs/s", ratio: 0.6, text: "≥ 0.6× the raw connection" },
  ],
};
