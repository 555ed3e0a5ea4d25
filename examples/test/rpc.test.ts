import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const dist = fileURLToPath(new URL("../dist/", import.meta.url));

/** Runs an example as a user would (from its built JavaScript) and returns its stdout. */
async function example(name: string, ...args: string[]): Promise<string> {
  const file = `${dist}${name}.js`;
  if (!existsSync(file)) throw new Error(`${file} is missing: build the workspace first (pnpm build)`);
  const { stdout } = await run(process.execPath, [file, ...args], { timeout: 60_000 });
  return stdout;
}

describe("the @ipc/rpc examples run and say what they should", () => {
  for (const transport of ["unix", "tcp"]) {
    it(`rpc-calculator over ${transport}`, { timeout: 90_000 }, async () => {
      const out = await example("rpc-calculator", ...(transport === "tcp" ? ["tcp"] : []));
      expect(out).toMatch(transport === "tcp" ? /listens on tcp:\/\/127\.0\.0\.1:\d+/ : /listens on a Unix socket/);
      expect(out).toContain("Add(19, 23) = 42");
      expect(out).toContain("Multiply(6, 7) = 42");
      // A Unix socket tells the server its caller's pid; TCP does not.
      expect(out).toContain(`Echo("hello") = "hello (from server <pid>${transport === "unix" ? ", to <pid>" : ""})"`);
      expect(out).toContain("Multiply(2^20, 2^20) failed: OUT_OF_RANGE: 1048576 × 1048576 does not fit in an int32");
      expect(out).toContain("1000 calls in flight: the last is Add(999, 999) = 1998");
      expect(out).toMatch(/server stopped\n$/);
    });
  }

  it("rpc-worker-pool", { timeout: 90_000 }, async () => {
    const out = await example("rpc-worker-pool", "3");
    expect(out).toContain("primes below 1000000: 78498");
    expect(out).toContain("primes below 3750000: 266717");
    expect(out).toContain("12 calls answered by 3 of 3 workers");
    expect(out).toContain("workers exited with codes 0, 0, 0");
  });

  it("rpc-progress", { timeout: 90_000 }, async () => {
    const out = await example("rpc-progress");
    const percents = [...out.matchAll(/\]\s+(\d+)%/g)].map((m) => Number(m[1]));
    expect(percents).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(out).toMatch(/100% {2}done {2}result [0-9a-f]{16}/);
    expect(out).toContain("worker exited with code 0");
  });

  it("rpc-cancel-deadline", { timeout: 90_000 }, async () => {
    const out = await example("rpc-cancel-deadline");
    expect(out).toContain("server: Square(7) started with the caller's deadline");
    expect(out).toMatch(/client: Square\(7\) failed with DEADLINE_EXCEEDED after (about 100 ms|\d+ ms), not 5 s/);
    expect(out).toContain("client: tick 3\nclient: Ticks failed with CANCELLED (cause: the user pressed stop)");
    expect(out).toContain("client: Square(9) = 81");
    expect(out).toContain("server: Square(7) stopped early: DEADLINE_EXCEEDED");
    expect(out).toMatch(/server: Ticks stopped after \d+ ticks: CANCELLED/);
  });
});
