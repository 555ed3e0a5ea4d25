/**
 * The conformance suite: every transport proves the whole {@link Connection} contract with one call,
 * from a ~15-line test file that supplies a {@link ConformanceFixture}.
 *
 * ```ts
 * import { runConformance } from "@ipc/conformance";
 * runConformance({ name: "memory", address: () => `memory://t${++n}`, listen, connect, capabilities: { peerCredentials: true } });
 * ```
 *
 * Cases a transport cannot support are skipped by name, with the missing capability in the test's title.
 *
 * @packageDocumentation
 */
import { afterEach, describe } from "vitest";
import type { Connection } from "@ipc/core";
import { batchCases } from "./cases/batch.js";
import { channelCases } from "./cases/channels.js";
import { crossProcessCases } from "./cases/cross-process.js";
import { endReasonCases } from "./cases/end-reasons.js";
import { faultCases } from "./cases/faults.js";
import { interopCases } from "./cases/interop.js";
import { lifecycleCases } from "./cases/lifecycle.js";
import { messagingCases } from "./cases/messaging.js";
import { sharedRuleCases } from "./cases/shared-rules.js";
import { viewCases } from "./cases/views.js";
import type { ConformanceFixture } from "./fixture.js";
import { Resources, type Context } from "./harness.js";

export type { ConformanceCapabilities, ConformanceFixture } from "./fixture.js";
export type {
  ChannelLayers,
  ChannelMux,
  ChannelMuxStream,
  ChannelPublisher,
  ChannelSession,
  ChannelSessionListener,
  ChannelSubscription,
} from "./channel-layers.js";
export { rawFrame } from "./cases/raw.js";
export type { Connection };

/** Defines the suite for `fixture` (call it at the top level of a vitest test file). */
export function runConformance(fixture: ConformanceFixture): void {
  // Every case may start processes or servers (a pipe: connection is a child process): on a busy machine one
  // that takes a second alone can take several, past vitest's default 5 s. The limit only guards against a
  // hang, so it is generous, whatever the caller's vitest config says; the slowest cases set their own.
  describe(`conformance: ${fixture.name}`, { timeout: 60_000 }, () => {
    let current: Context | undefined;
    const ctx = (): Context => {
      current ??= { fixture, resources: new Resources() };
      return current;
    };
    afterEach(async () => {
      const finished = current;
      current = undefined;
      await finished?.resources.release();
      await fixture.teardown?.();
    }, 60_000);
    messagingCases(fixture, ctx);
    lifecycleCases(fixture, ctx);
    sharedRuleCases(fixture, ctx);
    batchCases(fixture, ctx);
    viewCases(fixture, ctx);
    endReasonCases(fixture, ctx);
    faultCases(fixture, ctx);
    crossProcessCases(fixture, ctx);
    interopCases(fixture, ctx);
    channelCases(fixture, ctx);
  });
}
