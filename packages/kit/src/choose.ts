/**
 * `choose(needs)`: which transport to use, and why — the decision tree of the README's "Which mechanism?",
 * with the performance branches decided by measured numbers (measurements.ts: the harness's JSON) rather than
 * by folklore: shared memory only where it measured faster, at the size asked about.
 */
import { InvalidArgumentError, type Scheme } from "@ipc/core";
import { REFERENCE_MEASUREMENTS, type Measurements } from "./measurements.js";

/** What the application needs. */
export interface Needs {
  /** Both processes run on the same machine. Default: `true`. */
  readonly sameHost?: boolean | undefined;
  /** One process starts the other (and they live and die together). Default: `false`. */
  readonly parentChild?: boolean | undefined;
  /** A typical message's size, in bytes. Default: 1024. */
  readonly messageSize?: number | undefined;
  /** Round-trip latency matters more than simplicity. Default: `false`. */
  readonly latencyCritical?: boolean | undefined;
  /** The other side is not written with this toolkit (another language). Default: `false`. */
  readonly crossLanguage?: boolean | undefined;
  /** Several worker processes (possibly on several machines) share the calls. Default: `false`. */
  readonly sharedWork?: boolean | undefined;
  /** Messages must survive a restart of either process (or of the machine). Default: `false`. */
  readonly durable?: boolean | undefined;
}

/**
 * What {@link choose} may recommend: a transport's URL scheme, or `"nats"` — a NATS server carrying @ipc's
 * RPC, pub/sub and durable channels (@ipc/nats: `serveNats`, `createNatsClient`, `durableChannel`; not a
 * Connection, so not a scheme of `connect()`).
 */
export type ChoiceScheme = Scheme | "nats";

/** Options of {@link choose}. */
export interface ChooseOptions {
  /**
   * The numbers to decide by. Default: {@link REFERENCE_MEASUREMENTS} (this package's measurements.json, from
   * a full benchmark run on the toolkit's development machine); pass
   * `measurementsFrom(JSON.parse(readFileSync("ipc-bench-results/measurements.json", "utf8")))` to decide by
   * this machine's.
   */
  readonly measurements?: Measurements | undefined;
}

/** The recommendation. */
export interface Choice {
  /** The scheme to use, or `"nats"` for @ipc/nats. */
  readonly scheme: ChoiceScheme;
  /** An example address of that scheme. */
  readonly example: string;
  /** Why, one sentence each, with the numbers that decided it. */
  readonly reasons: readonly string[];
  /** What else would work, and when to prefer it. */
  readonly alternatives: readonly { readonly scheme: ChoiceScheme; readonly when: string }[];
  /** Where the numbers in `reasons` come from. */
  readonly source: string;
}

/** Messages at least this big count as "large data" (decided by throughput rather than by round trip). */
export const LARGE_MESSAGE = 64 * 1024;

/**
 * How much better shared memory must measure than the best other candidate to be recommended: 10 % (a rate
 * at least 1.1×, a round trip at most 1/1.1). Shared memory costs more than a socket — two rings of /dev/shm
 * per connection, a peer that speaks the ring of docs/wire.md §5 — and run-to-run noise on a shared machine
 * is about that size (docs/benchmarks.md), so a tie goes to the socket.
 */
export const SHM_MARGIN = 1.1;

const EXAMPLES: Readonly<Record<ChoiceScheme, string>> = {
  unix: "unix:///run/user/1000/app.sock",
  "unix-abstract": "unix-abstract:app",
  tcp: "tcp://10.0.0.2:7000",
  shm: "shm://app",
  fifo: "fifo:///run/user/1000/app",
  pipe: "pipe:/usr/bin/worker?arg=--serve",
  memory: "memory://app",
  nats: "nats://127.0.0.1:4222",
};

function micros(value: number | undefined): string {
  return value === undefined ? "not measured" : `${value < 10 ? value.toFixed(1) : value.toFixed(0)} µs`;
}

function rate(value: number | undefined): string {
  return value === undefined ? "not measured" : `${(value / 1e6).toFixed(0)} MB/s`;
}

function sizeText(size: number): string {
  if (size >= 1 << 20 && size % (1 << 20) === 0) return `${size >> 20} MiB`;
  if (size >= 1024 && size % 1024 === 0) return `${size >> 10} KiB`;
  return `${size} B`;
}

type Figure = "roundTripP50Us" | "bytesPerSecond";

/**
 * The size whose figures decide for messages of `size` bytes: of the sizes at which any candidate was
 * measured, the nearest (by ratio). Undefined when the measurements have no figures by size (then the 64 B
 * round trip and the 64 KiB throughput decide, as they always did).
 */
function decidingSize(candidates: readonly Scheme[], size: number, figure: Figure, m: Measurements): number | undefined {
  const sizes = new Set<number>();
  for (const s of candidates) {
    for (const [at, numbers] of Object.entries(m.schemes[s]?.bySize ?? {})) if (numbers[figure] !== undefined) sizes.add(Number(at));
  }
  const distance = (at: number): number => Math.abs(Math.log(at / Math.max(1, size)));
  return [...sizes].sort((a, b) => distance(a) - distance(b) || b - a)[0];
}

/** A scheme's figure at `at` bytes (or its 64 B / 64 KiB figure when there are no sizes). */
function figureOf(m: Measurements, scheme: Scheme, figure: Figure, at: number | undefined): number | undefined {
  const numbers = m.schemes[scheme];
  return at === undefined ? numbers?.[figure] : numbers?.bySize?.[String(at)]?.[figure];
}

/**
 * The candidate a measurement favours for messages of `size` bytes: the highest throughput for large
 * messages, else the lowest p50 round trip, both at the measured size nearest to `size`. A scheme not measured
 * there never wins over one that was.
 */
function fastest(candidates: readonly Scheme[], large: boolean, size: number, m: Measurements): { best: Scheme; line: string; margin?: string } {
  const figure: Figure = large ? "bytesPerSecond" : "roundTripP50Us";
  const at = decidingSize(candidates, size, figure, m);
  const value = (s: Scheme): number | undefined => figureOf(m, s, figure, at);
  const score = (s: Scheme): number => (large ? (value(s) ?? 0) : -(value(s) ?? Infinity));
  const ranked = [...candidates].sort((a, b) => score(b) - score(a));
  const line = ranked.map((s) => `${s} ${large ? rate(value(s)) : micros(value(s))}`).join(", ");
  const measured = at ?? (large ? LARGE_MESSAGE : 64);
  const result = {
    best: ranked[0]!,
    line: large
      ? `for messages of ${sizeText(measured)} it moves the most data: ${line}`
      : `it has the lowest round-trip latency (p50, messages of ${sizeText(measured)}): ${line}`,
  };
  const runnerUp = ranked[1];
  if (result.best === "shm" && runnerUp !== undefined && value(runnerUp) !== undefined && !clearlyBetter(value("shm")!, value(runnerUp)!, large)) {
    const margin = `but shared memory measured less than ${Math.round((SHM_MARGIN - 1) * 100)} % ahead of ${runnerUp}, within the noise and not worth its cost: ${runnerUp}`;
    return { ...result, best: runnerUp, margin };
  }
  return result;
}

/** Whether a figure of shared memory beats `other` by {@link SHM_MARGIN} (a rate if `higher`, else a latency). */
function clearlyBetter(shm: number, other: number, higher: boolean): boolean {
  return higher ? shm >= other * SHM_MARGIN : shm * SHM_MARGIN <= other;
}

/** Decides among local mechanisms; `needs` has defaults applied. */
function local(needs: Required<Needs>, m: Measurements): Omit<Choice, "example" | "source"> {
  const large = needs.messageSize >= LARGE_MESSAGE;
  const alternatives: { scheme: ChoiceScheme; when: string }[] = [];
  if (needs.crossLanguage) {
    // Every language can open a socket or use stdio and read a 4-byte length; the shm ring needs code
    // written against docs/wire.md, so it is an alternative, not the default.
    const scheme: Scheme = needs.parentChild ? "pipe" : "unix";
    alternatives.push({ scheme: "shm", when: "latency or bandwidth is critical and you can implement the ring of docs/wire.md in the other language" });
    return {
      scheme,
      reasons: [
        "the other side is another language: every language can read stdio or a Unix socket with a 4-byte big-endian length before each message (docs/wire.md)",
        needs.parentChild
          ? "one process starts the other: its stdin/stdout is already the channel, with no address to agree on"
          : "the processes are unrelated: a socket file has an address and file permissions, and the peer's uid/pid is known",
      ],
      alternatives,
    };
  }
  if (large || needs.latencyCritical) {
    const candidates: Scheme[] = needs.parentChild ? ["shm", "unix", "pipe"] : ["shm", "unix"];
    // Critical latency is decided by the round trip at the message's size (1 MiB round trips too); large data
    // that is not latency-critical by the throughput.
    const byThroughput = large && !needs.latencyCritical;
    const { best, line, margin } = fastest(candidates, byThroughput, needs.messageSize, m);
    for (const s of candidates)
      if (s !== best)
        alternatives.push({
          scheme: s,
          when: s === "pipe" ? "simplicity matters more than speed" : "the measured gap is small on your machine (run ipc bench)",
        });
    const reasons = [byThroughput ? `messages of ${needs.messageSize} bytes are large data` : "latency is critical", line];
    if (margin !== undefined) reasons.push(margin);
    return { scheme: best, reasons, alternatives };
  }
  if (needs.parentChild) {
    alternatives.push({ scheme: "unix", when: "other processes must connect too, or the child outlives its parent" });
    return {
      scheme: "pipe",
      reasons: [
        "one process starts the other: its stdin/stdout is already the channel — no address, no file to clean up, and the child's exit ends the connection",
        `a round trip costs ${micros(m.schemes.pipe?.roundTripP50Us)} (p50, 64 B), enough unless latency is critical`,
      ],
      alternatives,
    };
  }
  alternatives.push({ scheme: "shm", when: "messages grow large or latency becomes critical" });
  alternatives.push({ scheme: "fifo", when: "the peer can only open files (a FIFO pair; no peer credentials)" });
  return {
    scheme: "unix",
    reasons: [
      "the processes are unrelated and on one machine: a Unix socket has an address, 0600 permissions and the peer's pid/uid/gid",
      `a round trip costs ${micros(m.schemes.unix?.roundTripP50Us)} (p50, 64 B) against ${micros(m.schemes.tcp?.roundTripP50Us)} over loopback TCP`,
    ],
    alternatives,
  };
}

/**
 * Recommends a transport for `needs`: work shared by several workers or messages that must survive restarts,
 * NATS (@ipc/nats); across machines, TCP; large data or critical latency, whichever local
 * mechanism the measurements say is fastest at that message size (shared memory only where it wins); parent
 * and child, a pipe; otherwise a Unix socket. Every reason says which number decided it.
 * Throws `InvalidArgumentError` for a `messageSize` that is not a number of bytes ≥ 0.
 */
export function choose(needs: Needs = {}, options?: ChooseOptions): Choice {
  const m = options?.measurements ?? REFERENCE_MEASUREMENTS;
  const size = needs.messageSize;
  if (size !== undefined && (typeof size !== "number" || !Number.isFinite(size) || size < 0)) {
    throw new InvalidArgumentError(`choose(): messageSize must be a number of bytes ≥ 0, got ${String(size)}`);
  }
  const full: Required<Needs> = {
    sameHost: needs.sameHost ?? true,
    parentChild: needs.parentChild ?? false,
    messageSize: needs.messageSize ?? 1024,
    latencyCritical: needs.latencyCritical ?? false,
    crossLanguage: needs.crossLanguage ?? false,
    sharedWork: needs.sharedWork ?? false,
    durable: needs.durable ?? false,
  };
  if (full.durable || full.sharedWork) {
    return {
      scheme: "nats",
      example: EXAMPLES.nats,
      reasons: [
        full.durable
          ? "messages must survive restarts: a durable channel on NATS JetStream (file storage) keeps them; a socket, a ring or a reliable session holds them only while both processes live"
          : "several workers share the calls: a NATS queue group hands each call to one of them, wherever they run, with no broker to write",
        full.sameHost
          ? "on one machine, serveLocalFirst() and connectService() of @ipc/nats call over the local Unix socket or shared memory, and over NATS only from elsewhere"
          : "install nats-server (one binary; Debian: apt-get install nats-server) and @ipc/nats",
      ],
      alternatives: full.durable ? [] : [{ scheme: full.sameHost ? "unix" : "tcp", when: "one server process is enough" }],
      source: m.source,
    };
  }
  if (!full.sameHost) {
    return {
      scheme: "tcp",
      example: EXAMPLES.tcp,
      reasons: [
        "the processes are on different machines: of these mechanisms only TCP crosses the network",
        "use the tls option (mutual TLS with requestCert) outside a trusted network",
      ],
      alternatives: [{ scheme: "nats", when: "several workers share the calls, messages must survive restarts, or processes come and go (@ipc/nats)" }],
      source: m.source,
    };
  }
  const decision = local(full, m);
  return { ...decision, example: EXAMPLES[decision.scheme], source: m.source };
}
