/**
 * The RPC measurement, the same for every library: half the time one call at a time (latency), half the
 * time {@link CONCURRENT_CALLS} calls in flight (calls per second). Each call echoes a `size`-byte payload.
 */
import { elapsed, now, roundTrips, warmupMs, type Metrics } from "./measure.js";
import type { CaseSpec } from "./spec.js";

/** Calls kept in flight while measuring calls per second. */
export const CONCURRENT_CALLS = 32;

/** The echo service of the RPC cases, for the libraries that read .proto files. */
export const BENCH_PROTO = `syntax = "proto3";
package ipcbench;
message Blob { bytes data = 1; }
service Bench { rpc Echo (Blob) returns (Blob); }
`;

export async function measureCalls(spec: CaseSpec, call: () => Promise<unknown>): Promise<Metrics> {
  const latency = await roundTrips(spec.duration / 2, call);
  await concurrently(call, warmupMs(spec.duration / 2)); // unmeasured: the concurrent path warms up too
  const start = now();
  const calls = await concurrently(call, spec.duration / 2);
  const seconds = (now() - start) / 1e9;
  return { ...latency, perSecond: calls / seconds, bytesPerSecond: (calls * spec.size) / seconds };
}

/** Keeps {@link CONCURRENT_CALLS} calls in flight for `durationMs`; returns how many completed. */
async function concurrently(call: () => Promise<unknown>, durationMs: number): Promise<number> {
  let calls = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: CONCURRENT_CALLS }, async () => {
      while (!elapsed(start, durationMs)) {
        await call();
        calls++;
      }
    }),
  );
  return calls;
}
