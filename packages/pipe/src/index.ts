/**
 * Pipes done right on Node.js: child processes, pipelines, message channels to children, FIFOs and pipe
 * capacity (docs/guide.md#pipes-and-pipelines, docs/guide.md#fifos and docs/guide.md#messages-to-a-child).
 *
 * - {@link run}: input written while stdout and stderr are read (never deadlocks), bounded by `maxOutput`,
 *   stopped by `timeout` / `signal`, a typed error on failure.
 * - {@link spawnLines}: stdout and stderr as async iterators of lines, with backpressure.
 * - {@link pipeline}: `a | b | c` with OS pipes between the stages and pipefail semantics.
 * - {@link spawnChannel} / {@link parentChannel}: a framed message `Connection` over a child's stdio, and
 *   {@link pipeTransport} (`pipe:`) behind the transport contract.
 * - {@link mkfifo}, {@link openFifoReader}, {@link openFifoWriter}: FIFOs without blocking the event loop
 *   or holding a threadpool thread, and {@link fifoTransport} (`fifo:`) between unrelated processes.
 * - {@link createPipe}, {@link pipeCapacity}, {@link setPipeCapacity}: real pipes and their size.
 *
 * Linux. Where native calls cannot be made (another platform, or IPC_NATIVE=off), processes, pipelines and
 * channels run over socket pairs made through node:net, and pipe capacity and FIFOs fail with
 * `UnsupportedError` (docs/platforms.md).
 *
 * @packageDocumentation
 */
export { run, type RunOptions, type RunResult } from "./process/run.js";
export { spawnLines, type LineProcess, type SpawnLinesOptions } from "./lines/spawn-lines.js";
export { pipeline, type PipelineOptions, type PipelineResult, type PipelineStage } from "./pipeline/pipeline.js";
export { spawnChannel, type ChildChannel, type SpawnChannelOptions } from "./channel/child.js";
export { parentChannel } from "./channel/parent.js";
export { pipeTransport, type PipeTransport } from "./channel/transport.js";
export { mkfifo, openFifoReader, openFifoWriter, type FifoReaderOptions } from "./fifo/open.js";
export { fifoTransport } from "./fifo/transport.js";
export type { FifoListenOptions } from "./fifo/listener.js";
export {
  createPipe,
  maxPipeCapacity,
  pipeCapacity,
  setPipeCapacity,
  type CreatePipeOptions,
  type PipeEnds,
} from "./native/capacity.js";
export {
  OutputTooLargeError,
  ProcessExitError,
  SpawnError,
  SystemCallError,
  type ExitStatus,
  type StageResult,
} from "./errors.js";
export type { Output, OutputEncoding, ProcessInput } from "./process/io.js";
export { DEFAULT_FORCE_KILL_AFTER, DEFAULT_MAX_OUTPUT, type SpawnOptions } from "./process/options.js";
