import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const dist = fileURLToPath(new URL("../dist/", import.meta.url));

/** Runs an example as a user would (from its built JavaScript) and returns its stdout. */
async function example(name: string): Promise<string> {
  const file = `${dist}${name}.js`;
  if (!existsSync(file)) throw new Error(`${file} is missing: build the workspace first (pnpm build)`);
  const { stdout } = await run(process.execPath, [file], { timeout: 90_000, maxBuffer: 1 << 20 });
  return stdout;
}

describe("@ipc/shm examples run and say what they should", () => {
  it("shm-struct: a C struct read through a seqlock, never torn", async () => {
    const out = await example("shm-struct");
    expect(out).toContain("struct shared_data {\n    uint64_t counter;\n    int32_t values[10];\n    bool flag;\n};");
    expect(out).toMatch(/reader: counter=\d+ values=\[(\d+, ){9}\d+\] flag=true/);
    expect(out).toContain("reader: 100000 snapshots while the writer wrote, 0 torn");
  });

  it("shm-counter: an exact count under the mutex, and ownerDied after a holder dies", { timeout: 120_000 }, async () => {
    const out = await example("shm-counter");
    expect(out).toContain("final count 80000 (expected 80000)");
    expect(out).toContain("after a holder died: got the lock, ownerDied=true");
  });

  it("shm-ring: 200 000 messages in order, every one intact", async () => {
    expect(await example("shm-ring")).toMatch(/received 200000 messages \([\d.]+ MB\) in order, every one intact, then the end/);
  });

  it("shm-benchmark: round trips over shm://, Unix and TCP", { timeout: 120_000 }, async () => {
    const out = await example("shm-benchmark");
    expect(out).toMatch(/Throughput: [\d.]+ million ops\/sec, [\d.]+ ns\/op/);
    for (const row of ["1 B", "1 KiB", "1 MiB"]) expect(out).toMatch(new RegExp(`${row} +(\\s*[\\d.]+ (µs|ms)){3}`));
  });

  it("shm-transport", async () => {
    const out = await example("shm-transport");
    expect(out).toMatch(/connected to shm:\/\/ipc-example-echo-\d+, server pid matches/);
    expect(out).toContain("echo: hello\necho: through\necho: shared memory\n4 MiB echo intact: true");
  });
});
