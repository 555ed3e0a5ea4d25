/**
 * A pool of worker processes on NATS: three processes serve the same protobuf service in one NATS queue
 * group, and the calls of one client are shared between them — no broker to write, no worker list to
 * keep: start a fourth on another machine and it takes its share.
 *
 *   pnpm example nats-worker-pool        (uses NATS_URL, or starts nats-server on a free port)
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { createNatsClient, serveNats } from "@ipc/nats";
import { loadService, protobuf, type Unary } from "@ipc/rpc";
import { natsServer, natsServerInstalled } from "./lib/nats-server.js";

const PRIMES_PROTO = `
syntax = "proto3";
package pool;
service Primes { rpc Count (CountRequest) returns (CountReply); }
message CountRequest { uint32 limit = 1; }
message CountReply { uint32 count = 1; int32 worker = 2; }
`;
type PrimesMethods = { readonly count: Unary<{ limit: number }, { count: number; worker: number }> };
const Primes = loadService<PrimesMethods>(protobuf.parse(PRIMES_PROTO).root, "pool.Primes");

function countPrimes(limit: number): number {
  const composite = new Uint8Array(limit);
  let count = 0;
  for (let n = 2; n < limit; n++) {
    if (composite[n]) continue;
    count++;
    for (let m = n * n; m < limit; m += n) composite[m] = 1;
  }
  return count;
}

if (process.argv[2] === "worker") {
  // A worker: serve until the parent closes our stdin.
  const nc = await connect({ servers: process.argv[3]! });
  const server = serveNats(nc, Primes, { count: ({ limit }) => ({ count: countPrimes(limit), worker: process.pid }) });
  await nc.flush();
  process.stdout.write("ready\n");
  process.stdin.resume();
  await once(process.stdin, "end");
  await server.close({ timeout: 5000 });
  await nc.close();
} else if (!natsServerInstalled() && !process.env.NATS_URL) {
  console.log("this example needs a NATS server: set NATS_URL, or install nats-server (Debian: apt-get install nats-server)");
} else {
  const nats = await natsServer();
  const workers = Array.from({ length: 3 }, () =>
    spawn(process.execPath, [fileURLToPath(import.meta.url), "worker", nats.url], { stdio: ["pipe", "pipe", "inherit"] }),
  );
  // Each worker says "ready" once NATS knows its subscription.
  await Promise.all(workers.map((w) => once(w.stdout!, "data")));
  const nc = await connect({ servers: nats.url });
  const primes = createNatsClient(Primes, nc);
  const limits = Array.from({ length: 30 }, (_, i) => 200_000 + i * 10_000);
  const replies = await Promise.all(limits.map((limit) => primes.count({ limit }, { timeout: 30_000 })));
  console.log(`primes below ${limits[0]}: ${replies[0]!.count}`);
  console.log(`primes below ${limits[29]}: ${replies[29]!.count}`);
  const byWorker = new Map<number, number>();
  for (const { worker } of replies) byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1);
  console.log(`${replies.length} calls answered by ${byWorker.size} of ${workers.length} workers: ${[...byWorker.values()].join(" + ")}`);
  await primes.close();
  await nc.close();
  for (const w of workers) w.stdin!.end();
  const codes = await Promise.all(workers.map(async (w) => (w.exitCode ?? (await once(w, "exit"))[0]) as number));
  console.log(`workers exited with codes ${codes.join(", ")}`);
  nats.stop();
}
