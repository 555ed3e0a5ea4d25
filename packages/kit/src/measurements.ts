/**
 * The numbers `choose()` decides by: per scheme, the round-trip latency of small messages and the
 * throughput of large ones, as `ipc bench` measures them. {@link REFERENCE_MEASUREMENTS} are the
 * development machine's; {@link measurementsFrom} reads a machine's own from `ipc bench`'s JSON.
 */
import type { Scheme } from "@ipc/core";
import { find, summary, type BenchResults } from "./bench/results.js";

/** One scheme's numbers. */
export interface SchemeNumbers {
  /** Round trip of a 64-byte message, median, microseconds. */
  readonly roundTripP50Us?: number | undefined;
  /** One-way throughput of 64 KiB messages, bytes per second. */
  readonly bytesPerSecond?: number | undefined;
}

/** Numbers per scheme, and where they come from. */
export interface Measurements {
  /** How, where and when they were measured. */
  readonly source: string;
  /** The numbers of each scheme measured (a scheme left out counts as not measured). */
  readonly schemes: Readonly<Partial<Record<Scheme, SchemeNumbers>>>;
}

/**
 * Measured with `ipc bench` (defaults: 3 rounds, 300 ms per case, medians) on the toolkit's development
 * machine: a 2-vCPU AMD EPYC VM shared with other work (load average about 1 during the run), Node.js 20.20,
 * processes pinned to the two CPUs. Absolute values are pessimistic; the order is what `choose()` uses. On another
 * machine, run `ipc bench` and pass its results through {@link measurementsFrom}.
 */
export const REFERENCE_MEASUREMENTS: Measurements = {
  source: "ipc bench on the development machine, 2026-11-27 (2-vCPU AMD EPYC VM under load 1, Node.js 20.20, 3 rounds, medians)",
  schemes: {
    unix: { roundTripP50Us: 140, bytesPerSecond: 1345e6 },
    tcp: { roundTripP50Us: 160, bytesPerSecond: 1123e6 },
    shm: { roundTripP50Us: 2.94, bytesPerSecond: 2549e6 },
    pipe: { roundTripP50Us: 147, bytesPerSecond: 706e6 },
    fifo: { roundTripP50Us: 147, bytesPerSecond: 472e6 },
  },
};

/**
 * The measurements in `ipc bench`'s JSON results (`latest.json`): the round trip at 64 B (or the smallest
 * size measured) and the throughput at 64 KiB (or the largest size measured) of each @ipc transport.
 */
export function measurementsFrom(results: BenchResults): Measurements {
  const sizes = [...results.options.sizes].sort((a, b) => a - b);
  const small = sizes.includes(64) ? 64 : sizes[0]!;
  const large = sizes.includes(65_536) ? 65_536 : sizes.at(-1)!;
  const schemes: Partial<Record<Scheme, SchemeNumbers>> = {};
  for (const scheme of ["unix", "tcp", "shm", "pipe", "fifo", "memory"] as const) {
    const rtt = find(results, scheme, "rtt", small);
    const stream = find(results, scheme, "stream", large);
    if (rtt === undefined && stream === undefined) continue;
    schemes[scheme] = {
      roundTripP50Us: rtt === undefined ? undefined : summary(rtt, "p50Us")?.median,
      bytesPerSecond: stream === undefined ? undefined : summary(stream, "bytesPerSecond")?.median,
    };
  }
  const e = results.environment;
  return { source: `ipc bench, ${e.date} (${e.cpus}× ${e.cpuModel}, Node.js ${e.node}, ${results.options.rounds} rounds, medians)`, schemes };
}
