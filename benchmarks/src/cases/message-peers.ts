/**
 * Other message libraries over a Unix socket, beside @ipc/unix in the Unix socket groups (`--vs peers`):
 * zeromq.js (libzmq through a native addon, a PAIR socket over ipc://) and node-ipc 12 (its default JSON
 * messages and events, as its README shows; pinned exactly: earlier releases shipped malicious code). They are
 * this package's dev dependencies, loaded only inside these cases.
 */
import { once } from "node:events";
import type { Socket } from "node:net";
import { join } from "node:path";
import type { BenchCase, CaseContext, CaseModule, Group, Metrics } from "../lib/case.js";
import { measureMessages, serveMessages, type MessageEndpoint } from "../lib/loops.js";
import { exitWithParent } from "../lib/processes.js";
import { SMALL_MESSAGE, sizeId } from "../lib/sizes.js";
import { Sampler, now, rates } from "../lib/stats.js";
import { groupTitle } from "../lib/titles.js";

interface Arg {
  readonly dir: string;
  readonly size: number;
  readonly kind: "rtt" | "stream";
}
const parse = (text: string): Arg => JSON.parse(text) as Arg;
const argOf =
  (size: number, kind: Arg["kind"]) =>
  (dir: string): string =>
    JSON.stringify({ dir, size, kind } satisfies Arg);

// --- zeromq -----------------------------------------------------------------------------------------------

type Pair = import("zeromq").Pair;

/** A PAIR socket seen as a message endpoint (zeromq frames messages itself). */
function endpoint(socket: Pair): MessageEndpoint {
  return {
    send: (message) => socket.send(message),
    receive: async () => (await socket.receive())[0],
    async *[Symbol.asyncIterator]() {
      for (;;) yield (await socket.receive())[0]!;
    },
  };
}

async function zeromqPeer(text: string): Promise<void> {
  exitWithParent();
  const arg = parse(text);
  const { Pair } = await import("zeromq");
  const socket = new Pair();
  await socket.bind(`ipc://${join(arg.dir, "z.sock")}`);
  process.stdout.write("ready\n");
  await serveMessages(endpoint(socket), arg.kind);
}

async function zeromqMeasure(context: CaseContext): Promise<Metrics> {
  const arg = parse(context.arg);
  const { Pair } = await import("zeromq");
  const socket = new Pair({ linger: 0 });
  socket.connect(`ipc://${join(arg.dir, "z.sock")}`);
  try {
    return await measureMessages(endpoint(socket), arg.kind, arg.size, context.budget);
  } finally {
    socket.close();
  }
}

// --- node-ipc ---------------------------------------------------------------------------------------------

/** The part of node-ipc's singleton used here (the package has no typings). */
interface NodeIpc {
  config: { id: string; silent: boolean; retry: number };
  serve(path: string, callback: () => void): void;
  server: { on(event: string, handler: (data: string, socket: Socket) => void): void; emit(socket: Socket, event: string, data: unknown): void; start(): void };
  connectTo(id: string, path: string, callback: () => void): void;
  of: Record<string, { on(event: string, handler: (data: string) => void): void; emit(event: string, data: unknown): void; socket: Socket }>;
}

const NODE_IPC = "node-ipc"; // a variable: the package has no typings for TypeScript to resolve

async function loadNodeIpc(): Promise<NodeIpc> {
  const ipc = ((await import(NODE_IPC)) as { default: NodeIpc }).default;
  ipc.config.silent = true;
  ipc.config.retry = 50;
  return ipc;
}

async function nodeIpcPeer(text: string): Promise<void> {
  exitWithParent();
  const arg = parse(text);
  const ipc = await loadNodeIpc();
  ipc.config.id = "bench";
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  ipc.serve(join(arg.dir, "n.sock"), () => {
    started();
    let count = 0;
    ipc.server.on("m", (data, socket) => {
      if (arg.kind === "rtt") ipc.server.emit(socket, "m", data);
      else count++;
    });
    ipc.server.on("end", (_data, socket) => {
      ipc.server.emit(socket, "count", count);
      count = 0;
    });
  });
  ipc.server.start();
  await ready;
  process.stdout.write("ready\n");
}

async function nodeIpcMeasure(context: CaseContext): Promise<Metrics> {
  const arg = parse(context.arg);
  const ipc = await loadNodeIpc();
  ipc.config.id = "client";
  await new Promise<void>((resolve) => ipc.connectTo("bench", join(arg.dir, "n.sock"), () => ipc.of.bench!.on("connect", () => resolve())));
  const server = ipc.of.bench!;
  const data = "a".repeat(arg.size);
  try {
    if (arg.kind === "rtt") {
      let sampler: Sampler | undefined;
      return await new Promise((resolve) => {
        server.on("m", () => {
          if (sampler === undefined) sampler = new Sampler(context.budget);
          else if (!sampler.end()) return resolve(sampler.result());
          sampler.begin();
          server.emit("m", data);
        });
        server.emit("m", data);
      });
    }
    const batch = arg.size >= SMALL_MESSAGE ? 1 : 64;
    const phase = async (ms: number): Promise<number> => {
      const counted = new Promise<number>((resolve) => server.on("count", (n) => resolve(Number(n))));
      let sent = 0;
      const end = now() + ms * 1e6;
      do {
        for (let i = 0; i < batch; i++) server.emit("m", data);
        sent += batch;
        // node-ipc has no backpressure of its own: wait for the socket, or memory grows without bound.
        if (server.socket.writableNeedDrain) await once(server.socket, "drain");
      } while (now() < end);
      server.emit("end", null);
      const received = await counted;
      if (received !== sent) throw new Error(`sent ${sent} messages, node-ipc's server counted ${received}`);
      return sent;
    };
    await phase(context.budget.warmupMs);
    const start = now();
    const sent = await phase(context.budget.measureMs);
    return rates(sent, arg.size, now() - start);
  } finally {
    server.socket.destroy();
  }
}

// --- the cases --------------------------------------------------------------------------------------------

/** Measured at the sizes `ipc bench` has always compared them at. */
const SIZES = [64, 64 * 1024];

const LIBRARIES = [
  { name: "zeromq", label: "zeromq.js PAIR, ipc://", needs: ["zeromq"], peer: zeromqPeer, run: zeromqMeasure },
  { name: "node-ipc", label: "node-ipc 12", needs: ["node-ipc"], peer: nodeIpcPeer, run: nodeIpcMeasure },
];

function cases(sizes: readonly number[]): BenchCase[] {
  return LIBRARIES.flatMap((library) =>
    SIZES.filter((s) => sizes.includes(s)).flatMap((size) =>
      (["rtt", "stream"] as const).map((kind) => ({
        id: `${library.name}-${kind}-${sizeId(size)}`,
        label: library.label,
        run: library.run,
        peer: library.peer,
        peerArg: argOf(size, kind),
        needs: library.needs,
      })),
    ),
  );
}

function groups(sizes: readonly number[]): Group[] {
  return SIZES.filter((s) => sizes.includes(s)).flatMap((size) =>
    (["rtt", "stream"] as const).map((kind) => ({
      title: groupTitle("unix", kind, size),
      metrics: kind === "rtt" ? ["p50 µs", "p99 µs"] : size < SMALL_MESSAGE ? ["msgs/s"] : ["bytes/s"],
      rows: LIBRARIES.map((library) => ({ case: `${library.name}-${kind}-${sizeId(size)}`, role: "other" as const })),
      profiles: ["quick"],
    })),
  );
}

export const module: CaseModule = { cases: (params) => cases(params.sizes), groups: (params) => groups(params.sizes) };
