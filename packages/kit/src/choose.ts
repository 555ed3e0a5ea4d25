/**
 * `choose(needs)`: which transport to use, and why — the seed's decision tree (§6, §8 Q1), with the
 * performance branches decided by measured numbers rather than by folklore.
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
}

/** Options of {@link choose}. */
export interface ChooseOptions {
  /**
   * The numbers to decide by. Default: {@link REFERENCE_MEASUREMENTS} (measured by `ipc bench` on the
   * toolkit's development machine); pass `measurementsFrom(JSON.parse(readFileSync("…/latest.json")))`
   * to decide by this machine's.
   */
  readonly measurements?: Measurements | undefined;
}

/** The recommendation. */
export interface Choice {
  /** The scheme to use. */
  readonly scheme: Scheme;
  /** An example address of that scheme. */
  readonly example: string;
  /** Why, one sentence each, with the numbers that decided it. */
  readonly reasons: readonly string[];
  /** What else would work, and when to prefer it. */
  readonly alternatives: readonly { readonly scheme: Scheme; readonly when: string }[];
  /** Where the numbers in `reasons` come from. */
  readonly source: string;
}

/** Messages at least this big count as "large data" (the seed's "high-performance big data" branch). */
export const LARGE_MESSAGE = 64 * 1024;

const EXAMPLES: Readonly<Record<Scheme, string>> = {
  unix: "unix:///run/user/1000/app.sock",
  "unix-abstract": "unix-abstract:app",
  tcp: "tcp://10.0.0.2:7000",
  shm: "shm://app",
  fifo: "fifo:///run/user/1000/app",
  pipe: "pipe:/usr/bin/worker?arg=--serve",
  memory: "memory://app",
};

function micros(value: number | undefined): string {
  return value === undefined ? "not measured" : `${value < 10 ? value.toFixed(1) : value.toFixed(0)} µs`;
}

function rate(value: number | undefined): string {
  return value === undefined ? "not measured" : `${(value / 1e6).toFixed(0)} MB/s`;
}

/** The candidate a measurement favours: lowest p50 round trip, or highest throughput for large messages. */
function fastest(candidates: readonly Scheme[], large: boolean, m: Measurements): { best: Scheme; line: string } {
  const score = (s: Scheme): number => {
    const n = m.schemes[s];
    return large ? (n?.bytesPerSecond ?? 0) : -(n?.roundTripP50Us ?? Infinity);
  };
  const ranked = [...candidates].sort((a, b) => score(b) - score(a));
  const best = ranked[0]!;
  const line = ranked
    .map((s) => `${s} ${large ? rate(m.schemes[s]?.bytesPerSecond) : micros(m.schemes[s]?.roundTripP50Us)}`)
    .join(", ");
  return {
    best,
    line: large
      ? `for ${LARGE_MESSAGE / 1024} KiB messages it moves the most data: ${line}`
      : `it has the lowest round-trip latency (p50, 64 B): ${line}`,
  };
}

/** Decides among local mechanisms; `needs` has defaults applied. */
function local(needs: Required<Needs>, m: Measurements): Omit<Choice, "example" | "source"> {
  const large = needs.messageSize >= LARGE_MESSAGE;
  const alternatives: { scheme: Scheme; when: string }[] = [];
  if (needs.crossLanguage) {
    // Every language can open a socket or use stdio and read a 4-byte length; the shm ring needs code
    // written against docs/wire.md, so it is an alternative, not the default.
    const scheme: Scheme = needs.parentChild ? "pipe" : "unix";
    alternatives.push({ scheme: "shm", when: "latency or bandwidth is critical and you can implement the ring of docs/wire.md in the other language" });
    return {
      scheme,
      reasons: [
        "the other side is another language: every language can read stdio or a Unix socket with a 4-byte big-endian length before each message (docs/wire.md)",
        needs.parentChild ? "one process starts the other: its stdin/stdout is already the channel, with no address to agree on" : "the processes are unrelated: a socket file has an address and file permissions, and the peer's uid/pid is known",
      ],
      alternatives,
    };
  }
  if (large || needs.latencyCritical) {
    const candidates: Scheme[] = needs.parentChild ? ["shm", "unix", "pipe"] : ["shm", "unix"];
    const { best, line } = fastest(candidates, large, m);
    for (const s of candidates) if (s !== best) alternatives.push({ scheme: s, when: s === "pipe" ? "simplicity matters more than speed" : "the measured gap is small on your machine (run ipc bench)" });
    return { scheme: best, reasons: [large ? `messages of ${needs.messageSize} bytes are large data` : "latency is critical", line], alternatives };
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
 * Recommends a transport for `needs`, following the seed's decision tree: across machines, TCP; large data
 * or critical latency, whichever local mechanism the measurements say is fastest (shared memory where it
 * wins); parent and child, a pipe; otherwise a Unix socket. Every reason says which number decided it.
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
  };
  if (!full.sameHost) {
    return {
      scheme: "tcp",
      example: EXAMPLES.tcp,
      reasons: [
        "the processes are on different machines: of these mechanisms only TCP crosses the network",
        "use the tls option (mutual TLS with requestCert) outside a trusted network",
      ],
      alternatives: [],
      source: m.source,
    };
  }
  const decision = local(full, m);
  return { ...decision, example: EXAMPLES[decision.scheme], source: m.source };
}
