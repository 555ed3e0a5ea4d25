import { describe, expect, it } from "vitest";
import { setDeadline } from "../src/rpc/deadlines.js";

/** Ref'd timers of this process (what keeps it alive), as Node counts them. */
const heldTimers = (): number => process.getActiveResourcesInfo().filter((name) => name === "Timeout").length;

describe("the shared deadline timer", () => {
  it("holds the process only while a call waits, and still fires the deadline of a later call", async () => {
    const before = heldTimers();
    const first = setDeadline(Date.now() + 60_000, () => undefined);
    expect(heldTimers()).toBe(before + 1);
    first.clear();
    // Left armed for the next call, but no longer holding the process.
    expect(heldTimers()).toBe(before);
    // A later deadline than the armed one holds the process again through the same timer.
    const later = setDeadline(Date.now() + 120_000, () => undefined);
    expect(heldTimers()).toBe(before + 1);
    later.clear();
    expect(heldTimers()).toBe(before);
    // An earlier one re-arms it, and fires.
    await new Promise<void>((resolve) => setDeadline(Date.now() + 5, resolve));
    expect(heldTimers()).toBe(before);
  });
});
