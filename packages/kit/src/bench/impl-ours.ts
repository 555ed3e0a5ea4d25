/** The @ipc transports, through @ipc/kit's own connect() / listen(), as an application would use them. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_MAX_MESSAGE_SIZE, formatAddress } from "@ipc/core";
import { connect } from "../connect.js";
import { listen } from "../listen.js";
import type { Implementation } from "./impl.js";
import { measureMessages, serveMessages } from "./message-loops.js";
import type { CaseSpec } from "./spec.js";

const worker = fileURLToPath(new URL("./worker.js", import.meta.url));

function options(spec: CaseSpec): { maxMessageSize: number } {
  return { maxMessageSize: Math.max(DEFAULT_MAX_MESSAGE_SIZE, spec.size + 64) };
}

/** Where the peer listens: a fresh name per run, so that runs never meet a leftover. */
function address(spec: CaseSpec): string {
  switch (spec.subject) {
    case "unix":
      return `unix://${join(spec.dir, "s.sock")}`;
    case "tcp":
      return "tcp://127.0.0.1:0";
    case "fifo":
      return `fifo://${join(spec.dir, "f")}`;
    case "shm":
      return `shm://ipc-bench-${process.pid}-${Date.now().toString(36)}`;
    default:
      return `memory://bench`;
  }
}

/** The child process of the pipe subject, pinned with taskset when the spec says so. */
function childUrl(spec: CaseSpec): string {
  const args = [worker, JSON.stringify({ ...spec, role: "child" })];
  if (spec.peerCpu !== undefined && spawnSync("taskset", ["-c", spec.peerCpu, "true"]).status === 0) {
    return formatAddress({ scheme: "pipe", command: "taskset", args: ["-c", spec.peerCpu, process.execPath, ...args] });
  }
  return formatAddress({ scheme: "pipe", command: process.execPath, args });
}

async function serveAll(url: string, spec: CaseSpec, announce: boolean): Promise<void> {
  const listener = await listen(url, options(spec));
  if (announce) process.stdout.write(`ready ${listener.address}\n`);
  void (async () => {
    for await (const connection of listener) void serveMessages(connection, spec).catch(() => connection.abort());
  })();
}

export const ours: Implementation = {
  async peer(spec) {
    await serveAll(address(spec), spec, true);
  },

  async child(spec) {
    const listener = await listen("pipe:", options(spec));
    const connection = (await listener.accept())!;
    await serveMessages(connection, spec);
    await connection.close();
  },

  async run(spec, ready) {
    if (spec.subject === "memory") await serveAll(address(spec), spec, false);
    const url = spec.subject === "pipe" ? childUrl(spec) : spec.subject === "memory" ? address(spec) : ready;
    const connection = await connect(url, { ...options(spec), timeout: 10_000 });
    try {
      return await measureMessages(connection, spec);
    } finally {
      connection.abort();
    }
  },
};
