/**
 * The RPC conformance suite: @ipc/rpc over one transport, from a fixture — calls, streams with flow
 * control, deadlines and cancellation, limits, interceptors, shutdown, and a server in a child process.
 * @ipc/rpc's own tests run it over every transport (../conformance.test.ts, ../transports-*.test.ts):
 *
 * ```ts
 * import { runRpcConformance } from "./conformance/index.js";
 * runRpcConformance({ name: "memory", address: () => `memory://rpc-${++n}`, listen, connect });
 * ```
 *
 * Cases a fixture cannot support are skipped by name, with the missing part in the test's title. It imports
 * @ipc/rpc by its name (in tests, its sources; in the worker program, its dist/), never its files.
 */
import { Resources } from "@ipc/testing";
import { afterEach, describe } from "vitest";
import { callCases } from "./cases/calls.js";
import { deadlineCases } from "./cases/deadlines.js";
import { interceptorCases } from "./cases/interceptors.js";
import { lifecycleCases } from "./cases/lifecycle.js";
import { limitCases } from "./cases/limits.js";
import { streamCases } from "./cases/streams.js";
import { workerCases } from "./cases/worker.js";
import type { RpcConformanceFixture } from "./fixture.js";
import type { RpcContext } from "./harness.js";

export type { RpcConformanceFixture, RpcWorkerCapability, WorkerProcess } from "./fixture.js";
export { TEST_PROTO, createTestService, testService, type TestMethods, type TestService } from "./service.js";
export { rawRequest, readRaw, type RawEnvelope } from "./raw.js";

/** Defines the RPC suite for `fixture` (call it at the top level of a vitest test file). */
export function runRpcConformance(fixture: RpcConformanceFixture): void {
  // A generous limit for every case (see runConformance): it only guards against a hang, whatever the
  // caller's vitest config says.
  describe(`rpc conformance: ${fixture.name}`, { timeout: 60_000 }, () => {
    let current: RpcContext | undefined;
    const ctx = (): RpcContext => {
      current ??= { fixture, resources: new Resources() };
      return current;
    };
    afterEach(async () => {
      const finished = current;
      current = undefined;
      await finished?.resources.release();
      await fixture.teardown?.();
    }, 60_000);
    callCases(fixture, ctx);
    streamCases(fixture, ctx);
    deadlineCases(fixture, ctx);
    limitCases(fixture, ctx);
    interceptorCases(fixture, ctx);
    lifecycleCases(fixture, ctx);
    workerCases(fixture, ctx);
  });
}
