/**
 * Every case of `pnpm bench`, merged from one module per package (each package's cases live in their
 * own file: codec.ts, unix.ts, …). Add a module to MODULES to include it.
 */
import type { BenchCase, CaseModule, MetricSpec, Target } from "../lib/case.js";
import { channelCases } from "./channels.js";
import { codec } from "./codec.js";
import { pipeCases } from "./pipe.js";
import { rpcCases } from "./rpc.js";
import { shmCases } from "./shm.js";
import { socketCases } from "./sockets.js";
import { framedOverUnix } from "./unix.js";

const MODULES: readonly CaseModule[] = [codec, framedOverUnix, socketCases, pipeCases, shmCases, rpcCases, channelCases];

/** Every case, in table order. */
export const cases: BenchCase[] = MODULES.flatMap((m) => m.cases);

/** How each metric is shown. */
export const metrics: Record<string, MetricSpec> = Object.assign(
  {
    "frames/s": { name: "frames/s", unit: "M frames/s", higherIsBetter: true, scale: 1e6 },
    "msgs/s": { name: "msgs/s", unit: "M msgs/s", higherIsBetter: true, scale: 1e6 },
    "calls/s": { name: "calls/s", unit: "k calls/s", higherIsBetter: true, scale: 1e3 },
    "bytes/s": { name: "bytes/s", unit: "GB/s", higherIsBetter: true, scale: 1e9 },
    "p50 µs": { name: "p50 µs", unit: "µs p50", higherIsBetter: false },
    "p99 µs": { name: "p99 µs", unit: "µs p99", higherIsBetter: false },
  },
  ...MODULES.map((m) => m.metrics ?? {}),
);

/** The targets of the issues, checked in every report. */
export const targets: Target[] = MODULES.flatMap((m) => m.targets ?? []);

/** Which metrics each group reports, in column order. */
export const groupMetrics: Record<string, string[]> = Object.assign(
  {},
  ...MODULES.map((m) => Object.fromEntries(Object.entries(m.groupMetrics).map(([g, ms]) => [g, [...ms]]))),
);
