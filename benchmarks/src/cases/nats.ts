/**
 * @ipc/nats against the official NATS client on the same nats-server, in the same run (docs/wire.md §9):
 * - unary RPC (the calculator's `Add`) over NATS against a raw `request()`/`respond()` of the same bytes, and
 *   against @ipc/rpc over TCP (the socket a program would otherwise use across machines);
 * - pipelined calls on one NATS connection, against raw pipelined `request()`s;
 * - pub/sub fan-out to 10 subscribers (each on its own connection), against raw `publish()`/`subscribe()`;
 * - local first: a client on the same machine that found the service's announced Unix socket, against a
 *   direct @ipc/rpc call over @ipc/unix — in one worker, to the same serving process, in alternating bursts
 *   (`nats-local-paired`, the target's row), and as two separately run cases beside it.
 * The peer process starts its own nats-server (Debian's; 127.0.0.1, a free port, a temp store) and the
 * serving side; the case is the calling side. Without nats-server, the module has no groups, and the run
 * says so nowhere else: `nats-server` is in the repository's CI and in `apt-get install nats-server`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { connectService, createNatsClient, natsPublisher, natsSubscribe, serveLocalFirst, serveNats } from "@ipc/nats";
import { createClient, loadService, protobuf, serve, type Unary } from "@ipc/rpc";
import * as tcp from "@ipc/tcp";
import * as unix from "@ipc/unix";
import { natsServerMissing, startNatsServer } from "@ipc/testing";
import type { CaseContext, CaseModule, Group, Metrics } from "../lib/case.js";
import { timedCalls } from "../lib/loops.js";
import { exitWithParent } from "../lib/processes.js";
import { Sampler, now } from "../lib/stats.js";
import { CALCULATOR_PROTO, IN_FLIGHT, type AddRequest, type Result } from "./rpc-shared.js";

type CalculatorMethods = { readonly add: Unary<AddRequest, Result> };
const Calculator = loadService<CalculatorMethods>(protobuf.parse(CALCULATOR_PROTO).root, "calc.Calculator");
const AddRequestType = protobuf.parse(CALCULATOR_PROTO).root.lookupType("calc.AddRequest");
const ResultType = protobuf.parse(CALCULATOR_PROTO).root.lookupType("calc.Result");
const implementation = { add: ({ a, b }: AddRequest): Result => ({ value: a + b }) };

/** Where the RPC peer answers its own CPU time so far (`process.cpuUsage()`, as JSON). */
const CPU_SUBJECT = "bench.cpu";
/** The raw responder's subject, outside @ipc's prefix. */
const RAW_SUBJECT = "bench.raw.add";
const SUBSCRIBERS = 10;
const FANOUT_TOPIC = "bench.fanout";
/** Fan-out messages are this big (the transports' small-message size). */
const FANOUT_SIZE = 64;
/** The end of a fan-out burst: an empty message. Subscribers answer their count on this subject. */
const COUNTS = "bench.fanout.counts";

const dirOf = (context: CaseContext | string): string => (JSON.parse(typeof context === "string" ? context : context.arg) as { dir: string }).dir;

/** The pid of the peer's nats-server. */
let natsServerPid = -1;

/** In the peer: a nats-server of its own, stopped when the peer ends (its stdin closes). */
async function natsServer(): Promise<string> {
  const server = await startNatsServer();
  natsServerPid = server.pid;
  process.stdin.on("end", () => void server.stop().finally(() => process.exit(0)));
  process.stdin.resume();
  return server.url;
}

/** CPU time (user + system) of process `pid` in µs, from /proc (clock ticks: 10 ms steps), or NaN where there is none. */
function cpuOfProcess(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
/** USER_HZ: 100 on Linux x86-64. */
const CLOCK_TICKS = 100;

const connectTo = (url: string): Promise<NatsConnection> => natsConnect({ servers: url, noEcho: true });

// --- peers -----------------------------------------------------------------------------------------------

/** @ipc/rpc's Calculator served on NATS (a queue group of one), and a raw responder beside it. */
async function rpcPeer(): Promise<void> {
  const url = await natsServer();
  const nc = await connectTo(url);
  serveNats(nc, Calculator, implementation);
  // The raw responder decodes and encodes the same messages, so both sides do the same protobuf work.
  const raw = nc.subscribe(RAW_SUBJECT);
  void (async () => {
    for await (const m of raw) {
      const { a, b } = AddRequestType.decode(m.data) as unknown as AddRequest;
      m.respond(ResultType.encode({ value: a + b }).finish());
    }
  })();
  nc.subscribe(CPU_SUBJECT, {
    callback: (_error, m) => {
      m.respond(new TextEncoder().encode(JSON.stringify({ ...process.cpuUsage(), natsServer: cpuOfProcess(natsServerPid) })));
    },
  });
  await nc.flush();
  process.stdout.write(`ready ${url}\n`);
}

/** @ipc/rpc over @ipc/tcp on loopback: the socket path across machines, for comparison. */
async function tcpPeer(): Promise<void> {
  exitWithParent();
  const listener = await tcp.listen("tcp://127.0.0.1:0");
  serve(listener, Calculator, implementation);
  process.stdout.write(`ready ${listener.address}\n`);
}

/** Ten subscribers, each on its own connection: @ipc's natsSubscribe, or the raw client's subscribe. */
const fanoutPeer = (kind: "ours" | "raw") => async (): Promise<void> => {
  const url = await natsServer();
  const connections = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => connectTo(url)));
  for (const [i, nc] of connections.entries()) {
    let count = 0;
    const onMessage = (size: number): void => {
      if (size > 0) count++;
      else {
        nc.publish(COUNTS, new TextEncoder().encode(`${i} ${count}`));
        count = 0;
      }
    };
    if (kind === "raw") {
      nc.subscribe(FANOUT_TOPIC, { callback: (_error, m) => onMessage(m.data.byteLength) });
    } else {
      // Large enough queues that a burst is never dropped: the rate counts deliveries, not drops.
      const subscription = natsSubscribe(nc, { topics: [FANOUT_TOPIC], queueMessages: 1 << 20, queueBytes: 1 << 30 });
      void (async () => {
        for await (const publication of subscription) onMessage(publication.message.byteLength);
      })();
    }
    await nc.flush();
  }
  process.stdout.write(`ready ${url}\n`);
};

/** The Calculator served local-first: on NATS and on a Unix socket it announces. */
async function localFirstPeer(arg: string): Promise<void> {
  const url = await natsServer();
  const nc = await connectTo(url);
  const listener = await unix.listen(`unix://${join(dirOf(arg), "s.sock")}`);
  serveLocalFirst(nc, Calculator, implementation, { listeners: [listener] });
  await nc.flush();
  process.stdout.write(`ready ${url}\n`);
}

/**
 * The Calculator over @ipc/unix, served directly, in the same surroundings as the local-first peer: a
 * nats-server running and this process connected to it (unused), so that the pair of cases differs only in
 * how the client found the socket — what local first costs, not what a NATS deployment beside it costs.
 */
async function unixPeer(arg: string): Promise<void> {
  const url = await natsServer();
  const nc = await connectTo(url);
  const listener = await unix.listen(`unix://${join(dirOf(arg), "s.sock")}`);
  serve(listener, Calculator, implementation);
  await nc.flush();
  process.stdout.write(`ready ${url}\n`);
}

// --- measuring sides -------------------------------------------------------------------------------------

const CALL_TIMEOUT = 10_000;

async function withNats<T>(context: CaseContext, body: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectTo(context.ready);
  try {
    return await body(nc);
  } finally {
    await nc.close();
  }
}

const rawCall = (nc: NatsConnection): (() => Promise<unknown>) => {
  let i = 0;
  return async () => ResultType.decode((await nc.request(RAW_SUBJECT, AddRequestType.encode({ a: i++, b: 1 }).finish(), { timeout: CALL_TIMEOUT })).data);
};

const oursCall = (nc: NatsConnection): (() => Promise<unknown>) => {
  const client = createNatsClient(Calculator, nc);
  let i = 0;
  return () => client.add({ a: i++, b: 1 }, { timeout: CALL_TIMEOUT });
};

const natsRtt =
  (make: (nc: NatsConnection) => () => Promise<unknown>) =>
  (context: CaseContext): Promise<Metrics> =>
    withNats(context, (nc) => timedCalls(context.budget, make(nc)));

/** CPU time (user + system) in µs: this process's, or the RPC peer's (asked on {@link CPU_SUBJECT}). */
const cpuHere = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
/** The peer's CPU time and its nats-server's, in µs. */
async function cpuOfPeer(nc: NatsConnection): Promise<{ peer: number; natsServer: number }> {
  const reply = await nc.request(CPU_SUBJECT, undefined, { timeout: CALL_TIMEOUT });
  const { user, system, natsServer } = JSON.parse(new TextDecoder().decode(reply.data)) as NodeJS.CpuUsage & { natsServer: number | null };
  return { peer: user + system, natsServer: natsServer ?? Number.NaN };
}

/**
 * Pipelined calls (as lib/loops' `callsInFlight`: `IN_FLIGHT` loops of calls, a warm-up, then the measured
 * time), with the CPU time each of the two Node processes spent per call while measured: what a change to
 * the per-call code saves shows there even when where the kernel put the three processes (client, serving
 * process, nats-server on two cores) moves the rate by more than the change does.
 */
const natsRate =
  (make: (nc: NatsConnection) => () => Promise<unknown>) =>
  (context: CaseContext): Promise<Metrics> =>
    withNats(context, async (nc) => {
      const call = make(nc);
      const run = async (ms: number): Promise<number> => {
        let calls = 0;
        const end = now() + ms * 1e6;
        await Promise.all(
          Array.from({ length: IN_FLIGHT }, async () => {
            while (now() < end) {
              await call();
              calls++;
            }
          }),
        );
        return calls;
      };
      await run(context.budget.warmupMs);
      const [peerBefore, hereBefore] = [await cpuOfPeer(nc), cpuHere()];
      const start = now();
      const calls = await run(context.budget.measureMs);
      const seconds = (now() - start) / 1e9;
      const [hereAfter, peerAfter] = [cpuHere(), await cpuOfPeer(nc)];
      return {
        "calls/s": calls / seconds,
        "client CPU µs/call": (hereAfter - hereBefore) / calls,
        "server CPU µs/call": (peerAfter.peer - peerBefore.peer) / calls,
        "nats-server CPU µs/call": (peerAfter.natsServer - peerBefore.natsServer) / calls,
      };
    });

async function tcpRtt(context: CaseContext): Promise<Metrics> {
  const client = createClient(Calculator, await tcp.connect(context.ready, { timeout: CALL_TIMEOUT }));
  let i = 0;
  try {
    return await timedCalls(context.budget, () => client.add({ a: i++, b: 1 }));
  } finally {
    client.abort();
  }
}

/**
 * Bursts of 64-byte messages to the 10 subscribers, each burst ended by an empty message that every
 * subscriber answers with its count: deliveries per second, summed over the subscribers. A subscriber that
 * counted fewer than were published fails the case (nothing may be dropped).
 */
const fanout =
  (kind: "ours" | "raw") =>
  (context: CaseContext): Promise<Metrics> =>
    withNats(context, async (nc) => {
      const publisher = kind === "ours" ? natsPublisher(nc) : undefined;
      const publish = (message: Uint8Array): void => {
        if (publisher === undefined) nc.publish(FANOUT_TOPIC, message);
        else void publisher.publish(FANOUT_TOPIC, message);
      };
      const counts = nc.subscribe(COUNTS);
      const answers = counts[Symbol.asyncIterator]();
      await nc.flush();
      const message = new Uint8Array(FANOUT_SIZE).fill(0x61);
      const END = new Uint8Array(0);
      const burst = async (n: number): Promise<void> => {
        for (let i = 0; i < n; i++) {
          publish(message);
          // Let the client's outbound buffer go out now and then, as a real publisher's loop would.
          if (i % 1000 === 999) await nc.flush();
        }
        publish(END);
        for (let s = 0; s < SUBSCRIBERS; s++) {
          const answer = await answers.next();
          if (answer.done === true) throw new Error("the counts subscription ended");
          const [who, got] = new TextDecoder().decode(answer.value.data).split(" ");
          if (Number(got) !== n) throw new Error(`subscriber ${who} counted ${got} of ${n} messages`);
        }
      };
      await burst(5_000); // warm-up, unmeasured
      let delivered = 0;
      const start = now();
      const end = start + context.budget.measureMs * 1e6;
      do {
        await burst(10_000);
        delivered += 10_000 * SUBSCRIBERS;
      } while (now() < end);
      counts.unsubscribe();
      return { "msgs/s": delivered / ((now() - start) / 1e9) };
    });

async function localFirstRtt(context: CaseContext): Promise<Metrics> {
  return withNats(context, async (nc) => {
    const client = await connectService(nc, Calculator, { timeout: CALL_TIMEOUT, connect: (address, options) => unix.connect(address, options) });
    if (client.route.kind !== "local") throw new Error(`connectService() went over NATS: ${client.route.why}`);
    let i = 0;
    try {
      return await timedCalls(context.budget, () => client.add({ a: i++, b: 1 }));
    } finally {
      await client.close({ timeout: 1000 }).catch(() => undefined);
    }
  });
}

/** A direct @ipc/rpc call over @ipc/unix, from a process that holds an (idle) NATS connection like the local-first one. */
async function unixRtt(context: CaseContext): Promise<Metrics> {
  return withNats(context, async () => {
    const client = createClient(Calculator, await unix.connect(`unix://${join(dirOf(context), "s.sock")}`, { timeout: CALL_TIMEOUT }));
    let i = 0;
    try {
      return await timedCalls(context.budget, () => client.add({ a: i++, b: 1 }));
    } finally {
      client.abort();
    }
  });
}

/**
 * Local first and direct, paired: one worker holds both a client that connectService() routed to the
 * announced Unix socket and a plain @ipc/rpc client it connected to that socket itself, both to the same
 * serving process, and alternates bursts of calls between them (in ABBA order, so neither always goes
 * first after the other's burst). Both see the same process placement, load and warm state, so the ratio of
 * their p50s is what local first itself costs; two separately run cases also differ by where the kernel put
 * each pair of processes, which moves a round trip here by more than 10 %.
 */
const PAIRED_BURST = 16;

async function pairedRtt(context: CaseContext): Promise<Metrics> {
  return withNats(context, async (nc) => {
    const local = await connectService(nc, Calculator, { timeout: CALL_TIMEOUT, connect: (address, options) => unix.connect(address, options) });
    if (local.route.kind !== "local") throw new Error(`connectService() went over NATS: ${local.route.why}`);
    // The baseline, unchanged: @ipc/rpc's createClient over @ipc/unix's connect, to the socket the peer announced.
    const direct = createClient(Calculator, await unix.connect(local.route.address, { timeout: CALL_TIMEOUT }));
    let i = 0;
    const localCall = (): Promise<unknown> => local.add({ a: i++, b: 1 });
    const directCall = (): Promise<unknown> => direct.add({ a: i++, b: 1 });
    const localSamples = new Sampler(context.budget);
    const directSamples = new Sampler(context.budget);
    const burst = async (sampler: Sampler, call: () => Promise<unknown>): Promise<boolean> => {
      let more = true;
      for (let k = 0; k < PAIRED_BURST; k++) {
        sampler.begin();
        await call();
        more = sampler.end();
      }
      return more;
    };
    try {
      await localCall();
      await directCall();
      let more = true;
      for (let round = 0; more; round++) {
        // ABBA: local, direct, direct, local, …
        const localMore = round % 2 === 0 ? await burst(localSamples, localCall) : undefined;
        const directMore = await burst(directSamples, directCall);
        more = (localMore ?? (await burst(localSamples, localCall))) || directMore;
      }
    } finally {
      direct.abort();
      await local.close({ timeout: 1000 }).catch(() => undefined);
    }
    const ours = localSamples.result();
    const baseline = directSamples.result();
    return {
      "p50 µs": ours["p50 µs"],
      "p99 µs": ours["p99 µs"],
      "direct p50 µs": baseline["p50 µs"],
      "direct p99 µs": baseline["p99 µs"],
      "× direct p50": ours["p50 µs"] / baseline["p50 µs"],
    };
  });
}

// --- the cases and groups --------------------------------------------------------------------------------

const cases = [
  { id: "nats-rtt-ours", label: "@ipc/nats createNatsClient", run: natsRtt(oursCall), peer: rpcPeer },
  { id: "nats-rtt-raw", label: "raw nc.request() / msg.respond()", run: natsRtt(rawCall), peer: rpcPeer },
  { id: "nats-rtt-tcp", label: "@ipc/rpc over @ipc/tcp (loopback)", run: tcpRtt, peer: tcpPeer },
  { id: "nats-rate-ours", label: `@ipc/nats, ${IN_FLIGHT} in flight`, run: natsRate(oursCall), peer: rpcPeer },
  { id: "nats-rate-raw", label: `raw nc.request(), ${IN_FLIGHT} in flight`, run: natsRate(rawCall), peer: rpcPeer },
  { id: "nats-fanout-ours", label: "natsPublisher → 10 × natsSubscribe", run: fanout("ours"), peer: fanoutPeer("ours") },
  { id: "nats-fanout-raw", label: "raw publish() → 10 × subscribe()", run: fanout("raw"), peer: fanoutPeer("raw") },
  { id: "nats-local-first", label: "connectService() (found the local Unix socket)", run: localFirstRtt, peer: localFirstPeer },
  { id: "nats-local-direct", label: "@ipc/rpc over @ipc/unix, direct", run: unixRtt, peer: unixPeer },
  {
    id: "nats-local-paired",
    label: "connectService() vs a direct @ipc/unix client, same processes, alternating bursts",
    run: pairedRtt,
    peer: localFirstPeer,
  },
];

const groups: Group[] = [
  {
    title: "NATS: RPC unary round trip (Add)",
    metrics: ["p50 µs", "p99 µs"],
    rows: [
      { case: "nats-rtt-ours", role: "ours" },
      { case: "nats-rtt-raw", role: "baseline" },
      { case: "nats-rtt-tcp", role: "other" },
      { case: "rpc-rtt-grpc", role: "other", label: "@grpc/grpc-js (over a Unix socket)" },
    ],
    targets: [{ metric: "p50 µs", ratio: 1.2, text: "≤ 1.2× raw request()" }],
  },
  {
    title: "NATS: RPC pipelined calls on one connection",
    metrics: ["calls/s", "client CPU µs/call", "server CPU µs/call", "nats-server CPU µs/call"],
    rows: [
      { case: "nats-rate-ours", role: "ours" },
      { case: "nats-rate-raw", role: "baseline" },
    ],
    targets: [{ metric: "calls/s", absolute: 50_000, text: "≥ 50 k calls/s" }],
  },
  {
    title: "NATS: pub/sub fan-out, 64 B to 10 subscribers",
    metrics: ["msgs/s"],
    rows: [
      { case: "nats-fanout-ours", role: "ours" },
      { case: "nats-fanout-raw", role: "baseline" },
    ],
  },
  {
    // The target is the paired group's: these two cases run in separate processes, placed apart by the kernel.
    title: "NATS: local-first call from the same machine",
    metrics: ["p50 µs", "p99 µs"],
    rows: [
      { case: "nats-local-first", role: "ours" },
      { case: "nats-local-direct", role: "baseline" },
    ],
  },
  {
    title: "NATS: local-first call against a direct @ipc/unix call, paired in one worker",
    metrics: ["× direct p50", "p50 µs", "direct p50 µs", "p99 µs", "direct p99 µs"],
    rows: [{ case: "nats-local-paired", role: "ours" }],
    targets: [{ metric: "× direct p50", absolute: 1.1, text: "≤ 1.1× direct @ipc/unix RPC" }],
  },
];

export const module: CaseModule = {
  cases: () => cases,
  metrics: {
    "client CPU µs/call": { unit: "µs CPU/call (client)", higherIsBetter: false },
    "server CPU µs/call": { unit: "µs CPU/call (serving process)", higherIsBetter: false },
    "nats-server CPU µs/call": { unit: "µs CPU/call (nats-server)", higherIsBetter: false },
    "direct p50 µs": { unit: "µs p50 (direct)", higherIsBetter: false },
    "direct p99 µs": { unit: "µs p99 (direct)", higherIsBetter: false },
    "× direct p50": { unit: "× direct p50", higherIsBetter: false },
  },
  // Without nats-server these groups cannot run (natsServerMissing says why).
  groups: () => (natsServerMissing === undefined ? groups : []),
};
