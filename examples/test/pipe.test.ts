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
  const { stdout } = await run(process.execPath, [file], { timeout: 60_000, maxBuffer: 1 << 20 });
  return stdout;
}

describe("@ipc/pipe examples run and say what they should", () => {
  it("pipe-basic: a command's output and exit status", async () => {
    const out = await example("pipe-basic");
    expect(out).toContain(`Output: "Hello Pipe!\\nLine 2\\n"`);
    expect(out).toMatch(/Exit status: code 0, signal null/);
    expect(out).toMatch(/IPC_ERR_PROCESS_EXIT: exit code 2, stderr ".*No such file or directory"/);
  });

  it("pipe-stdout-stderr: both streams line by line", async () => {
    const out = await example("pipe-stdout-stderr");
    expect(out).toContain("[stdout] stdout: got input data\n");
    expect(out).toContain("[stdout] done\n");
    expect(out).toContain("[stderr] stderr\n");
    expect(out).toMatch(/exit code 0\n$/);
  });

  it("pipe-pipeline: data.txt | grep | sort | uniq -c", async () => {
    const out = await example("pipe-pipeline");
    expect(out).toContain("Result:\n      1 pattern a\n      3 pattern b\n");
    expect(out).toContain("stages: cat → 0, grep → 0, sort → 0, uniq → 0");
    expect(out).toContain("failed: pipeline stage 2 of 3 `grep absent` exited with code 1");
  });

  it("pipe-fifo: a FIFO read, then a message over the fifo: transport", async () => {
    const out = await example("pipe-fifo");
    expect(out).toContain("Received: Hello from writer!\n");
    expect(out).toContain("client got: HELLO OVER A FIFO PAIR!\n");
  });

  it("pipe-capacity: the capacity read and raised, 64 MiB through cat without deadlock", async () => {
    const out = await example("pipe-capacity");
    expect(out).toContain("default pipe capacity: 65536 bytes");
    expect(out).toContain("after asking for 100 000 bytes: 131072 bytes (rounded up)");
    expect(out).toMatch(/above pipe-max-size: (IPC_ERR_PERMISSION_DENIED|allowed)/);
    expect(out).toContain("64 MiB in, 64 MiB out, no deadlock");
    expect(out).toContain("a child's stdout with pipeCapacity 1 MiB: 1048576 bytes");
  });

  it("pipe-batching: batched sends take far fewer write calls than lines", async () => {
    const out = await example("pipe-batching");
    const naive = Number(/naive: 100000 lines, (\d+) write calls/.exec(out)?.[1]);
    const batched = Number(/batched: 100000 messages, (\d+) write calls/.exec(out)?.[1]);
    expect(naive).toBeGreaterThan(1000);
    expect(batched).toBeGreaterThan(0);
    expect(batched * 50).toBeLessThan(naive);
  });

  it("pipe-channel: the pipe: transport", async () => {
    const out = await example("pipe-channel");
    expect(out).toContain(`add 19 23 → {"kind":"text","text":"sum = 42"}`);
    expect(out).toContain(`reverse "stressed" → {"kind":"text","text":"desserts"}`);
    expect(out).toContain(`child exited with {"code":0,"signal":null}`);
    expect(out).toContain("child's stderr: child: this log line goes to stderr, not into the channel");
  });
});
