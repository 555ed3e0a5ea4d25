/** What each subject's module implements (loaded by the worker only for the subject it runs). */
import type { Metrics } from "./measure.js";
import type { CaseSpec } from "./spec.js";

export interface Implementation {
  /**
   * The serving side, in a process of its own (started by the worker, pinned to the peer CPU): listens,
   * writes `ready <address>` on stdout, then echoes (rtt, rpc) or counts (stream) until killed.
   */
  peer?(spec: CaseSpec): Promise<void>;
  /** A child reached over its stdio (pipe subjects): serves on stdin/stdout until its input ends. */
  child?(spec: CaseSpec): Promise<void>;
  /** Measures; `ready` is what the peer printed after "ready ". */
  run(spec: CaseSpec, ready: string): Promise<Metrics>;
}

/** The implementation of `subject`, imported on demand so a worker loads only the libraries it measures. */
export async function implementation(subject: string): Promise<Implementation> {
  switch (subject) {
    case "unix":
    case "tcp":
    case "shm":
    case "fifo":
    case "pipe":
    case "memory":
      return (await import("./impl-ours.js")).ours;
    case "raw-unix":
    case "raw-tcp":
    case "raw-stdio":
      return (await import("./impl-raw.js")).raw;
    case "zeromq":
      return (await import("./impl-zeromq.js")).zeromq;
    case "node-ipc":
      return (await import("./impl-node-ipc.js")).nodeIpc;
    case "rpc":
      return (await import("./impl-rpc.js")).ipcRpc;
    case "vscode-jsonrpc":
      return (await import("./impl-jsonrpc.js")).jsonRpc;
    case "grpc-js":
      return (await import("./impl-grpc.js")).grpc;
    default:
      throw new Error(`unknown bench subject '${subject}'`);
  }
}
