/**
 * Deadlines and cancellation, on both sides of a Unix socket: the caller gets DEADLINE_EXCEEDED or
 * CANCELLED at once, without waiting for the server, and the server's handler sees its AbortSignal abort
 * (the deadline travels with the request; a cancel message crosses the wire) and stops working.
 *
 *   pnpm example rpc-cancel-deadline
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { RpcError, createClient, loadService, protobuf, serve, type ServerStream, type Unary } from "@ipc/rpc";
import { connect, listen } from "@ipc/unix";

const SLOW_PROTO = `
syntax = "proto3";
package slow;

service Slow {
  // Squares n after ms milliseconds.
  rpc Square (SquareRequest) returns (SquareReply);
  // One tick every 20 ms, until cancelled.
  rpc Ticks (Empty) returns (stream Tick);
}

message SquareRequest { int32 n = 1; uint32 ms = 2; }
message SquareReply { int32 value = 1; }
message Empty {}
message Tick { uint32 n = 1; }
`;

const Slow = loadService<{
  readonly square: Unary<{ n: number; ms: number }, { value: number }>;
  readonly ticks: ServerStream<object, { n: number }, object, { n: number }>;
}>(protobuf.parse(SLOW_PROTO).root, "slow.Slow");

const reasonOf = (signal: AbortSignal): string => (signal.reason instanceof RpcError ? signal.reason.status : String(signal.reason));
const dir = mkdtempSync(join(tmpdir(), "ipc-cancel-"));
const address = `unix://${join(dir, "slow.sock")}`;
/** What the handlers saw, printed at the end (their timing relative to the client's lines varies). */
const serverLog: string[] = [];

// The server side: handlers that pass their signal on to what they wait for.
const server = serve(await listen(address), Slow, {
  square: async ({ n, ms }, { signal, deadline }) => {
    console.log(`server: Square(${n}) started ${deadline ? "with the caller's deadline" : "without a deadline"}`);
    const stopped = (): number => serverLog.push(`server: Square(${n}) stopped early: ${reasonOf(signal)}`);
    signal.addEventListener("abort", stopped, { once: true });
    await sleep(ms, undefined, { signal }).catch(() => undefined);
    return { value: n * n };
  },
  ticks: async function* (_request, { signal }) {
    let n = 0;
    try {
      while (!signal.aborted) {
        yield { n: ++n };
        await sleep(20, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      serverLog.push(`server: Ticks stopped after ${n} ticks: ${reasonOf(signal)}`);
    }
  },
});

const client = createClient(Slow, await connect(address, { timeout: 5000 }));

// 1. A deadline: the call gives up at 100 ms; the handler, told the deadline, stops too.
const started = Date.now();
try {
  await client.square({ n: 7, ms: 5000 }, { timeout: 100 });
} catch (error) {
  const waited = Date.now() - started;
  const after = waited < 1000 ? "about 100 ms" : `${waited} ms`;
  console.log(`client: Square(7) failed with ${(error as RpcError).status} after ${after}, not 5 s`);
}

// 2. Cancellation: stop reading a stream with an AbortController; the server's generator ends.
const controller = new AbortController();
try {
  for await (const tick of client.ticks({}, { signal: controller.signal })) {
    console.log(`client: tick ${tick.n}`);
    if (tick.n === 3) controller.abort(new Error("the user pressed stop"));
  }
} catch (error) {
  const rpcError = error as RpcError;
  console.log(`client: Ticks failed with ${rpcError.status} (cause: ${(rpcError.cause as Error).message})`);
}

// 3. The connection goes on: a call in time succeeds.
console.log(`client: Square(9) = ${(await client.square({ n: 9, ms: 10 }, { timeout: 1000 })).value}`);

// Both handlers have stopped by now, or do within a few turns of the event loop.
for (let i = 0; i < 100 && serverLog.length < 2; i++) await sleep(10);
for (const line of serverLog.sort()) console.log(line);
await client.close({ timeout: 1000 });
await server.close({ timeout: 1000 });
rmSync(dir, { recursive: true, force: true });
