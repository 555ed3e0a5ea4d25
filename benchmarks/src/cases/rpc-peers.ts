/**
 * The same calculator over other RPC libraries, over a Unix socket too: vscode-jsonrpc (what every LSP server
 * runs on) and @grpc/grpc-js (HTTP/2). They are this package's dev dependencies, loaded only inside these
 * cases (`--vs peers`); a run without them skips these rows and says which package to install.
 *
 * "≥ 2× / 3× the better of vscode-jsonrpc and grpc-js" is checked as two groups each, one against each of them
 * as the baseline: beating the better one by 2× is beating both by 2×.
 */
import { once } from "node:events";
import net from "node:net";
import { join } from "node:path";
import type { CaseContext, CaseModule, Group, Metrics } from "../lib/case.js";
import { callsInFlight, timedCalls } from "../lib/loops.js";
import { exitWithParent } from "../lib/processes.js";
import { now } from "../lib/stats.js";
import { CALCULATOR_PROTO, IN_FLIGHT, RPC_RATE, RPC_RTT, type AddRequest, type Chunk, type CountRequest, type Result } from "./rpc-shared.js";

type Grpc = typeof import("@grpc/grpc-js");
type JsonRpc = typeof import("vscode-jsonrpc/node");

interface Arg {
  readonly dir: string;
  readonly size?: number;
}
const parse = (text: string): Arg => JSON.parse(text) as Arg;
const path = (text: string): string => join(parse(text).dir, "s.sock");

// --- vscode-jsonrpc ---------------------------------------------------------------------------------------

async function jsonrpcConnection(rpc: JsonRpc, socket: net.Socket) {
  return rpc.createMessageConnection(new rpc.SocketMessageReader(socket), new rpc.SocketMessageWriter(socket));
}

async function jsonrpcPeer(text: string): Promise<void> {
  exitWithParent();
  const rpc = await import("vscode-jsonrpc/node");
  const add = new rpc.RequestType<AddRequest, Result, void>("add");
  const server = net.createServer((socket) => {
    socket.on("error", () => undefined);
    void jsonrpcConnection(rpc, socket).then((connection) => {
      connection.onRequest(add, ({ a, b }) => ({ value: a + b }));
      connection.listen();
    });
  });
  server.listen(path(text));
  await once(server, "listening");
  process.stdout.write("ready\n");
}

async function jsonrpcCalls(context: CaseContext, measure: (call: () => Promise<unknown>) => Promise<Metrics>): Promise<Metrics> {
  const rpc = await import("vscode-jsonrpc/node");
  const add = new rpc.RequestType<AddRequest, Result, void>("add");
  const socket = net.connect(path(context.arg));
  await once(socket, "connect");
  const connection = await jsonrpcConnection(rpc, socket);
  connection.listen();
  let i = 0;
  try {
    return await measure(() => connection.sendRequest(add, { a: i++, b: 1 }));
  } finally {
    connection.dispose();
    socket.destroy();
  }
}

// --- @grpc/grpc-js ----------------------------------------------------------------------------------------

interface GrpcCalculator {
  add(request: AddRequest, callback: (error: Error | null, reply?: Result) => void): void;
  count(request: CountRequest): AsyncIterable<Chunk>;
  close(): void;
}

async function grpcDefinition(): Promise<{ grpc: Grpc; calc: Record<string, unknown> }> {
  const grpc = await import("@grpc/grpc-js");
  const loader = await import("@grpc/proto-loader");
  const { protobuf } = await import("@ipc/rpc");
  const json = protobuf.parse(CALCULATOR_PROTO).root.toJSON() as Parameters<typeof loader.fromJSON>[0];
  const definition = grpc.loadPackageDefinition(loader.fromJSON(json, {}));
  return { grpc, calc: definition.calc as Record<string, unknown> };
}

async function grpcPeer(text: string): Promise<void> {
  exitWithParent();
  const { grpc, calc } = await grpcDefinition();
  const server = new grpc.Server();
  const Calculator = calc.Calculator as { service: Parameters<typeof server.addService>[0] };
  server.addService(Calculator.service, {
    add: (call: { request: AddRequest }, callback: (error: null, reply: Result) => void) => callback(null, { value: call.request.a + call.request.b }),
    count: (call: { request: CountRequest; write(chunk: Chunk): boolean; once(event: "drain", f: () => void): void; end(): void }) => {
      const data = Buffer.alloc(call.request.size, 0x42);
      let i = 0;
      const write = (): void => {
        while (i < call.request.count) {
          i++;
          if (!call.write({ data })) return void call.once("drain", write);
        }
        call.end();
      };
      write();
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${path(text)}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  process.stdout.write("ready\n");
}

async function grpcClient(context: CaseContext): Promise<GrpcCalculator> {
  const { grpc, calc } = await grpcDefinition();
  const Client = calc.Calculator as new (address: string, credentials: ReturnType<Grpc["credentials"]["createInsecure"]>) => GrpcCalculator;
  return new Client(`unix://${path(context.arg)}`, grpc.credentials.createInsecure());
}

async function grpcCalls(context: CaseContext, measure: (call: () => Promise<unknown>) => Promise<Metrics>): Promise<Metrics> {
  const client = await grpcClient(context);
  let i = 0;
  const add = (): Promise<Result> =>
    new Promise((resolve, reject) => client.add({ a: i++, b: 1 }, (error, reply) => (error ? reject(error) : resolve(reply!))));
  try {
    return await measure(add);
  } finally {
    client.close();
  }
}

/** A gRPC server stream: about a second's worth at its speed here, scaled to the budget. */
async function grpcStream(context: CaseContext): Promise<Metrics> {
  const size = parse(context.arg).size!;
  const client = await grpcClient(context);
  const count = Math.max(500, Math.round(((size >= 4096 ? 3_000 : 100_000) * context.budget.measureMs) / 1000));
  const take = async (n: number): Promise<number> => {
    let received = 0;
    for await (const chunk of client.count({ count: n, size })) received += chunk.data.byteLength;
    return received;
  };
  await take(Math.ceil(count / 4));
  const begin = now();
  const received = await take(count);
  const seconds = (now() - begin) / 1e9;
  client.close();
  return { "msgs/s": count / seconds, "bytes/s": received / seconds };
}

// --- the cases -------------------------------------------------------------------------------------------

const JSONRPC = ["vscode-jsonrpc"];
const GRPC = ["@grpc/grpc-js", "@grpc/proto-loader"];
const streamArg =
  (size: number) =>
  (dir: string): string =>
    JSON.stringify({ dir, size } satisfies Arg);

const cases = [
  {
    id: "rpc-rtt-jsonrpc",
    label: "vscode-jsonrpc",
    run: (c: CaseContext) => jsonrpcCalls(c, (call) => timedCalls(c.budget, call)),
    peer: jsonrpcPeer,
    needs: JSONRPC,
  },
  {
    id: "rpc-rate-jsonrpc",
    label: `vscode-jsonrpc, ${IN_FLIGHT} in flight`,
    run: (c: CaseContext) => jsonrpcCalls(c, (call) => callsInFlight(c.budget, IN_FLIGHT, call)),
    peer: jsonrpcPeer,
    needs: JSONRPC,
  },
  { id: "rpc-rtt-grpc", label: "@grpc/grpc-js", run: (c: CaseContext) => grpcCalls(c, (call) => timedCalls(c.budget, call)), peer: grpcPeer, needs: GRPC },
  {
    id: "rpc-rate-grpc",
    label: `@grpc/grpc-js, ${IN_FLIGHT} in flight`,
    run: (c: CaseContext) => grpcCalls(c, (call) => callsInFlight(c.budget, IN_FLIGHT, call)),
    peer: grpcPeer,
    needs: GRPC,
  },
  { id: "rpc-stream-64KiB-grpc", label: "@grpc/grpc-js", run: grpcStream, peer: grpcPeer, peerArg: streamArg(64 * 1024), needs: GRPC },
  { id: "rpc-stream-64B-grpc", label: "@grpc/grpc-js", run: grpcStream, peer: grpcPeer, peerArg: streamArg(64), needs: GRPC },
];

const groups: Group[] = [
  // The other libraries beside ours in the main RPC groups (and in ipc bench --vs peers).
  {
    title: RPC_RTT,
    metrics: ["p50 µs", "p99 µs"],
    rows: [
      { case: "rpc-rtt-jsonrpc", role: "other" },
      { case: "rpc-rtt-grpc", role: "other" },
    ],
    profiles: ["quick"],
  },
  {
    title: RPC_RATE,
    metrics: ["calls/s"],
    rows: [
      { case: "rpc-rate-jsonrpc", role: "other" },
      { case: "rpc-rate-grpc", role: "other" },
    ],
    profiles: ["quick"],
  },
  {
    title: "RPC round trip: @ipc/rpc vs vscode-jsonrpc",
    metrics: ["p50 µs"],
    rows: [
      { case: "rpc-rtt-framed-ours", role: "ours", label: "@ipc/rpc" },
      { case: "rpc-rtt-jsonrpc", role: "baseline" },
    ],
    targets: [{ metric: "p50 µs", ratio: 0.5, text: "≥ 2× faster" }],
    transport: "rpc",
  },
  {
    title: "RPC round trip: @ipc/rpc vs @grpc/grpc-js",
    metrics: ["p50 µs"],
    rows: [
      { case: "rpc-rtt-framed-ours", role: "ours", label: "@ipc/rpc" },
      { case: "rpc-rtt-grpc", role: "baseline" },
    ],
    targets: [{ metric: "p50 µs", ratio: 0.5, text: "≥ 2× faster" }],
    transport: "rpc",
  },
  {
    title: "RPC pipelined calls: @ipc/rpc vs vscode-jsonrpc",
    metrics: ["calls/s"],
    rows: [
      { case: "rpc-rate-framed-ours", role: "ours", label: "@ipc/rpc" },
      { case: "rpc-rate-jsonrpc", role: "baseline" },
    ],
    targets: [{ metric: "calls/s", ratio: 3, text: "≥ 3×" }],
    transport: "rpc",
  },
  {
    title: "RPC pipelined calls: @ipc/rpc vs @grpc/grpc-js",
    metrics: ["calls/s"],
    rows: [
      { case: "rpc-rate-framed-ours", role: "ours", label: "@ipc/rpc" },
      { case: "rpc-rate-grpc", role: "baseline" },
    ],
    targets: [{ metric: "calls/s", ratio: 3, text: "≥ 3×" }],
    transport: "rpc",
  },
  { title: "RPC server stream, 64 KiB messages", metrics: ["bytes/s"], rows: [{ case: "rpc-stream-64KiB-grpc", role: "other" }] },
  { title: "RPC server stream, 64 B messages", metrics: ["msgs/s"], rows: [{ case: "rpc-stream-64B-grpc", role: "other" }] },
];

export const module: CaseModule = { cases: () => cases, groups: () => groups };
