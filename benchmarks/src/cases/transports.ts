/**
 * Every @ipc transport as an application uses it (its own connect() / listen(), default options), at every
 * message size of the run: a round trip, and a one-way stream (a message rate for small messages, a
 * throughput for large ones) — and framed() straight over node:net. Each group compares them with raw Node on
 * the same mechanism (cases/raw.ts) and the plain reference loop. These are the cases of `ipc bench`, and the
 * figures `choose()` decides by (lib/measurements.ts).
 */
import { once } from "node:events";
import net from "node:net";
import { basename, join } from "node:path";
import { isViewConnection, type Connection, type Listener } from "@ipc/core";
import type { BenchCase, CaseContext, CaseModule, CaseParams, Group, GroupRow, Metrics, Target } from "../lib/case.js";
import { BATCH, encodeCount, measureBatches, measureMessages, serveBatches, serveLentBatches, serveMessages } from "../lib/loops.js";
import { certificate, exitWithParent } from "../lib/processes.js";
import { SMALL_MESSAGE, sizeId } from "../lib/sizes.js";
import { ALL_REGIMES, groupTitle, type Transport } from "../lib/titles.js";
import { plainId, rawId, sizesOf, type Mechanism } from "./raw.js";

/** What each transport is called, and which raw mechanism is its baseline. */
const TRANSPORTS: Readonly<Record<Transport, { label: string; raw?: Mechanism }>> = {
  unix: { label: "@ipc/unix", raw: "unix" },
  tcp: { label: "@ipc/tcp", raw: "tcp" },
  tls: { label: "@ipc/tcp + TLS", raw: "tls" },
  shm: { label: "shm:// Connection", raw: "unix" },
  pipe: { label: "spawnChannel() (pipe:)", raw: "stdio" },
  fifo: { label: "fifo:// (@ipc/pipe)", raw: "fifo" },
  memory: { label: "memory:// (one process)" },
};

/**
 * The id of an @ipc case: `unix-rtt-64B`, `shm-stream-1MiB`, `unix-batch-64B` (a stream through the batch path),
 * `unix-view-64KiB` (a stream received with receiveView()), `unix-views-64B` (sendBatch() / the lent receiveViews()).
 */
export function oursId(transport: Transport, kind: "rtt" | "stream" | "batch" | "view" | "views", size: number): string {
  return `${transport}-${kind}-${sizeId(size)}`;
}

/**
 * The transports whose stream of small messages is also measured through the batch path (`sendBatch()` /
 * `receiveBatch()`, issue 17), beside one `send()` per message.
 */
const BATCH_TRANSPORTS: readonly Transport[] = ["unix", "tcp"];

/**
 * The transports whose stream of large messages is also measured received with `receiveView()`, the opt-in
 * zero-copy receive (each message lent from a recycled read buffer and released at once), beside the copying
 * receive (issue 17: 64 KiB ≥ 0.9× raw).
 */
const VIEW_TRANSPORTS: readonly Transport[] = ["unix", "tcp"];

interface Arg {
  readonly dir: string;
  readonly size: number;
  /**
   * `batch`: a stream through sendBatch()/receiveBatch(); `views`: sent the same, received with the lent
   * receiveViews(); `view`: a stream received with receiveView().
   */
  readonly kind: "rtt" | "stream" | "batch" | "view" | "views";
}
const parse = (text: string): Arg => JSON.parse(text) as Arg;

/** Room for the largest message of the run: the default (16 MiB) unless a message is bigger. */
const limits = (size: number): { maxMessageSize: number } => ({ maxMessageSize: Math.max(16 << 20, size + 64) });

// Each process imports only the package of its transport (a worker starts faster, and carries no other).

async function listenOn(transport: Transport, arg: Arg): Promise<Listener> {
  const options = limits(arg.size);
  switch (transport) {
    case "unix":
      return (await import("@ipc/unix")).listen(`unix://${join(arg.dir, "s.sock")}`, options);
    case "tcp":
      return (await import("@ipc/tcp")).listen("tcp://127.0.0.1:0", options);
    case "tls":
      return (await import("@ipc/tcp")).listen("tcp://127.0.0.1:0", { ...options, tls: certificate(arg.dir) });
    case "shm":
      return (await import("@ipc/shm")).shmTransport.listen(`shm://ipc-bench-${basename(arg.dir)}`, options);
    case "fifo":
      return (await import("@ipc/pipe")).fifoTransport.listen(`fifo://${join(arg.dir, "f")}`, options);
    default:
      return (await import("@ipc/core")).memoryTransport.listen(`memory://bench-${basename(arg.dir)}`, options);
  }
}

async function connectTo(transport: Transport, arg: Arg, address: string): Promise<Connection> {
  const options = { ...limits(arg.size), timeout: 10_000 };
  switch (transport) {
    case "unix":
      return (await import("@ipc/unix")).connect(address, options);
    case "tcp":
      return (await import("@ipc/tcp")).connect(address, options);
    case "tls":
      return (await import("@ipc/tcp")).connect(address, { ...options, tls: { ca: certificate(arg.dir).cert } });
    case "shm":
      return (await import("@ipc/shm")).shmTransport.connect(address, options);
    case "fifo":
      return (await import("@ipc/pipe")).fifoTransport.connect(address, options);
    default:
      return (await import("@ipc/core")).memoryTransport.connect(address, options);
  }
}

/** Serves every connection of `listener` (echo or count, by the case's kind). */
function serveAll(listener: Listener, kind: Arg["kind"]): void {
  void (async () => {
    for await (const connection of listener) {
      void serveKind(connection, kind).catch(() => connection.abort());
    }
  })();
}

/** The serving side of a case of `kind`. */
function serveKind(connection: Connection, kind: Arg["kind"]): Promise<void> {
  if (kind === "view") return serveViews(connection);
  if (kind === "views") return serveLentBatches(connection);
  return kind === "batch" ? serveBatches(connection) : serveMessages(connection, kind);
}

/**
 * The receiving side of a `view` stream: the protocol of serveMessages()'s stream (count until an empty message,
 * answer the count), each message taken with receiveView() and released once counted.
 */
async function serveViews(connection: Connection): Promise<void> {
  if (!isViewConnection(connection)) throw new Error(`${connection.remoteAddress}: this connection offers no receiveView()`);
  let count = 0;
  for (;;) {
    const view = await connection.receiveView();
    if (view === undefined) return;
    // `length`: see serveMessages.
    const empty = view.bytes.length === 0;
    view.release();
    if (!empty) count++;
    else {
      await connection.send(encodeCount(count));
      count = 0;
    }
  }
}

/** The measuring side of a case of `kind` (a `view` stream is sent like any stream, a `views` one like a batch). */
function measureKind(connection: Connection, arg: Arg, budget: CaseContext["budget"]): Promise<Metrics> {
  if (arg.kind === "batch" || arg.kind === "views") return measureBatches(connection, arg.size, budget);
  return measureMessages(connection, arg.kind === "view" ? "stream" : arg.kind, arg.size, budget);
}

async function peer(transport: Transport, text: string): Promise<void> {
  const arg = parse(text);
  exitWithParent();
  const listener = await listenOn(transport, arg);
  process.stdout.write(`ready ${listener.address}\n`);
  serveAll(listener, arg.kind);
}

async function measure(transport: Transport, context: CaseContext): Promise<Metrics> {
  const arg = parse(context.arg);
  let connection: Connection;
  if (transport === "pipe") {
    const [command, ...args] = context.childCommand(context.arg);
    connection = await (await import("@ipc/pipe")).spawnChannel(command!, args, limits(arg.size));
  } else if (transport === "memory") {
    const listener = await listenOn("memory", arg);
    serveAll(listener, arg.kind);
    connection = await connectTo("memory", arg, listener.address);
  } else {
    connection = await connectTo(transport, arg, context.ready);
  }
  try {
    return await measureKind(connection, arg, context.budget);
  } finally {
    connection.abort();
  }
}

/** The pipe: child: its parent's channel over stdin/stdout. */
async function pipeChild(text: string): Promise<void> {
  const arg = parse(text);
  const connection = (await import("@ipc/pipe")).parentChannel(limits(arg.size));
  await serveKind(connection, arg.kind).catch(() => undefined);
  await connection.close().catch(() => undefined);
}

// --- framed() over a node:net Unix socket (the framing alone, without @ipc/unix's handshake) -----------

async function framedPeer(text: string): Promise<void> {
  const arg = parse(text);
  exitWithParent();
  const { framed } = await import("@ipc/framing");
  const server = net.createServer(
    { allowHalfOpen: true },
    (socket) => void serveKind(framed(socket, limits(arg.size)), arg.kind).catch(() => socket.destroy()),
  );
  server.listen(join(arg.dir, "framed.sock"));
  await once(server, "listening");
  process.stdout.write(`ready ${join(arg.dir, "framed.sock")}\n`);
}

async function framedMeasure(context: CaseContext): Promise<Metrics> {
  const arg = parse(context.arg);
  const socket = net.connect({ path: context.ready, allowHalfOpen: true });
  await once(socket, "connect");
  const connection = (await import("@ipc/framing")).framed(socket, limits(arg.size));
  try {
    return await measureKind(connection, arg, context.budget);
  } finally {
    connection.abort();
  }
}

/** framed() is measured where the targets of @ipc/framing were set: 64 B round trips and both streams. */
const framedSizes = (params: CaseParams): number[] => params.sizes.filter((s) => s === 64 || s === 64 * 1024);

// --- the cases and their groups --------------------------------------------------------------------------

const argOf =
  (size: number, kind: Arg["kind"]) =>
  (dir: string): string =>
    JSON.stringify({ dir, size, kind } satisfies Arg);

function sizesFor(transport: Transport, params: CaseParams): number[] {
  return transport === "tls" ? sizesOf("tls", params) : [...params.sizes];
}

function cases(params: CaseParams): BenchCase[] {
  const all: BenchCase[] = [];
  for (const transport of Object.keys(TRANSPORTS) as Transport[]) {
    const { label } = TRANSPORTS[transport];
    const serving = transport === "pipe" || transport === "memory" ? {} : { peer: (a: string) => peer(transport, a) };
    for (const size of sizesFor(transport, params)) {
      for (const kind of ["rtt", "stream"] as const) {
        all.push({
          id: oursId(transport, kind, size),
          label,
          run: (c) => measure(transport, c),
          ...serving,
          child: pipeChild,
          peerArg: argOf(size, kind),
          regimes: transport === "unix" && kind === "rtt" && size === 64 ? ALL_REGIMES : undefined,
        });
      }
    }
  }
  for (const transport of BATCH_TRANSPORTS) {
    for (const size of params.sizes.filter((s) => s < SMALL_MESSAGE)) {
      all.push({
        id: oursId(transport, "batch", size),
        label: `${TRANSPORTS[transport].label}, sendBatch()/receiveBatch() of ${BATCH}`,
        run: (c) => measure(transport, c),
        peer: (a: string) => peer(transport, a),
        peerArg: argOf(size, "batch"),
      });
      all.push({
        id: oursId(transport, "views", size),
        label: `${TRANSPORTS[transport].label}, sendBatch() of ${BATCH} / zero-copy receiveViews()`,
        run: (c) => measure(transport, c),
        peer: (a: string) => peer(transport, a),
        peerArg: argOf(size, "views"),
      });
    }
  }
  for (const transport of VIEW_TRANSPORTS) {
    for (const size of params.sizes.filter((s) => s >= SMALL_MESSAGE)) {
      all.push({
        id: oursId(transport, "view", size),
        label: `${TRANSPORTS[transport].label}, receiveView()`,
        run: (c) => measure(transport, c),
        peer: (a: string) => peer(transport, a),
        peerArg: argOf(size, "view"),
      });
    }
  }
  for (const size of framedSizes(params)) {
    for (const kind of ["rtt", "stream"] as const) {
      all.push({
        id: `framed-unix-${kind}-${sizeId(size)}`,
        label: "framed() over node:net",
        run: framedMeasure,
        peer: framedPeer,
        peerArg: argOf(size, kind),
        regimes: kind === "rtt" && size === 64 ? ALL_REGIMES : undefined,
      });
    }
  }
  return all;
}

/** The targets the issues set for the transports (revised by issue 17). */
function targetsOf(transport: Transport, kind: "rtt" | "stream", size: number): Target[] {
  const socket = transport === "unix" || transport === "tcp" || transport === "tls";
  if (kind === "rtt" && size === 64) {
    if (socket || transport === "pipe") return [{ metric: "p50 µs", ratio: 1.15, text: "≤ 1.15× raw" }];
    if (transport === "shm") return [{ metric: "p50 µs", absolute: 2, text: "≤ 2 µs" }];
  }
  if (kind === "stream" && size === 64) {
    if (BATCH_TRANSPORTS.includes(transport)) {
      return [
        { metric: "msgs/s", absolute: 4e6, text: "≥ 4 M msgs/s per message", cases: [oursId(transport, "stream", size)] },
        { metric: "msgs/s", ratio: 0.9, text: "≥ 0.9× raw packed, batch path", cases: [oursId(transport, "batch", size)] },
        { metric: "msgs/s", ratio: 0.9, text: "≥ 0.9× raw packed, lent receiveViews()", cases: [oursId(transport, "views", size)] },
      ];
    }
    if (socket) return [{ metric: "msgs/s", absolute: 4e6, text: "≥ 4 M msgs/s" }];
    if (transport === "pipe")
      return [{ metric: "msgs/s", ratio: 4, vs: rawId("stdio", "stream", 64, "-per-message"), text: "≥ 4× one write per message (not syscall-bound)" }];
    if (transport === "shm") return [{ metric: "msgs/s", absolute: 20e6, text: "≥ 20 M msgs/s" }];
  }
  if (kind === "stream" && size === 64 * 1024) {
    if (VIEW_TRANSPORTS.includes(transport)) {
      return [
        { metric: "bytes/s", ratio: 0.9, text: "≥ 0.9× raw", cases: [oursId(transport, "stream", size)] },
        { metric: "bytes/s", ratio: 0.9, text: "≥ 0.9× raw, receiveView()", cases: [oursId(transport, "view", size)] },
      ];
    }
    if (socket || transport === "pipe") return [{ metric: "bytes/s", ratio: 0.9, text: "≥ 0.9× raw" }];
    if (transport === "shm") return [{ metric: "bytes/s", ratio: 2, text: "≥ 2× raw" }];
  }
  return [];
}

function groups(params: CaseParams): Group[] {
  const all: Group[] = [];
  for (const transport of Object.keys(TRANSPORTS) as Transport[]) {
    const { raw } = TRANSPORTS[transport];
    for (const size of sizesFor(transport, params)) {
      for (const kind of ["rtt", "stream"] as const) {
        const rows: GroupRow[] = [{ case: oursId(transport, kind, size), role: "ours" }];
        if (kind === "stream" && size < SMALL_MESSAGE && BATCH_TRANSPORTS.includes(transport))
          rows.push({ case: oursId(transport, "batch", size), role: "ours" }, { case: oursId(transport, "views", size), role: "ours" });
        if (kind === "stream" && size >= SMALL_MESSAGE && VIEW_TRANSPORTS.includes(transport))
          rows.push({ case: oursId(transport, "view", size), role: "ours" });
        if (transport === "unix" && framedSizes(params).includes(size)) rows.push({ case: `framed-unix-${kind}-${sizeId(size)}`, role: "ours", profiles: [] });
        if (raw !== undefined) {
          rows.push({ case: rawId(raw, kind, size), role: "baseline" });
          if (kind === "stream" && size < SMALL_MESSAGE) rows.push({ case: rawId(raw, kind, size, "-per-message"), role: "other", profiles: [] });
          rows.push({ case: plainId(raw, kind, size), role: "reference", profiles: [] });
        }
        all.push({
          title: groupTitle(transport, kind, size),
          metrics: kind === "rtt" ? ["p50 µs", "p99 µs"] : size < SMALL_MESSAGE ? ["msgs/s"] : ["bytes/s"],
          rows,
          targets: targetsOf(transport, kind, size),
          transport,
          // ipc bench (quick): round trips of small messages, streams of every size; the full run has all.
          profiles: transport === "tls" || (kind === "rtt" && size >= SMALL_MESSAGE) ? [] : ["quick"],
        });
      }
    }
  }
  return all;
}

export const module: CaseModule = { cases, groups };
