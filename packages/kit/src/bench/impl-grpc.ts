/** @grpc/grpc-js with @grpc/proto-loader: the echo service over a Unix socket (HTTP/2), as its docs show. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Implementation } from "./impl.js";
import { BENCH_PROTO, measureCalls } from "./rpc-loops.js";

type Grpc = typeof import("@grpc/grpc-js");
type Unary = (request: { data: Uint8Array }, callback: (error: Error | null, reply?: unknown) => void) => void;
interface BenchClient {
  Echo: Unary;
  close(): void;
}
type BenchClientConstructor = new (address: string, credentials: ReturnType<Grpc["credentials"]["createInsecure"]>, options?: object) => BenchClient;

const LIMITS = { "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 };

async function load(dir: string): Promise<{ grpc: Grpc; Bench: BenchClientConstructor & { service: object } }> {
  const grpc = await import("@grpc/grpc-js");
  const loader = await import("@grpc/proto-loader");
  const file = join(dir, "bench.proto");
  writeFileSync(file, BENCH_PROTO);
  const definition = grpc.loadPackageDefinition(loader.loadSync(file)) as unknown as { ipcbench: { Bench: BenchClientConstructor & { service: object } } };
  return { grpc, Bench: definition.ipcbench.Bench };
}

export const grpc: Implementation = {
  async peer(spec) {
    const { grpc, Bench } = await load(spec.dir);
    const server = new grpc.Server(LIMITS);
    server.addService(Bench.service as Parameters<typeof server.addService>[0], {
      Echo: (call: { request: unknown }, callback: (error: null, reply: unknown) => void) => callback(null, call.request),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${join(spec.dir, "g.sock")}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
    );
    process.stdout.write("ready\n");
  },

  async run(spec) {
    const { grpc, Bench } = await load(spec.dir);
    const client = new Bench(`unix://${join(spec.dir, "g.sock")}`, grpc.credentials.createInsecure(), LIMITS);
    const data = new Uint8Array(spec.size).fill(0x61);
    const echo = (): Promise<unknown> =>
      new Promise((resolve, reject) => client.Echo({ data }, (error, reply) => (error ? reject(error) : resolve(reply))));
    try {
      return await measureCalls(spec, echo);
    } finally {
      client.close();
    }
  },
};
