/**
 * The batch path (`Connection.sendBatch` / `Connection.receiveBatch`) on every kind of connection: the
 * transport's own, and the channel layers' mux streams and reliable sessions over it.
 */
import { describe, it } from "vitest";
import type { ConformanceFixture } from "../fixture.js";
import { lacking, type Context } from "../harness.js";
import { kinds } from "../kinds.js";
import { receiveBatchCases, transportReceiveBatchCases } from "./batch-receive.js";
import { sendBatchCases, type BatchTest } from "./batch-send.js";

// Filling a buffer until a batch stalls, and carrying a megabyte per round, take a while on a busy machine.
const SLOW = { timeout: 120_000 };

/** The batch cases on each kind of connection of `fixture`; a kind the fixture cannot make is skipped by name. */
export function batchCases(fixture: ConformanceFixture, ctx: () => Context): void {
  const bufferBound = fixture.capabilities.maxBufferedBytes ?? 16 * 1024 * 1024;
  for (const kind of kinds(fixture)) {
    const missing = kind.missing !== undefined;
    const title = (name: string): string => `${name}${lacking(missing, kind.missing ?? "")}`;
    const test: BatchTest = (name, fn, options) =>
      void it.skipIf(missing)(title(name), SLOW, async () => {
        const c = ctx();
        await fn(await kind.make(c, options?.kindOptions));
      });
    describe(`batch path: ${kind.name}`, () => {
      sendBatchCases(test, bufferBound);
      receiveBatchCases(test, bufferBound);
      if (kind.transport) transportReceiveBatchCases((name, fn) => void it.skipIf(missing)(title(name), SLOW, async () => fn(ctx())));
    });
  }
}
