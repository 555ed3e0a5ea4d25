/**
 * @ipc/bench: the one benchmark harness of @ipc — every transport and layer against raw Node on the same
 * mechanism, measured in the same run, in two scheduling regimes, with a self-check of its own baselines.
 *
 * - {@link runBench}: runs a profile (`"full"`: what `pnpm bench` runs; `"quick"`: what `ipc bench` runs),
 *   with progress and an AbortSignal; resolves with everything measured ({@link BenchRun}).
 * - {@link writeResults}: latest.json / latest.md / latest.svg / measurements.json; {@link textReport},
 *   {@link markdownReport}, {@link chart} for the same as strings.
 * - {@link measurementsOf}: the figures `choose()` of @ipc/kit decides by.
 *
 * It never imports @ipc/kit (kit's `ipc bench` imports this). Other libraries (zeromq, node-ipc,
 * vscode-jsonrpc, @grpc/grpc-js) are loaded only when asked for (`peers`), and are skipped, with a message
 * naming the package to install, when absent. docs/benchmarks.md describes the cases and the JSON.
 *
 * @packageDocumentation
 */
export type { Budget, Metrics, MetricSpec, Regime, Role, Target } from "./lib/case.js";
export { REGIMES } from "./lib/case.js";
export { BenchAbortedError, PEERS, PROFILES, runBench, type BenchRun, type ProfileName, type Progress, type RunOptions } from "./lib/runner.js";
export type { Check, Row } from "./lib/rows.js";
export { markdownReport, markdownTable, notes, summaryLine, textReport, textTable } from "./lib/report.js";
export { chart } from "./lib/svg.js";
export { mechanismBlock, replaceBlock, targetsBlock, writeMeasurements, writeResults } from "./lib/files.js";
export { measurementsOf, mechanismTable, type Measurements, type SchemeNumbers, type SizeNumbers } from "./lib/measurements.js";
export { progressReporter } from "./lib/progress.js";
export { TRANSPORT_TITLES } from "./lib/titles.js";
export { parseSize, sizeText } from "./lib/sizes.js";
