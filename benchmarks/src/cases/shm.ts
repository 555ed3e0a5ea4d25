/**
 * @ipc/shm's MessageRing on its own, between two processes, added to the shared-memory groups of
 * cases/transports.ts (where the shm:// Connection and the raw Unix socket baseline already are):
 * - 64 B round trips: both sides spinning (`tryWrite` + `readSync({ spin: Infinity })`), spin-then-sleep
 *   (async `write()` / `read()`), and idle (one message every millisecond, so the other side sleeps);
 * - one-way throughput of 64 KiB messages (`tryWrite` / `drain` into the reader's own buffer);
 * - one-way rate of 64 B messages (`tryWrite`, `tryWriteBatch` / `drain`, both sides spinning).
 * The peer creates the two rings (to it, from it); the case opens them and unlinks the names at once.
 *
 * And the shm:// Connection beyond what cases/transports.ts measures of it (issue 17):
 * - 64 B through the batch path (`sendBatch()` of 1024 / `receiveBatch()`, or the zero-copy `receiveViews()`
 *   that lends all that arrived as one view of the ring), and one `send()` per message with the receiver on
 *   `receiveBatch()`;
 * - 64 KiB one `send()` per message with the receiver on the zero-copy `receiveView()`;
 * - the 64 B round trip with both sides spinning (`spin: 1000` µs: each wait spins up to 1 ms before it sleeps).
 */
import { basename } from "node:path";
import type { Connection } from "@ipc/core";
import { MessageRing, type ShmConnection, shmTransport } from "@ipc/shm";
import type { BenchCase, CaseContext, CaseModule, Group, Metrics } from "../lib/case.js";
import { BATCH, encodeCount, serveBatches, serveLentBatches, serveMessages } from "../lib/loops.js";
import { exitWithParent } from "../lib/processes.js";
import { Sampler, now, rates } from "../lib/stats.js";
import { groupTitle } from "../lib/titles.js";
import { IDLE_GAP_MS, plainId, rawId } from "./raw.js";

const RING_CAPACITY = 1 << 22;
const SMALL = 64;
const BIG = 64 * 1024;

interface Arg {
  readonly name: string;
  readonly size: number;
  /** How the echo peer waits: spinning forever, or async read() (spin then sleep). */
  readonly mode: "spin" | "sleep";
  /**
   * How a sink peer takes messages: `into`: drain(), copied into one buffer of the consumer's; `drain`:
   * drain(), read in place (one byte looked at).
   */
  readonly take: "into" | "drain";
}

const argOf =
  (size: number, mode: Arg["mode"], take: Arg["take"] = "drain") =>
  (dir: string): string =>
    JSON.stringify({ name: `ipc-bench-${basename(dir)}`, size, mode, take } satisfies Arg);
const parse = (text: string): Arg => JSON.parse(text) as Arg;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The peer's side: creates `<name>.in` (it reads) and `<name>.out` (it writes). */
function peerRings(arg: Arg): { input: MessageRing; output: MessageRing } {
  return {
    input: MessageRing.create({ name: `${arg.name}.in`, capacity: RING_CAPACITY }),
    output: MessageRing.create({ name: `${arg.name}.out`, capacity: RING_CAPACITY }),
  };
}

/** The case's side: opens them and removes the names (the mappings stay; nothing is left behind). */
function caseRings(context: CaseContext): { output: MessageRing; input: MessageRing } {
  const { name } = parse(context.arg);
  const output = MessageRing.open(`${name}.in`);
  const input = MessageRing.open(`${name}.out`);
  output.memory!.unlink();
  input.memory!.unlink();
  return { output, input };
}

/**
 * For the spinning peers, which never yield to the event loop (so cannot watch their stdin): true once the
 * worker that started this process is gone (it was re-parented), so that a killed worker leaves no spinner.
 */
const parent = process.ppid;
function orphaned(): boolean {
  return process.ppid !== parent;
}

// --- round trips ------------------------------------------------------------------------------------------

async function ringEchoPeer(text: string): Promise<void> {
  const arg = parse(text);
  const { input, output } = peerRings(arg);
  process.stdout.write("ready\n");
  if (arg.mode === "spin") {
    for (;;) {
      let spins = 0;
      while (!input.readable) if ((++spins & 0xfffff) === 0 && orphaned()) process.exit(0);
      const message = input.tryRead()!;
      while (!output.tryWrite(message));
    }
  }
  exitWithParent();
  for (;;) await output.write((await input.read())!);
}

async function ringRoundTrips(context: CaseContext, mode: "spin" | "sleep" | "idle"): Promise<Metrics> {
  const { output, input } = caseRings(context);
  const message = new Uint8Array(SMALL).fill(1);
  const once = async (): Promise<void> => {
    if (mode === "spin") {
      output.tryWrite(message);
      input.readSync({ spin: Infinity });
    } else {
      await output.write(message);
      await input.read();
    }
  };
  await once();
  const sampler = new Sampler(context.budget);
  do {
    if (mode === "idle") await sleep(IDLE_GAP_MS);
    sampler.begin();
    await once();
  } while (sampler.end());
  return sampler.result();
}

/** The shm:// Connection, one round trip every millisecond. */
async function transportIdlePeer(text: string): Promise<void> {
  exitWithParent();
  const listener = await shmTransport.listen(`shm://${parse(text).name}`);
  process.stdout.write(`ready ${listener.address}\n`);
  for await (const connection of listener) void serveMessages(connection, "rtt").catch(() => connection.abort());
}

async function transportIdle(context: CaseContext): Promise<Metrics> {
  const connection = await shmTransport.connect(context.ready, { timeout: 10_000 });
  const message = new Uint8Array(SMALL).fill(1);
  try {
    await connection.send(message);
    await connection.receive();
    const sampler = new Sampler(context.budget);
    do {
      await sleep(IDLE_GAP_MS);
      sampler.begin();
      await connection.send(message);
      await connection.receive();
    } while (sampler.end());
    return sampler.result();
  } finally {
    connection.abort();
  }
}

// --- one-way streams: an empty message ends each phase, and the peer answers its count ------------------

const EMPTY = new Uint8Array(0);

/** Takes every message (see Arg.take) until an empty one, answers the count; again, until killed. */
async function ringSinkPeer(text: string): Promise<void> {
  const arg = parse(text);
  const { input, output } = peerRings(arg);
  process.stdout.write("ready\n");
  const buffer = new Uint8Array(arg.size);
  let count = 0;
  let ended = false;
  let first = 0;
  const handle =
    arg.take === "into"
      ? (data: Uint8Array, offset: number, length: number): void => {
          if (length === 0) ended = true;
          else {
            buffer.set(data.subarray(offset, offset + length));
            count++;
          }
        }
      : (data: Uint8Array, offset: number, length: number): void => {
          if (length === 0) ended = true;
          else {
            first ^= data[offset]!;
            count++;
          }
        };
  for (;;) {
    let spins = 0;
    while (!ended) if (input.drain(handle) === 0 && (++spins & 0xfffff) === 0 && orphaned()) process.exit(0);
    const answer = new Float64Array([count, first]);
    while (!output.tryWrite(new Uint8Array(answer.buffer)));
    count = 0;
    ended = false;
  }
}

/** Sends for the warm-up, then for the measured time, one message at a time or 64 at a time. */
async function ringSend(context: CaseContext, batched: boolean): Promise<Metrics> {
  const { size } = parse(context.arg);
  const { output, input } = caseRings(context);
  const message = new Uint8Array(size).fill(2);
  const batch = Array.from({ length: 64 }, () => message);
  const checkEvery = size >= 4096 ? 1 : 64;
  const phase = (ms: number): number => {
    let sent = 0;
    const end = now() + ms * 1e6;
    do {
      if (batched) sent += output.tryWriteBatch(batch);
      else {
        for (let i = 0; i < checkEvery; i++) while (!output.tryWrite(message));
        sent += checkEvery;
      }
    } while (now() < end);
    while (!output.tryWrite(EMPTY));
    const answer = input.readSync({ spin: Infinity })!;
    const counted = new Float64Array(answer.buffer.slice(answer.byteOffset, answer.byteOffset + 16))[0];
    if (counted !== sent) throw new Error(`sent ${sent} messages, the peer counted ${counted}`);
    return sent;
  };
  phase(context.budget.warmupMs);
  const start = now();
  const sent = phase(context.budget.measureMs);
  return rates(sent, size, now() - start);
}

// --- the shm:// Connection: the batch path, zero-copy receive, spinning round trips ----------------------

/** The argument of the Connection cases: how the peer serves, and how long each side spins (µs). */
interface ConnectionArg {
  readonly name: string;
  readonly size: number;
  /**
   * `count`: receiveBatch() until an empty message, answer the count; `view`: the same with receiveView();
   * `views`: the same with receiveViews(); `echo`.
   */
  readonly serve: "count" | "view" | "views" | "echo";
  readonly spin?: number | undefined;
  /** How the case sends a stream: `batch`: sendBatch() of {@link BATCH} messages; `send`: one send() each. */
  readonly send?: "batch" | "send";
}

const connectionArgOf =
  (arg: Omit<ConnectionArg, "name">) =>
  (dir: string): string =>
    JSON.stringify({ name: `ipc-bench-${basename(dir)}`, ...arg } satisfies ConnectionArg);

async function serveConnection(connection: ShmConnection, serve: ConnectionArg["serve"]): Promise<void> {
  if (serve === "echo") {
    for (;;) {
      const message = await connection.receive();
      if (message === undefined) return;
      await connection.send(message);
    }
  }
  if (serve === "count") return serveBatches(connection);
  if (serve === "views") return serveLentBatches(connection);
  let count = 0;
  for (;;) {
    const view = await connection.receiveView();
    if (view === undefined) return;
    const length = view.bytes.byteLength;
    // The receiver looks at the message in place (the sender fills it with 2s).
    if (length > 0 && view.bytes[length - 1] !== 2) throw new Error("a view that does not hold the message sent");
    view.release();
    if (length > 0) count++;
    else {
      await connection.send(encodeCount(count));
      count = 0;
    }
  }
}

async function connectionPeer(text: string): Promise<void> {
  const arg = JSON.parse(text) as ConnectionArg;
  exitWithParent();
  const listener = await shmTransport.listen(`shm://${arg.name}`, { spin: arg.spin });
  process.stdout.write(`ready ${listener.address}\n`);
  for await (const connection of listener) void serveConnection(connection as ShmConnection, arg.serve).catch(() => connection.abort());
}

async function connectionCase(context: CaseContext, measure: (connection: Connection, arg: ConnectionArg) => Promise<Metrics>): Promise<Metrics> {
  const arg = JSON.parse(context.arg) as ConnectionArg;
  const connection = await shmTransport.connect(context.ready, { timeout: 10_000, spin: arg.spin });
  try {
    await connection.send(EMPTY); // the peer answers an empty message with its count: both sides are up
    await connection.receive();
    return await measure(connection, arg);
  } finally {
    connection.abort();
  }
}

/** Streams for the warm-up, then for the measured time (sendBatch() of {@link BATCH}, or one send() each). */
async function connectionStream(context: CaseContext): Promise<Metrics> {
  return connectionCase(context, async (connection, arg) => {
    const message = new Uint8Array(arg.size).fill(2);
    const batch = new Array<Uint8Array>(BATCH).fill(message);
    const phase = async (ms: number): Promise<number> => {
      let sent = 0;
      const end = now() + ms * 1e6;
      do {
        if (arg.send === "batch") {
          await connection.sendBatch(batch);
          sent += BATCH;
        } else {
          for (let i = 0; i < 64; i++) await connection.send(message);
          sent += 64;
        }
      } while (now() < end);
      await connection.send(EMPTY);
      const answer = await connection.receive();
      const counted = answer === undefined ? -1 : new DataView(answer.buffer, answer.byteOffset, 8).getFloat64(0, true);
      if (counted !== sent) throw new Error(`sent ${sent} messages, the peer counted ${counted}`);
      return sent;
    };
    await phase(context.budget.warmupMs);
    const start = now();
    const sent = await phase(context.budget.measureMs);
    return rates(sent, arg.size, now() - start);
  });
}

async function connectionRoundTrips(context: CaseContext): Promise<Metrics> {
  return connectionCase(context, async (connection, arg) => {
    const message = new Uint8Array(arg.size).fill(1);
    const sampler = new Sampler(context.budget);
    do {
      sampler.begin();
      await connection.send(message);
      await connection.receive();
    } while (sampler.end());
    return sampler.result();
  });
}

// --- the cases --------------------------------------------------------------------------------------------

const SPIN = "Shared memory: round trip, 64 B, both sides spinning";
const IDLE = `Shared memory: round trip, 64 B, idle (one every ${IDLE_GAP_MS} ms)`;

const cases: BenchCase[] = [
  {
    id: "shm-ring-rtt-spin",
    label: "MessageRing tryWrite + readSync({ spin: Infinity })",
    run: (c) => ringRoundTrips(c, "spin"),
    peer: ringEchoPeer,
    peerArg: argOf(0, "spin"),
  },
  { id: "shm-ring-rtt-sleep", label: "MessageRing write() + read()", run: (c) => ringRoundTrips(c, "sleep"), peer: ringEchoPeer, peerArg: argOf(0, "sleep") },
  { id: "shm-ring-rtt-idle", label: "MessageRing write() + read()", run: (c) => ringRoundTrips(c, "idle"), peer: ringEchoPeer, peerArg: argOf(0, "sleep") },
  { id: "shm-rtt-idle", label: "shm:// Connection", run: transportIdle, peer: transportIdlePeer, peerArg: argOf(0, "sleep") },
  {
    id: "shm-ring-stream-64KiB",
    label: "MessageRing tryWrite / drain, copied into the reader's buffer",
    run: (c) => ringSend(c, false),
    peer: ringSinkPeer,
    peerArg: argOf(BIG, "spin", "into"),
  },
  {
    id: "shm-ring-stream-64B",
    label: "MessageRing tryWrite / drain",
    run: (c) => ringSend(c, false),
    peer: ringSinkPeer,
    peerArg: argOf(SMALL, "spin", "drain"),
  },
  {
    id: "shm-batch-64B",
    label: "shm:// Connection, sendBatch() of 1024 / receiveBatch()",
    run: connectionStream,
    peer: connectionPeer,
    peerArg: connectionArgOf({ size: SMALL, serve: "count", send: "batch" }),
  },
  {
    id: "shm-views-64B",
    label: "shm:// Connection, sendBatch() of 1024 / zero-copy receiveViews()",
    run: connectionStream,
    peer: connectionPeer,
    peerArg: connectionArgOf({ size: SMALL, serve: "views", send: "batch" }),
  },
  {
    id: "shm-send-64B",
    label: "shm:// Connection, one send() per message / receiveBatch()",
    run: connectionStream,
    peer: connectionPeer,
    peerArg: connectionArgOf({ size: SMALL, serve: "count", send: "send" }),
  },
  {
    id: "shm-view-64KiB",
    label: "shm:// Connection, one send() per message / zero-copy receiveView()",
    run: connectionStream,
    peer: connectionPeer,
    peerArg: connectionArgOf({ size: BIG, serve: "view", send: "send" }),
  },
  {
    id: "shm-rtt-spin",
    label: "shm:// Connection, both sides spin: 1000 µs",
    run: connectionRoundTrips,
    peer: connectionPeer,
    peerArg: connectionArgOf({ size: SMALL, serve: "echo", spin: 1000 }),
  },
  {
    id: "shm-ring-stream-64B-batch",
    label: "MessageRing tryWriteBatch(64) / drain",
    run: (c) => ringSend(c, true),
    peer: ringSinkPeer,
    peerArg: argOf(SMALL, "spin", "drain"),
  },
];

function groups(): { size?: number; group: Group }[] {
  const rttBaseline = [
    { case: rawId("unix", "rtt", SMALL), role: "baseline" as const },
    { case: plainId("unix", "rtt", SMALL), role: "reference" as const },
  ];
  return [
    {
      size: SMALL,
      group: {
        title: SPIN,
        metrics: ["p50 µs", "p99 µs"],
        rows: [{ case: "shm-ring-rtt-spin", role: "ours" }, { case: "shm-rtt-spin", role: "ours" }, ...rttBaseline],
        targets: [
          { metric: "p50 µs", absolute: 1, text: "≤ 1 µs" },
          { metric: "p50 µs", ratio: 1 / 20, text: "≥ 20× faster than raw", cases: ["shm-ring-rtt-spin"] },
        ],
        transport: "shm",
      },
    },
    {
      size: SMALL,
      group: {
        title: groupTitle("shm", "rtt", SMALL),
        metrics: ["p50 µs", "p99 µs"],
        rows: [{ case: "shm-ring-rtt-sleep", role: "ours", profiles: [] }],
        transport: "shm",
      },
    },
    {
      group: {
        title: IDLE,
        metrics: ["p50 µs", "p99 µs"],
        rows: [
          { case: "shm-ring-rtt-idle", role: "ours" },
          { case: "shm-rtt-idle", role: "ours" },
          { case: "raw-unix-rtt-idle", role: "baseline" },
          { case: "plain-unix-rtt-idle", role: "reference" },
        ],
        targets: [{ metric: "p50 µs", ratio: 1, text: "no slower than raw" }],
        transport: "shm",
      },
    },
    {
      size: BIG,
      group: {
        title: groupTitle("shm", "stream", BIG),
        metrics: ["bytes/s"],
        rows: [
          { case: "shm-view-64KiB", role: "ours" },
          { case: "shm-ring-stream-64KiB", role: "ours", profiles: [] },
        ],
        targets: [
          { metric: "bytes/s", ratio: 3, text: "≥ 3× raw (issue 17)", cases: ["shm-view-64KiB", "shm-stream-64KiB"] },
          { metric: "bytes/s", ratio: 5, text: "≥ 5× raw (stretch)", cases: ["shm-view-64KiB"], stretch: true },
        ],
        transport: "shm",
      },
    },
    {
      size: SMALL,
      group: {
        title: groupTitle("shm", "stream", SMALL),
        metrics: ["msgs/s"],
        rows: [
          { case: "shm-batch-64B", role: "ours" },
          { case: "shm-views-64B", role: "ours" },
          { case: "shm-send-64B", role: "ours" },
          { case: "shm-ring-stream-64B", role: "ours", profiles: [] },
          { case: "shm-ring-stream-64B-batch", role: "ours", profiles: [] },
        ],
        targets: [
          { metric: "msgs/s", absolute: 20e6, text: "≥ 20 M msgs/s through the batch path", cases: ["shm-batch-64B"] },
          { metric: "msgs/s", absolute: 50e6, text: "≥ 50 M msgs/s (stretch)", cases: ["shm-batch-64B"], stretch: true },
          { metric: "msgs/s", absolute: 20e6, text: "≥ 20 M msgs/s through the batch path, lent receiveViews()", cases: ["shm-views-64B"] },
          { metric: "msgs/s", absolute: 50e6, text: "≥ 50 M msgs/s (stretch), lent", cases: ["shm-views-64B"], stretch: true },
          { metric: "msgs/s", absolute: 5e6, text: "≥ 5 M msgs/s per send()", cases: ["shm-send-64B"] },
        ],
        transport: "shm",
      },
    },
  ];
}

export const module: CaseModule = {
  cases: () => cases,
  // The groups that need a size of the transports' (their baseline, or the shm:// rows they join) come only
  // when the run measures that size.
  groups: (params) =>
    groups()
      .filter(({ size }) => size === undefined || params.sizes.includes(size))
      .map(({ group }) => group),
};
