import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { spawnLines, type LineProcess } from "../../src/index.js";
import { isOurZombie, isRunning, rejection, until } from "../helpers.js";

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

/** Bytes process `pid` has written so far (/proc/<pid>/io). */
function written(pid: number): number {
  return Number(/^wchar:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))![1]);
}

/** True while `pid` is blocked in write(1, …): its stdout pipe is full. */
function blockedWritingStdout(pid: number): boolean {
  return readFileSync(`/proc/${pid}/syscall`, "utf8").startsWith("1 0x1 ");
}

describe("spawnLines()", () => {
  it("yields the lines of stdout and stderr separately, without \\n or \\r\\n", async () => {
    const child = await spawnLines("sh", ["-c", "printf 'one\\ntwo\\r\\n'; echo oops >&2; printf 'last without newline'"]);
    const [out, err] = await Promise.all([collect(child.stdout), collect(child.stderr)]);
    expect(out).toEqual(["one", "two", "last without newline"]);
    expect(err).toEqual(["oops"]);
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });

  it("keeps empty lines and decodes long UTF-8 lines whole", async () => {
    const long = "é".repeat(300_000);
    const child = await spawnLines("cat", [], { input: `a\n\nb\n${long}\n`, stderr: "ignore" });
    const lines = await collect(child.stdout);
    expect(lines.slice(0, 3)).toEqual(["a", "", "b"]);
    expect(lines[3]).toBe(long);
  });

  it("a consumer that stops reading stops the process, with memory bounded, and it resumes when reading resumes", { timeout: 30_000 }, async () => {
    await using yes = await spawnLines("yes", ["x".repeat(99)], { highWaterMark: 64 * 1024, stderr: "ignore" });
    const lines = yes.stdout[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe("x".repeat(99));
    // Not reading: the line queue fills, reading from the pipe pauses, the pipe fills, `yes` blocks.
    await until(() => blockedWritingStdout(yes.pid));
    const stalledAt = written(yes.pid);
    // 64 KiB of queued lines, a 64 KiB pipe, a socket read buffer and yes's own 8 KiB buffer: far below
    // the gigabytes an unthrottled `yes` writes in a second.
    expect(stalledAt).toBeLessThan(2 * 1024 * 1024);
    // (Checked once at the end: 50 000 expect() calls cost more than the reading.)
    const wrong: unknown[] = [];
    for (let i = 0; i < 50_000; i++) {
      const { value } = await lines.next();
      if (value?.length !== 99) wrong.push(value);
    }
    expect(wrong).toEqual([]);
    expect(written(yes.pid)).toBeGreaterThan(stalledAt + 4 * 1024 * 1024);
  });

  it("after the last line, stdout's iteration throws ProcessExitError when the process failed", async () => {
    const child = await spawnLines("sh", ["-c", "echo first; echo 'bad things' >&2; exit 5"]);
    const seen: string[] = [];
    const [error] = await Promise.all([
      rejection(
        (async () => {
          for await (const line of child.stdout) seen.push(line);
        })(),
      ),
      collect(child.stderr),
    ]);
    expect(seen).toEqual(["first"]);
    expect(error).toMatchObject({ code: "IPC_ERR_PROCESS_EXIT", exitCode: 5, stderr: "bad things\n" });
  });

  it("with reject: false, stdout just ends and exited tells the status", async () => {
    const child = await spawnLines("sh", ["-c", "echo x; exit 7"], { reject: false, stderr: "ignore" });
    expect(await collect(child.stdout)).toEqual(["x"]);
    expect(await child.exited).toEqual({ code: 7, signal: null });
  });

  it("stops the process on timeout: the iteration throws TimeoutError", async () => {
    const child = await spawnLines("sleep", ["30"], { timeout: 300 });
    expect((await rejection(collect(child.stdout))).code).toBe("IPC_ERR_TIMEOUT");
    expect(await child.exited).toEqual({ code: null, signal: "SIGTERM" });
  });

  it("stops the process on abort: the iteration throws AbortError after the lines before it", async () => {
    const controller = new AbortController();
    const child = await spawnLines("sh", ["-c", "echo before; exec sleep 30"], { signal: controller.signal });
    const lines = child.stdout[Symbol.asyncIterator]();
    expect(await lines.next()).toEqual({ done: false, value: "before" });
    controller.abort();
    expect((await rejection(lines.next())).code).toBe("IPC_ERR_ABORTED");
    expect(await child.exited).toEqual({ code: null, signal: "SIGTERM" });
  });

  it("SIGKILLs a process that ignores killSignal once forceKillAfter has passed", async () => {
    const controller = new AbortController();
    const child = await spawnLines("sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 1; done"], {
      signal: controller.signal,
      forceKillAfter: 200,
      stderr: "ignore",
    });
    const lines = child.stdout[Symbol.asyncIterator]();
    // Once "ready" is out, the shell ignores SIGTERM.
    expect(await lines.next()).toEqual({ done: false, value: "ready" });
    controller.abort();
    expect((await rejection(lines.next())).code).toBe("IPC_ERR_ABORTED");
    expect((await child.exited).signal).toBe("SIGKILL");
  });

  it("stops the process at a line longer than maxLineLength with OutputTooLargeError", async () => {
    const child = await spawnLines("sh", ["-c", "head -c 3000000 /dev/zero; exec sleep 30"], { maxLineLength: 1024 * 1024 });
    const error = await rejection(collect(child.stdout));
    expect(error).toMatchObject({ code: "IPC_ERR_OUTPUT_TOO_LARGE", stream: "stdout", limit: 1024 * 1024 });
    expect((await child.exited).signal).toBe("SIGTERM");
  });

  it("await using stops a process still running at the end of the scope, leaving no zombie", async () => {
    let kept: LineProcess | undefined;
    {
      await using sleeper = await spawnLines("sleep", ["30"]);
      kept = sleeper;
      expect(isRunning(sleeper.pid)).toBe(true);
    }
    expect(await kept.exited).toEqual({ code: null, signal: "SIGTERM" });
    expect(isOurZombie(kept.pid)).toBe(false);
  });

  it("writes input to stdin, and gives an empty stderr when it is not 'lines'", async () => {
    const child = await spawnLines("sort", [], { input: "b\nc\na\n", stderr: "inherit" });
    expect(await collect(child.stdout)).toEqual(["a", "b", "c"]);
    expect(await collect(child.stderr)).toEqual([]);
  });

  it("rejects bad options with InvalidArgumentError and a missing command with SpawnError", async () => {
    expect((await rejection(spawnLines("true", [], { highWaterMark: 0 }))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    expect((await rejection(spawnLines("true", [], { stderr: "pipe" as "lines" }))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    expect((await rejection(spawnLines("no-such-command-anywhere"))).code).toBe("IPC_ERR_SPAWN");
  });
});
