/**
 * What a bench worker process is told to do (one JSON argument), and the subjects it can measure.
 */

/** A round trip (latency), a one-way stream (throughput and message rate), or RPC calls. */
export type Kind = "rtt" | "stream" | "rpc";

/** Ours, the raw Node way of doing the same, or another library. */
export type Family = "ours" | "baseline" | "peer";

/** Something `ipc bench` measures. */
export interface Subject {
  /** Its id on the worker's command line and in the JSON results. */
  readonly id: string;
  /** What the table calls it. */
  readonly label: string;
  readonly family: Family;
  /** The `--transports` name that selects it. */
  readonly transport: string;
  readonly kinds: readonly Kind[];
  /** The subject whose numbers its ratio is taken against (the raw Node way of doing the same). */
  readonly baseline?: string;
  /** The npm package it needs (peers only: optional peer dependencies of @ipc/kit). */
  readonly needs?: readonly string[];
}

const MESSAGES: readonly Kind[] = ["rtt", "stream"];

/** Every subject, in table order. */
export const SUBJECTS: readonly Subject[] = [
  { id: "unix", label: "@ipc unix:", family: "ours", transport: "unix", kinds: MESSAGES, baseline: "raw-unix" },
  { id: "raw-unix", label: "raw node:net, Unix socket", family: "baseline", transport: "unix", kinds: MESSAGES },
  { id: "tcp", label: "@ipc tcp:", family: "ours", transport: "tcp", kinds: MESSAGES, baseline: "raw-tcp" },
  { id: "raw-tcp", label: "raw node:net, TCP loopback", family: "baseline", transport: "tcp", kinds: MESSAGES },
  { id: "shm", label: "@ipc shm:", family: "ours", transport: "shm", kinds: MESSAGES, baseline: "raw-unix" },
  { id: "pipe", label: "@ipc pipe: (child stdio)", family: "ours", transport: "pipe", kinds: MESSAGES, baseline: "raw-stdio" },
  { id: "raw-stdio", label: "raw Node child stdio", family: "baseline", transport: "pipe", kinds: MESSAGES },
  { id: "fifo", label: "@ipc fifo:", family: "ours", transport: "fifo", kinds: MESSAGES, baseline: "raw-stdio" },
  { id: "memory", label: "@ipc memory: (one process)", family: "ours", transport: "memory", kinds: MESSAGES },
  { id: "zeromq", label: "zeromq.js PAIR, ipc://", family: "peer", transport: "unix", kinds: MESSAGES, baseline: "raw-unix", needs: ["zeromq"] },
  { id: "node-ipc", label: "node-ipc 12, Unix socket", family: "peer", transport: "unix", kinds: MESSAGES, baseline: "raw-unix", needs: ["node-ipc"] },
  { id: "rpc", label: "@ipc/rpc over unix:", family: "ours", transport: "rpc", kinds: ["rpc"], baseline: "raw-unix" },
  { id: "vscode-jsonrpc", label: "vscode-jsonrpc, Unix socket", family: "peer", transport: "rpc", kinds: ["rpc"], baseline: "raw-unix", needs: ["vscode-jsonrpc"] },
  { id: "grpc-js", label: "@grpc/grpc-js, Unix socket", family: "peer", transport: "rpc", kinds: ["rpc"], baseline: "raw-unix", needs: ["@grpc/grpc-js", "@grpc/proto-loader"] },
];

/** The `--transports` names, in order. */
export const TRANSPORTS = ["unix", "tcp", "shm", "pipe", "fifo", "memory", "rpc"] as const;

/** The `--vs` names of the other libraries. */
export const PEERS = SUBJECTS.filter((s) => s.family === "peer").map((s) => s.id);

/** One run of one case in one worker process. */
export interface CaseSpec {
  readonly subject: string;
  readonly kind: Kind;
  /** Payload bytes per message. */
  readonly size: number;
  /** How long to measure, in milliseconds. */
  readonly duration: number;
  /** A fresh directory for sockets and FIFOs, removed afterwards. */
  readonly dir: string;
  /** CPUs to pin the measuring process and its peer to (taskset), when pinning. */
  readonly cpu?: string | undefined;
  readonly peerCpu?: string | undefined;
}

export function subjectOf(id: string): Subject {
  const found = SUBJECTS.find((s) => s.id === id);
  if (found === undefined) throw new Error(`unknown bench subject '${id}'`);
  return found;
}

/** Subjects whose serving side is not a peer process: a child on stdio, or the same process. */
export const SERVED_WITHOUT_PEER: ReadonlySet<string> = new Set(["pipe", "raw-stdio", "memory"]);
