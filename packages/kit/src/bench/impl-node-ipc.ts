/**
 * node-ipc 12 (pinned exactly: earlier releases shipped malicious code), its default JSON messages over a
 * Unix socket, as its README shows: `ipc.serve()` / `ipc.connectTo()` and events.
 */
import { once } from "node:events";
import { join } from "node:path";
import type { Socket } from "node:net";
import type { Implementation } from "./impl.js";
import { Sampler, now, rates, warmedStream } from "./measure.js";

/** The part of node-ipc's singleton used here (the package has no typings). */
interface NodeIpc {
  config: { id: string; silent: boolean; retry: number; maxRetries: number | boolean };
  serve(path: string, callback: () => void): void;
  server: {
    on(event: string, handler: (data: string, socket: Socket) => void): void;
    emit(socket: Socket, event: string, data: unknown): void;
    start(): void;
  };
  connectTo(id: string, path: string, callback: () => void): void;
  of: Record<string, { on(event: string, handler: (data: string) => void): void; emit(event: string, data: unknown): void; socket: Socket }>;
}

const NODE_IPC = "node-ipc"; // a variable: the package has no typings for TypeScript to resolve

async function load(): Promise<NodeIpc> {
  const ipc = ((await import(NODE_IPC)) as { default: NodeIpc }).default;
  ipc.config.silent = true;
  ipc.config.retry = 50;
  return ipc;
}

export const nodeIpc: Implementation = {
  async peer(spec) {
    const ipc = await load();
    ipc.config.id = "bench";
    let started!: () => void;
    const ready = new Promise<void>((resolve) => (started = resolve));
    ipc.serve(join(spec.dir, "n.sock"), () => {
      started();
      let count = 0;
      ipc.server.on("m", (data, socket) => {
        if (spec.kind === "rtt") ipc.server.emit(socket, "m", data);
        else count++;
      });
      ipc.server.on("end", (_data, socket) => {
        ipc.server.emit(socket, "count", count);
        count = 0;
      });
    });
    ipc.server.start();
    await ready;
    process.stdout.write("ready\n");
  },

  async run(spec) {
    const ipc = await load();
    ipc.config.id = "client";
    await new Promise<void>((resolve) => ipc.connectTo("bench", join(spec.dir, "n.sock"), () => ipc.of.bench!.on("connect", () => resolve())));
    const server = ipc.of.bench!;
    const data = "a".repeat(spec.size);
    try {
      if (spec.kind === "rtt") {
        const sampler = new Sampler(spec.duration);
        return await new Promise((resolve) => {
          server.on("m", () => {
            if (!sampler.end()) return resolve(sampler.result());
            sampler.begin();
            server.emit("m", data);
          });
          sampler.begin();
          server.emit("m", data);
        });
      }
      const counted = new Promise<number>((resolve) => server.on("count", (n) => resolve(Number(n))));
      const { sent, measured, start } = await warmedStream(spec.duration, spec.size >= 16_384 ? 1 : 64, async (batch) => {
        for (let i = 0; i < batch; i++) server.emit("m", data);
        // node-ipc has no backpressure of its own: wait for the socket, or memory grows without bound.
        if (server.socket.writableNeedDrain) await once(server.socket, "drain");
      });
      server.emit("end", null);
      const received = await counted;
      const took = now() - start;
      if (received !== sent) throw new Error(`sent ${sent} messages, node-ipc's server counted ${received}`);
      return rates(measured, spec.size, took);
    } finally {
      server.socket.destroy();
    }
  },
};
