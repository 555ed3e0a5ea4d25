/**
 * @ipc/rpc over a Unix socket between two processes: the calculator's `Add` as a unary round trip and as
 * pipelined calls on one connection (over framed() on a bare node:net socket, and over @ipc/unix, what users
 * listen and connect with), and server-streaming throughput — against the raw framed() round trip and one-way
 * stream of the same run. The other RPC libraries are in cases/rpc-peers.ts; the groups comparing with them
 * are made here, because their "ours" side is these cases.
 */
import { once } from "node:events";
import net from "node:net";
import { join } from "node:path";
import { framed } from "@ipc/framing";
import { createClient, loadService, protobuf, serve, type Client as Client_, type ClientStream, type ServerStream, type Unary } from "@ipc/rpc";
import * as unix from "@ipc/unix";
import type { Budget, CaseContext, CaseModule, Group, Metrics } from "../lib/case.js";
import { callsInFlight, timedCalls } from "../lib/loops.js";
import { exitWithParent } from "../lib/processes.js";
import { now } from "../lib/stats.js";
import { CALCULATOR_PROTO, IN_FLIGHT, RPC_RATE, RPC_RTT, type AddRequest, type Chunk, type CountRequest, type Result } from "./rpc-shared.js";

// A type literal, not an interface: the service's methods need an index signature.
type CalculatorMethods = {
  readonly add: Unary<AddRequest, Result>;
  readonly count: ServerStream<CountRequest, Chunk, CountRequest, Partial<Chunk>>;
};
const Calculator = loadService<CalculatorMethods>(protobuf.parse(CALCULATOR_PROTO).root, "calc.Calculator");

/** A client stream, served apart so the calculator other libraries share stays as it is. */
const UPLOADER_PROTO = `${CALCULATOR_PROTO}
service Uploader {
  rpc Upload (stream Chunk) returns (Result);
}
`;
type UploaderMethods = {
  readonly upload: ClientStream<Chunk, Result, Partial<Chunk>, Result>;
};
const Uploader = loadService<UploaderMethods>(protobuf.parse(UPLOADER_PROTO).root, "calc.Uploader");

const SMALL = 64;

interface Arg {
  readonly dir: string;
  readonly size?: number;
}
const parse = (text: string): Arg => JSON.parse(text) as Arg;
const path = (context: CaseContext | string): string => join(parse(typeof context === "string" ? context : context.arg).dir, "s.sock");

async function listenOn(at: string, onSocket: (socket: net.Socket) => void): Promise<void> {
  exitWithParent();
  const server = net.createServer({ allowHalfOpen: true }, onSocket);
  server.listen(at);
  await once(server, "listening");
  process.stdout.write("ready\n");
}

async function dial(at: string): Promise<net.Socket> {
  const socket = net.connect({ path: at, allowHalfOpen: true });
  await once(socket, "connect");
  return socket;
}

// --- @ipc/rpc ---------------------------------------------------------------------------------------------

const implementation = {
  add: ({ a, b }: AddRequest): Result => ({ value: a + b }),
  count: async function* ({ count, size }: CountRequest): AsyncGenerator<Partial<Chunk>> {
    const data = new Uint8Array(size).fill(0x42);
    for (let i = 0; i < count; i++) yield { data };
  },
};

async function framedPeer(text: string): Promise<void> {
  await listenOn(path(text), (socket) => void serve(framed(socket), Calculator, implementation));
}

async function unixPeer(text: string): Promise<void> {
  exitWithParent();
  const listener = await unix.listen(`unix://${path(text)}`);
  serve(listener, Calculator, implementation);
  process.stdout.write("ready\n");
}

type Client = Client_<CalculatorMethods>;

async function client(over: "framed" | "unix", context: CaseContext): Promise<Client> {
  const connection = over === "framed" ? framed(await dial(path(context))) : await unix.connect(`unix://${path(context)}`, { timeout: 10_000 });
  return createClient(Calculator, connection);
}

const roundTrips =
  (over: "framed" | "unix") =>
  async (context: CaseContext): Promise<Metrics> => {
    const c = await client(over, context);
    let i = 0;
    const result = await timedCalls(context.budget, () => c.add({ a: i++, b: 1 }));
    c.abort();
    return result;
  };

const pipelined =
  (over: "framed" | "unix") =>
  async (context: CaseContext): Promise<Metrics> => {
    const c = await client(over, context);
    let i = 0;
    const result = await callsInFlight(context.budget, IN_FLIGHT, () => c.add({ a: i++, b: 1 }));
    c.abort();
    return result;
  };

/** Messages a server stream sends in the measured part: about a second's worth here, scaled to the budget. */
function streamCount(size: number, budget: Budget): number {
  const perSecond = size >= 4096 ? 12_000 : 600_000;
  return Math.max(1000, Math.round((perSecond * budget.measureMs) / 1000));
}

async function serverStream(context: CaseContext): Promise<Metrics> {
  const size = parse(context.arg).size!;
  const c = await client("framed", context);
  const take = async (count: number): Promise<number> => {
    let received = 0;
    for await (const chunk of c.count({ count, size })) received += chunk.data.byteLength;
    if (received !== count * size) throw new Error(`received ${received} bytes, expected ${count * size}`);
    return received;
  };
  await take(Math.ceil(streamCount(size, context.budget) / 4));
  const count = streamCount(size, context.budget);
  const begin = now();
  const received = await take(count);
  const seconds = (now() - begin) / 1e9;
  c.abort();
  return { "msgs/s": count / seconds, "bytes/s": received / seconds };
}

async function uploadPeer(text: string): Promise<void> {
  await listenOn(path(text), (socket) => {
    void serve(framed(socket), Uploader, {
      upload: async (chunks) => {
        let count = 0;
        for await (const _chunk of chunks) count++;
        return { value: count };
      },
    });
  });
}

/** `count` chunks of one `data`, yielded at once (a generator): what the client stream batches. */
function* chunksOf(data: Uint8Array, count: number): Generator<Partial<Chunk>> {
  for (let i = 0; i < count; i++) yield { data };
}

async function clientStream(context: CaseContext): Promise<Metrics> {
  const size = parse(context.arg).size!;
  const c = createClient(Uploader, framed(await dial(path(context))));
  const data = new Uint8Array(size).fill(0x42);
  const give = async (count: number): Promise<void> => {
    const { value } = await c.upload(chunksOf(data, count));
    if (value !== count) throw new Error(`the server counted ${value} messages, expected ${count}`);
  };
  await give(Math.ceil(streamCount(size, context.budget) / 4));
  const count = streamCount(size, context.budget);
  const begin = now();
  await give(count);
  const seconds = (now() - begin) / 1e9;
  c.abort();
  return { "msgs/s": count / seconds, "bytes/s": (count * size) / seconds };
}

// --- raw framed() baselines -------------------------------------------------------------------------------

async function framedEchoPeer(text: string): Promise<void> {
  await listenOn(path(text), (socket) => {
    const connection = framed(socket);
    void (async () => {
      for await (const message of connection) await connection.send(message);
    })().catch(() => undefined);
  });
}

async function framedRoundTrips(context: CaseContext): Promise<Metrics> {
  const connection = framed(await dial(path(context)));
  const message = new Uint8Array(SMALL).fill(1);
  const result = await timedCalls(context.budget, async () => {
    await connection.send(message);
    await connection.receive();
  });
  connection.abort();
  return result;
}

async function framedPipelined(context: CaseContext): Promise<Metrics> {
  const connection = framed(await dial(path(context)));
  const message = new Uint8Array(SMALL).fill(1);
  // Replies come back in order: one reader resolves the oldest waiting "call".
  const waiting: (() => void)[] = [];
  let head = 0;
  void (async () => {
    for await (const _reply of connection) {
      waiting[head]!();
      waiting[head++] = undefined!;
    }
  })().catch(() => undefined);
  const call = (): Promise<void> =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      void connection.send(message);
    });
  const result = await callsInFlight(context.budget, IN_FLIGHT, call);
  connection.abort();
  return result;
}

/** The server side of a one-way stream: on each request (a 4-byte count), sends that many messages. */
async function framedStreamPeer(text: string): Promise<void> {
  const size = parse(text).size!;
  await listenOn(path(text), (socket) => {
    const connection = framed(socket);
    const message = new Uint8Array(size).fill(0x42);
    void (async () => {
      for await (const request of connection) {
        const count = new DataView(request.buffer, request.byteOffset, 4).getUint32(0);
        for (let i = 0; i < count; i++) await connection.send(message);
      }
    })().catch(() => undefined);
  });
}

async function framedStream(context: CaseContext): Promise<Metrics> {
  const size = parse(context.arg).size!;
  const connection = framed(await dial(path(context)));
  const take = async (count: number): Promise<number> => {
    const request = new Uint8Array(4);
    new DataView(request.buffer).setUint32(0, count);
    await connection.send(request);
    let received = 0;
    for (let n = 0; n < count; n++) received += (await connection.receive())!.byteLength;
    return received;
  };
  await take(Math.ceil(streamCount(size, context.budget) / 4));
  const count = streamCount(size, context.budget);
  const begin = now();
  const received = await take(count);
  const seconds = (now() - begin) / 1e9;
  connection.abort();
  return { "msgs/s": count / seconds, "bytes/s": received / seconds };
}

/** The server side of a one-way upload: a 4-byte count, then that many messages, answered with one message. */
async function framedUploadPeer(text: string): Promise<void> {
  await listenOn(path(text), (socket) => {
    const connection = framed(socket);
    void (async () => {
      for (;;) {
        const request = await connection.receive();
        if (request === undefined) return;
        const count = new DataView(request.buffer, request.byteOffset, 4).getUint32(0);
        for (let i = 0; i < count; i++) await connection.receive();
        await connection.send(request);
      }
    })().catch(() => undefined);
  });
}

async function framedUpload(context: CaseContext): Promise<Metrics> {
  const size = parse(context.arg).size!;
  const connection = framed(await dial(path(context)));
  const message = new Uint8Array(size).fill(0x42);
  const give = async (count: number): Promise<void> => {
    const request = new Uint8Array(4);
    new DataView(request.buffer).setUint32(0, count);
    await connection.send(request);
    for (let n = 0; n < count; n++) await connection.send(message);
    await connection.receive();
  };
  await give(Math.ceil(streamCount(size, context.budget) / 4));
  const count = streamCount(size, context.budget);
  const begin = now();
  await give(count);
  const seconds = (now() - begin) / 1e9;
  connection.abort();
  return { "msgs/s": count / seconds, "bytes/s": (count * size) / seconds };
}

// --- the table ----------------------------------------------------------------------------------------------

const STREAM_BIG = "RPC server stream, 64 KiB messages";
const STREAM_SMALL = "RPC server stream, 64 B messages";

const streamArg =
  (size: number) =>
  (dir: string): string =>
    JSON.stringify({ dir, size } satisfies Arg);
const ours = "@ipc/rpc";

const cases = [
  { id: "rpc-rtt-framed-ours", label: `${ours} over framed()`, run: roundTrips("framed"), peer: framedPeer },
  { id: "rpc-rtt-unix-ours", label: `${ours} over @ipc/unix`, run: roundTrips("unix"), peer: unixPeer },
  { id: "rpc-rtt-framed-echo", label: "framed() echo, 64 B", run: framedRoundTrips, peer: framedEchoPeer },
  { id: "rpc-rate-framed-ours", label: `${ours} over framed(), ${IN_FLIGHT} in flight`, run: pipelined("framed"), peer: framedPeer },
  { id: "rpc-rate-unix-ours", label: `${ours} over @ipc/unix, ${IN_FLIGHT} in flight`, run: pipelined("unix"), peer: unixPeer },
  { id: "rpc-rate-framed-echo", label: `framed() echo, 64 B, ${IN_FLIGHT} in flight`, run: framedPipelined, peer: framedEchoPeer },
  { id: "rpc-stream-64KiB-ours", label: ours, run: serverStream, peer: framedPeer, peerArg: streamArg(64 * 1024) },
  { id: "rpc-stream-64KiB-framed", label: "framed() one-way", run: framedStream, peer: framedStreamPeer, peerArg: streamArg(64 * 1024) },
  { id: "rpc-stream-64B-ours", label: ours, run: serverStream, peer: framedPeer, peerArg: streamArg(SMALL) },
  { id: "rpc-stream-64B-framed", label: "framed() one-way", run: framedStream, peer: framedStreamPeer, peerArg: streamArg(SMALL) },
  { id: "rpc-upload-64B-ours", label: ours, run: clientStream, peer: uploadPeer, peerArg: streamArg(SMALL) },
  { id: "rpc-upload-64B-framed", label: "framed() one-way", run: framedUpload, peer: framedUploadPeer, peerArg: streamArg(SMALL) },
];

const groups: Group[] = [
  {
    title: RPC_RTT,
    metrics: ["p50 µs", "p99 µs"],
    rows: [
      { case: "rpc-rtt-framed-ours", role: "ours", profiles: [] },
      { case: "rpc-rtt-unix-ours", role: "ours" },
      { case: "rpc-rtt-framed-echo", role: "baseline" },
    ],
    targets: [{ metric: "p50 µs", ratio: 1.3, text: "≤ 1.3× framed()" }],
    transport: "rpc",
    profiles: ["quick"],
  },
  {
    title: RPC_RATE,
    metrics: ["calls/s"],
    rows: [
      { case: "rpc-rate-framed-ours", role: "ours", profiles: [] },
      { case: "rpc-rate-unix-ours", role: "ours" },
      { case: "rpc-rate-framed-echo", role: "baseline" },
    ],
    targets: [{ metric: "calls/s", absolute: 250_000, text: "≥ 250 k calls/s" }],
    transport: "rpc",
    profiles: ["quick"],
  },
  {
    title: STREAM_BIG,
    metrics: ["bytes/s"],
    rows: [
      { case: "rpc-stream-64KiB-ours", role: "ours" },
      { case: "rpc-stream-64KiB-framed", role: "baseline" },
    ],
    transport: "rpc",
  },
  {
    title: STREAM_SMALL,
    metrics: ["msgs/s"],
    rows: [
      { case: "rpc-stream-64B-ours", role: "ours" },
      { case: "rpc-stream-64B-framed", role: "baseline" },
    ],
    transport: "rpc",
  },
  {
    title: "RPC client stream, 64 B messages",
    metrics: ["msgs/s"],
    rows: [
      { case: "rpc-upload-64B-ours", role: "ours" },
      { case: "rpc-upload-64B-framed", role: "baseline" },
    ],
    transport: "rpc",
  },
];

export const module: CaseModule = { cases: () => cases, groups: () => groups };
