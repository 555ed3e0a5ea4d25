/**
 * @ipc/rpc over a Unix socket between two processes: the seed's calculator (`Add`) as a unary round trip
 * and as pipelined calls on one connection, and server-streaming throughput — against the raw framed()
 * round trip and one-way stream of the same run, and against the same calculator over vscode-jsonrpc and
 * @grpc/grpc-js (both over a Unix socket too). The round trip and the pipelined calls also run over
 * @ipc/unix (what users listen and connect with: peer credentials, a handshake), next to framed() over
 * node:net (the bare socket), in the same groups.
 *
 * "≥ 2× / 3× the better of vscode-jsonrpc and grpc-js" is checked as two groups each, one against each of
 * them as the baseline: beating the better one by 2× is beating both by 2×.
 */
import { once } from "node:events";
import { join } from "node:path";
import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { framed } from "@ipc/framing";
import { createClient, loadService, protobuf, serve, type ServerStream, type Unary } from "@ipc/rpc";
import * as unix from "@ipc/unix";
import * as jsonrpc from "vscode-jsonrpc/node";
import type { BenchCase, CaseModule, PeerHandle } from "../lib/case.js";
import { latency, now } from "../lib/stats.js";

const CALCULATOR_PROTO = `
syntax = "proto3";
package calc;
service Calculator {
  rpc Add (AddRequest) returns (Result);
  rpc Count (CountRequest) returns (stream Chunk);
}
message AddRequest { int32 a = 1; int32 b = 2; }
message Result { int32 value = 1; }
message CountRequest { uint32 count = 1; uint32 size = 2; }
message Chunk { bytes data = 1; }
`;

interface AddRequest {
  a: number;
  b: number;
}
interface Result {
  value: number;
}
interface CountRequest {
  count: number;
  size: number;
}
interface Chunk {
  data: Uint8Array;
}

const Calculator = loadService<{
  readonly add: Unary<AddRequest, Result>;
  readonly count: ServerStream<CountRequest, Chunk, CountRequest, Partial<Chunk>>;
}>(protobuf.parse(CALCULATOR_PROTO).root, "calc.Calculator");

const WARMUP = 2_000;
const ROUND_TRIPS = 20_000;
const PIPELINED_CALLS = 300_000;
const PIPELINED_REFERENCE_CALLS = 40_000;
const IN_FLIGHT = 256;
const SMALL = 64;

interface PeerArg {
  readonly path: string;
  readonly count: number;
  readonly size: number;
}

const arg = (peer: PeerHandle | undefined): PeerArg => JSON.parse(peer!.arg) as PeerArg;

async function listenOn(path: string, onSocket: (socket: net.Socket) => void): Promise<void> {
  const server = net.createServer({ allowHalfOpen: true }, onSocket);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  process.stdout.write("ready\n");
}

async function dial(path: string): Promise<net.Socket> {
  const socket = net.connect({ path, allowHalfOpen: true });
  await once(socket, "connect");
  return socket;
}

/** Runs `total` calls with `window` of them in flight at any time; returns calls per second. */
async function pipelined(call: (i: number) => Promise<unknown>, total: number, window: number): Promise<number> {
  let started = 0;
  let finished = 0;
  const begin = now();
  await new Promise<void>((resolve, reject) => {
    const next = (): void => {
      if (finished === total) return resolve();
      if (started === total) return;
      const i = started++;
      call(i).then(() => {
        finished++;
        next();
      }, reject);
    };
    for (let i = 0; i < window; i++) next();
  });
  return total / ((now() - begin) / 1e9);
}

/** p50 and p99 of `ROUND_TRIPS` sequential calls, after a warm-up. */
async function roundTrips(call: (i: number) => Promise<unknown>): Promise<Record<string, number>> {
  const samples = new Float64Array(ROUND_TRIPS);
  for (let i = 0; i < WARMUP + ROUND_TRIPS; i++) {
    const start = now();
    await call(i);
    if (i >= WARMUP) samples[i - WARMUP] = now() - start;
  }
  const { p50, p99 } = latency(samples);
  return { "p50 µs": p50, "p99 µs": p99 };
}

// --- @ipc/rpc ---------------------------------------------------------------------------------------

const implementation = {
  add: ({ a, b }: AddRequest): Result => ({ value: a + b }),
  count: async function* ({ count, size }: CountRequest): AsyncGenerator<Partial<Chunk>> {
    const data = new Uint8Array(size).fill(0x42);
    for (let i = 0; i < count; i++) yield { data };
  },
};

async function ipcPeer(raw: string): Promise<void> {
  await listenOn((JSON.parse(raw) as PeerArg).path, (socket) => {
    serve(framed(socket), Calculator, implementation);
  });
}

async function ipcClient(peer: PeerHandle | undefined) {
  return createClient(Calculator, framed(await dial(arg(peer).path)));
}

async function ipcRoundTrips(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const client = await ipcClient(peer);
  const result = await roundTrips((i) => client.add({ a: i, b: 1 }));
  client.abort();
  return result;
}

async function ipcPipelined(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const client = await ipcClient(peer);
  await pipelined((i) => client.add({ a: i, b: 1 }), 20_000, IN_FLIGHT);
  const rate = await pipelined((i) => client.add({ a: i, b: 1 }), PIPELINED_CALLS, IN_FLIGHT);
  client.abort();
  return { "calls/s": rate };
}

async function ipcStream(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const { count, size } = arg(peer);
  const client = await ipcClient(peer);
  let received = 0;
  const begin = now();
  for await (const chunk of client.count({ count, size })) received += chunk.data.byteLength;
  const seconds = (now() - begin) / 1e9;
  client.abort();
  if (received !== count * size) throw new Error(`received ${received} bytes, expected ${count * size}`);
  return { "msgs/s": count / seconds, "bytes/s": received / seconds };
}

// --- @ipc/rpc over @ipc/unix ------------------------------------------------------------------------

async function unixPeer(raw: string): Promise<void> {
  const listener = await unix.listen(`unix://${(JSON.parse(raw) as PeerArg).path}`);
  serve(listener, Calculator, implementation);
  process.stdout.write("ready\n");
}

async function unixClient(peer: PeerHandle | undefined) {
  return createClient(Calculator, await unix.connect(`unix://${arg(peer).path}`, { timeout: 10_000 }));
}

async function unixRoundTrips(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const client = await unixClient(peer);
  const result = await roundTrips((i) => client.add({ a: i, b: 1 }));
  client.abort();
  return result;
}

async function unixPipelined(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const client = await unixClient(peer);
  await pipelined((i) => client.add({ a: i, b: 1 }), 20_000, IN_FLIGHT);
  const rate = await pipelined((i) => client.add({ a: i, b: 1 }), PIPELINED_CALLS, IN_FLIGHT);
  client.abort();
  return { "calls/s": rate };
}

// --- raw framed() baselines -------------------------------------------------------------------------

async function framedEchoPeer(raw: string): Promise<void> {
  await listenOn((JSON.parse(raw) as PeerArg).path, (socket) => {
    const connection = framed(socket);
    void (async () => {
      for await (const message of connection) await connection.send(message);
    })().catch(() => undefined);
  });
}

async function framedRoundTrips(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const connection = framed(await dial(arg(peer).path));
  const message = new Uint8Array(SMALL).fill(1);
  const result = await roundTrips(async () => {
    await connection.send(message);
    await connection.receive();
  });
  connection.abort();
  return result;
}

async function framedPipelined(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const connection = framed(await dial(arg(peer).path));
  const message = new Uint8Array(SMALL).fill(1);
  // Replies come back in order: one reader resolves the oldest waiting "call".
  const waiting: (() => void)[] = [];
  let head = 0;
  void (async () => {
    for await (const _reply of connection) waiting[head++]!();
  })().catch(() => undefined);
  const call = (): Promise<void> =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      void connection.send(message);
    });
  await pipelined(call, 20_000, IN_FLIGHT);
  const rate = await pipelined(call, PIPELINED_CALLS, IN_FLIGHT);
  connection.abort();
  return { "calls/s": rate };
}

async function framedSinkPeer(raw: string): Promise<void> {
  const { path, count, size } = JSON.parse(raw) as PeerArg;
  // The server side of a one-way stream: it sends `count` messages of `size` bytes when asked.
  await listenOn(path, (socket) => {
    const connection = framed(socket);
    void (async () => {
      await connection.receive();
      const message = new Uint8Array(size).fill(0x42);
      for (let i = 0; i < count; i++) await connection.send(message);
    })().catch(() => undefined);
  });
}

async function framedStream(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const { path, count, size } = arg(peer);
  const connection = framed(await dial(path));
  let received = 0;
  let n = 0;
  const begin = now();
  await connection.send(new Uint8Array(1));
  for await (const message of connection) {
    received += message.byteLength;
    if (++n === count) break;
  }
  const seconds = (now() - begin) / 1e9;
  connection.abort();
  return { "msgs/s": count / seconds, "bytes/s": received / seconds };
}

// --- vscode-jsonrpc ---------------------------------------------------------------------------------

const add = new jsonrpc.RequestType<AddRequest, Result, void>("add");

async function jsonrpcPeer(raw: string): Promise<void> {
  await listenOn((JSON.parse(raw) as PeerArg).path, (socket) => {
    const connection = jsonrpc.createMessageConnection(new jsonrpc.SocketMessageReader(socket), new jsonrpc.SocketMessageWriter(socket));
    connection.onRequest(add, ({ a, b }) => ({ value: a + b }));
    connection.listen();
    socket.on("error", () => undefined);
  });
}

async function jsonrpcClient(peer: PeerHandle | undefined): Promise<jsonrpc.MessageConnection> {
  const socket = await dial(arg(peer).path);
  const connection = jsonrpc.createMessageConnection(new jsonrpc.SocketMessageReader(socket), new jsonrpc.SocketMessageWriter(socket));
  connection.listen();
  return connection;
}

async function jsonrpcRoundTrips(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const connection = await jsonrpcClient(peer);
  const result = await roundTrips((i) => connection.sendRequest(add, { a: i, b: 1 }));
  connection.dispose();
  return result;
}

async function jsonrpcPipelined(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const connection = await jsonrpcClient(peer);
  await pipelined((i) => connection.sendRequest(add, { a: i, b: 1 }), 5_000, IN_FLIGHT);
  const rate = await pipelined((i) => connection.sendRequest(add, { a: i, b: 1 }), PIPELINED_REFERENCE_CALLS, IN_FLIGHT);
  connection.dispose();
  return { "calls/s": rate };
}

// --- @grpc/grpc-js ----------------------------------------------------------------------------------

interface GrpcCalculator extends grpc.Client {
  add(request: AddRequest, callback: (error: grpc.ServiceError | null, reply?: Result) => void): grpc.ClientUnaryCall;
  count(request: CountRequest): grpc.ClientReadableStream<Chunk>;
}

function grpcDefinition(): grpc.GrpcObject {
  const json = protobuf.parse(CALCULATOR_PROTO).root.toJSON() as Parameters<typeof protoLoader.fromJSON>[0];
  return grpc.loadPackageDefinition(protoLoader.fromJSON(json, {}));
}

async function grpcPeer(raw: string): Promise<void> {
  const { path } = JSON.parse(raw) as PeerArg;
  const calc = grpcDefinition().calc as grpc.GrpcObject;
  const server = new grpc.Server();
  server.addService((calc.Calculator as grpc.ServiceClientConstructor).service, {
    add: (call: grpc.ServerUnaryCall<AddRequest, Result>, callback: grpc.sendUnaryData<Result>) =>
      callback(null, { value: call.request.a + call.request.b }),
    count: (call: grpc.ServerWritableStream<CountRequest, Chunk>) => {
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
    server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  process.stdout.write("ready\n");
}

function grpcClient(peer: PeerHandle | undefined): GrpcCalculator {
  const calc = grpcDefinition().calc as grpc.GrpcObject;
  const Client = calc.Calculator as unknown as new (address: string, credentials: grpc.ChannelCredentials) => GrpcCalculator;
  return new Client(`unix://${arg(peer).path}`, grpc.credentials.createInsecure());
}

const grpcAdd = (client: GrpcCalculator, request: AddRequest): Promise<Result> =>
  new Promise((resolve, reject) => client.add(request, (error, reply) => (error ? reject(error) : resolve(reply!))));

async function grpcRoundTrips(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const client = grpcClient(peer);
  const result = await roundTrips((i) => grpcAdd(client, { a: i, b: 1 }));
  client.close();
  return result;
}

async function grpcPipelined(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const client = grpcClient(peer);
  await pipelined((i) => grpcAdd(client, { a: i, b: 1 }), 5_000, IN_FLIGHT);
  const rate = await pipelined((i) => grpcAdd(client, { a: i, b: 1 }), PIPELINED_REFERENCE_CALLS, IN_FLIGHT);
  client.close();
  return { "calls/s": rate };
}

async function grpcStream(peer: PeerHandle | undefined): Promise<Record<string, number>> {
  const { count, size } = arg(peer);
  const client = grpcClient(peer);
  let received = 0;
  const begin = now();
  for await (const chunk of client.count({ count, size }) as AsyncIterable<Chunk>) received += chunk.data.byteLength;
  const seconds = (now() - begin) / 1e9;
  client.close();
  return { "msgs/s": count / seconds, "bytes/s": received / seconds };
}

// --- the table --------------------------------------------------------------------------------------

const stream = (count: number, size: number) => (dir: string): string => JSON.stringify({ path: join(dir, "s.sock"), count, size });

const RTT = "RPC unary round trip (Add), Unix socket";
const RTT_JSONRPC = "RPC round trip: @ipc/rpc vs vscode-jsonrpc";
const RTT_GRPC = "RPC round trip: @ipc/rpc vs @grpc/grpc-js";
const RATE = "RPC pipelined unary calls (Add), one connection";
const RATE_JSONRPC = "RPC pipelined calls: @ipc/rpc vs vscode-jsonrpc";
const RATE_GRPC = "RPC pipelined calls: @ipc/rpc vs @grpc/grpc-js";
const STREAM_BIG = "RPC server stream, 64 KiB messages";
const STREAM_SMALL = "RPC server stream, 64 B messages";

const ours = "@ipc/rpc";
const oursUnix = "@ipc/rpc over @ipc/unix";
const cases: BenchCase[] = [
  { id: "rpc-rtt-ours", group: RTT, role: "ours", label: `${ours} over framed()`, run: ipcRoundTrips, peer: ipcPeer },
  { id: "rpc-rtt-unix-ours", group: RTT, role: "ours", label: oursUnix, run: unixRoundTrips, peer: unixPeer },
  { id: "rpc-rtt-framed", group: RTT, role: "baseline", label: "framed() echo, 64 B", run: framedRoundTrips, peer: framedEchoPeer },
  { id: "rpc-rtt-vs-jsonrpc-ours", group: RTT_JSONRPC, role: "ours", label: ours, run: ipcRoundTrips, peer: ipcPeer },
  { id: "rpc-rtt-jsonrpc", group: RTT_JSONRPC, role: "baseline", label: "vscode-jsonrpc", run: jsonrpcRoundTrips, peer: jsonrpcPeer },
  { id: "rpc-rtt-vs-grpc-ours", group: RTT_GRPC, role: "ours", label: ours, run: ipcRoundTrips, peer: ipcPeer },
  { id: "rpc-rtt-grpc", group: RTT_GRPC, role: "baseline", label: "@grpc/grpc-js", run: grpcRoundTrips, peer: grpcPeer },
  { id: "rpc-rate-ours", group: RATE, role: "ours", label: `${ours} over framed(), ${IN_FLIGHT} in flight`, run: ipcPipelined, peer: ipcPeer },
  { id: "rpc-rate-unix-ours", group: RATE, role: "ours", label: `${oursUnix}, ${IN_FLIGHT} in flight`, run: unixPipelined, peer: unixPeer },
  { id: "rpc-rate-framed", group: RATE, role: "baseline", label: `framed() echo, 64 B, ${IN_FLIGHT} in flight`, run: framedPipelined, peer: framedEchoPeer },
  { id: "rpc-rate-vs-jsonrpc-ours", group: RATE_JSONRPC, role: "ours", label: ours, run: ipcPipelined, peer: ipcPeer },
  { id: "rpc-rate-jsonrpc", group: RATE_JSONRPC, role: "baseline", label: "vscode-jsonrpc", run: jsonrpcPipelined, peer: jsonrpcPeer },
  { id: "rpc-rate-vs-grpc-ours", group: RATE_GRPC, role: "ours", label: ours, run: ipcPipelined, peer: ipcPeer },
  { id: "rpc-rate-grpc", group: RATE_GRPC, role: "baseline", label: "@grpc/grpc-js", run: grpcPipelined, peer: grpcPeer },
  { id: "rpc-stream-big-ours", group: STREAM_BIG, role: "ours", label: ours, run: ipcStream, peer: ipcPeer, peerArg: stream(16_384, 64 * 1024) },
  { id: "rpc-stream-big-framed", group: STREAM_BIG, role: "baseline", label: "framed() one-way", run: framedStream, peer: framedSinkPeer, peerArg: stream(16_384, 64 * 1024) },
  { id: "rpc-stream-big-grpc", group: STREAM_BIG, role: "reference", label: "@grpc/grpc-js", run: grpcStream, peer: grpcPeer, peerArg: stream(4_096, 64 * 1024) },
  { id: "rpc-stream-small-ours", group: STREAM_SMALL, role: "ours", label: ours, run: ipcStream, peer: ipcPeer, peerArg: stream(1_000_000, SMALL) },
  { id: "rpc-stream-small-framed", group: STREAM_SMALL, role: "baseline", label: "framed() one-way", run: framedStream, peer: framedSinkPeer, peerArg: stream(1_000_000, SMALL) },
  { id: "rpc-stream-small-grpc", group: STREAM_SMALL, role: "reference", label: "@grpc/grpc-js", run: grpcStream, peer: grpcPeer, peerArg: stream(100_000, SMALL) },
];

export const rpcCases: CaseModule = {
  cases,
  groupMetrics: {
    [RTT]: ["p50 µs", "p99 µs"],
    [RTT_JSONRPC]: ["p50 µs"],
    [RTT_GRPC]: ["p50 µs"],
    [RATE]: ["calls/s"],
    [RATE_JSONRPC]: ["calls/s"],
    [RATE_GRPC]: ["calls/s"],
    [STREAM_BIG]: ["bytes/s"],
    [STREAM_SMALL]: ["msgs/s"],
  },
  targets: [
    { group: RTT, metric: "p50 µs", ratio: 1.3, text: "≤ 1.3× framed()" },
    { group: RTT_JSONRPC, metric: "p50 µs", ratio: 0.5, text: "≥ 2× faster" },
    { group: RTT_GRPC, metric: "p50 µs", ratio: 0.5, text: "≥ 2× faster" },
    { group: RATE, metric: "calls/s", absolute: 250_000, text: "≥ 250 k calls/s" },
    { group: RATE_JSONRPC, metric: "calls/s", ratio: 3, text: "≥ 3×" },
    { group: RATE_GRPC, metric: "calls/s", ratio: 3, text: "≥ 3×" },
  ],
  metrics: {
    "msgs/s": { name: "msgs/s", unit: "M msgs/s", higherIsBetter: true, scale: 1e6 },
  },
};
