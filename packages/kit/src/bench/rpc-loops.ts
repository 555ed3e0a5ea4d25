/**
 * The RPC measurement, the same for every library: half the time one call at a time (latency), half the
 * time {@link CONCURRENT_CALLS} calls in flight (calls per second). Each call echoes a `size`-byte payload.
 */
import { elapsed, now, roundTrips, type Metrics } from "./measure.js";
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
  let calls = 0;
  const start = now();
  const half = spec.duration / 2;
  await Promise.all(
    Array.from({ length: CONCURRENT_CALLS }, async () => {
      while (!elapsed(start, half)) {
        await call();
        calls++;
      }
    }),
  );
  const seconds = (now() - start) / 1e9;
  return { ...latency, perSecond: calls / seconds, bytesPerSecond: (calls * spec.size) / seconds };
}
