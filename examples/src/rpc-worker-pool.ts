/**
 * A pool of worker processes for CPU-bound work: each worker serves a protobuf service to its parent over
 * an @ipc/pipe channel — its own stdin and stdout (the "worker process" pattern) — and the parent sends
 * each call to the least busy worker. Closing a client closes its channel: the worker sees the end, its
 * server stops, and it exits.
 *
 *   pnpm example rpc-worker-pool [workers=3]
 */
import { fileURLToPath } from "node:url";
import { parentChannel, spawnChannel, type ChildChannel } from "@ipc/pipe";
import { createClient, loadService, protobuf, serve, type Client, type Unary } from "@ipc/rpc";

const PRIMES_PROTO = `
syntax = "proto3";
package pool;

service Primes {
  // How many primes are below \`limit\` (a deliberately CPU-bound sieve).
  rpc Count (CountRequest) returns (CountReply);
}

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

/** Workers, each with the calls it is running; a call goes to the worker with the fewest. */
class Pool {
  readonly #workers: { channel: ChildChannel; client: Client<PrimesMethods>; busy: number }[] = [];

  static async start(size: number): Promise<Pool> {
    const pool = new Pool();
    const channels = await Promise.all(
      Array.from({ length: size }, () => spawnChannel(process.execPath, [fileURLToPath(import.meta.url), "worker"], { timeout: 10_000 })),
    );
    for (const channel of channels) pool.#workers.push({ channel, client: createClient(Primes, channel), busy: 0 });
    return pool;
  }

  async count(limit: number): Promise<{ count: number; worker: number }> {
    const worker = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    worker.busy++;
    try {
      return await worker.client.count({ limit }, { timeout: 30_000 });
    } finally {
      worker.busy--;
    }
  }

  /** Closes every client (and its channel): each worker sees the end, finishes, and exits. */
  async close(): Promise<(number | null)[]> {
    await Promise.all(this.#workers.map(({ client }) => client.close({ timeout: 5000 })));
    return Promise.all(this.#workers.map(async ({ channel }) => (await channel.exited).code));
  }
}

if (process.argv[2] === "worker") {
  // A worker: serve its parent until the parent closes the channel (console.log goes to stderr from now on).
  const server = serve(parentChannel(), Primes, {
    count: ({ limit }) => ({ count: countPrimes(limit), worker: process.pid }),
  });
  await server.closed;
} else {
  const size = Number(process.argv[2] ?? 3);
  const pool = await Pool.start(size);
  const limits = Array.from({ length: 12 }, (_, i) => 1_000_000 + i * 250_000);
  const replies = await Promise.all(limits.map((limit) => pool.count(limit)));
  for (const [i, reply] of replies.entries()) console.log(`primes below ${limits[i]}: ${reply.count}`);
  const workers = new Set(replies.map((reply) => reply.worker));
  console.log(`${limits.length} calls answered by ${workers.size} of ${size} workers`);
  const codes = await pool.close();
  console.log(`workers exited with codes ${codes.join(", ")}`);
}
