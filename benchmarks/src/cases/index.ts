import type { BenchCase, MetricSpec, Target } from "../lib/case.js";
import { codecCases } from "./codec.js";
import { unixCases } from "./unix.js";

/** Every case, in table order. */
export const cases: BenchCase[] = [...codecCases, ...unixCases];

/** How each metric is shown. */
export const metrics: Record<string, MetricSpec> = {
  "frames/s": { name: "frames/s", unit: "M frames/s", higherIsBetter: true, scale: 1e6 },
  "msgs/s": { name: "msgs/s", unit: "M msgs/s", higherIsBetter: true, scale: 1e6 },
  "bytes/s": { name: "bytes/s", unit: "GB/s", higherIsBetter: true, scale: 1e9 },
  "p50 µs": { name: "p50 µs", unit: "µs p50", higherIsBetter: false },
  "p99 µs": { name: "p99 µs", unit: "µs p99", higherIsBetter: false },
};

/** The targets of the issues, checked in every report. */
export const targets: Target[] = [
  { group: "decode 64 B frames, 64 KiB chunks", metric: "frames/s", absolute: 10e6, text: "≥ 10 M frames/s" },
  { group: "decode 64 KiB frames, 64 KiB chunks", metric: "bytes/s", absolute: 5e9, text: "≥ 5 GB/s" },
  { group: "Unix socket round trip, 64 B", metric: "p50 µs", ratio: 1.15, text: "≤ 1.15× raw" },
  { group: "Unix socket round trip, 64 B, both on one core", metric: "p50 µs", ratio: 1.15, text: "≤ 1.15× raw" },
  { group: "Unix socket throughput, 64 KiB messages", metric: "bytes/s", ratio: 0.9, text: "≥ 0.9× raw" },
  { group: "Unix socket message rate, 64 B", metric: "msgs/s", absolute: 4e6, text: "≥ 4 M msgs/s" },
];

/** Which metrics each group reports, in column order. */
export const groupMetrics: Record<string, string[]> = {
  "decode 64 B frames, 64 KiB chunks": ["frames/s"],
  "decode 64 KiB frames, 64 KiB chunks": ["bytes/s"],
  "encode 64 B frames": ["frames/s"],
  "encode 64 KiB frames": ["bytes/s"],
  "Unix socket round trip, 64 B": ["p50 µs", "p99 µs"],
  "Unix socket round trip, 64 B, both on one core": ["p50 µs", "p99 µs"],
  "Unix socket throughput, 64 KiB messages": ["bytes/s"],
  "Unix socket message rate, 64 B": ["msgs/s"],
  "memory transport round trip, 64 B": ["p50 µs", "p99 µs"],
};
