import { createHash } from "node:crypto";
import { chmodSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ProcessExitError, run } from "../../src/index.js";
import { dist, isRunning, killIfRunning, openFds, patternBytes, pidFrom, rejection, runningChildren, tempDir, until } from "../helpers.js";

const dir = tempDir("run");
const sha = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
let serial = 0;
const file = (name: string): string => join(dir, `${name}-${++serial}`);

describe("run()", () => {
  it("resolves with stdout, stderr, the exit status and the duration", async () => {
    const result = await run("sh", ["-c", "echo out; echo err >&2"]);
    expect(result.stdout).toBe("out\n");
    expect(result.stderr).toBe("err\n");
    expect(result.code).toBe(0);
    expect(result.signal).toBeNull();
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it("writes 64 MiB of input while reading 64 MiB of output: no deadlock, every byte back", { timeout: 60_000 }, async () => {
    const input = patternBytes(64 * 1024 * 1024);
    const result = await run("cat", [], { input, encoding: "buffer" });
    expect(result.stdout.byteLength).toBe(input.byteLength);
    expect(sha(result.stdout)).toBe(sha(input));
  });

  it("takes input as text (UTF-8) or as a stream, written with backpressure", async () => {
    expect((await run("cat", [], { input: "héllo\n" })).stdout).toBe("héllo\n");
    const chunks = Array.from({ length: 200 }, (_, i) => `line ${i}\n`);
    const result = await run("wc", ["-l"], { input: Readable.from(chunks) });
    expect(result.stdout.trim()).toBe("200");
  });

  it("without input, stdin is /dev/null", async () => {
    expect((await run("sh", ["-c", "readlink /proc/$$/fd/0"])).stdout).toBe("/dev/null\n");
  });

  it("returns bytes with encoding 'buffer' and decodes other encodings", async () => {
    const bytes = await run("printf", ["\\377\\000"], { encoding: "buffer" });
    expect([...bytes.stdout]).toEqual([0xff, 0x00]);
    expect((await run("printf", ["\\351"], { encoding: "latin1" })).stdout).toBe("é");
  });

  it("rejects a non-zero exit with ProcessExitError carrying the code, the signal and the stderr tail", async () => {
    const error = await rejection(run("sh", ["-c", "echo 'something broke' >&2; exit 3"]));
    expect(error).toBeInstanceOf(ProcessExitError);
    expect(error.code).toBe("IPC_ERR_PROCESS_EXIT");
    const exit = error as ProcessExitError;
    expect(exit.exitCode).toBe(3);
    expect(exit.signal).toBeNull();
    expect(exit.stderr).toBe("something broke\n");
    expect(exit.message).toContain("exited with code 3: something broke");
  });

  it("rejects a process killed by a signal with that signal", async () => {
    const error = (await rejection(run("sh", ["-c", "kill -USR1 $$"]))) as ProcessExitError;
    expect(error.code).toBe("IPC_ERR_PROCESS_EXIT");
    expect(error.exitCode).toBeNull();
    expect(error.signal).toBe("SIGUSR1");
  });

  it("keeps only the last 8 KiB of stderr in the error", async () => {
    const error = (await rejection(run("sh", ["-c", "head -c 100000 /dev/zero | tr '\\0' a >&2; echo END >&2; exit 1"]))) as ProcessExitError;
    expect(error.stderr.length).toBe(8 * 1024);
    expect(error.stderr.endsWith("aEND\n")).toBe(true);
  });

  it("resolves with the failing status when reject is false", async () => {
    const result = await run("sh", ["-c", "echo partial; exit 4"], { reject: false });
    expect(result).toMatchObject({ stdout: "partial\n", code: 4, signal: null });
  });

  it("stops a process that writes more than maxOutput and rejects with OutputTooLargeError", async () => {
    const out = await rejection(run("yes", [], { maxOutput: 1024 * 1024 }));
    expect(out.code).toBe("IPC_ERR_OUTPUT_TOO_LARGE");
    expect(out).toMatchObject({ stream: "stdout", limit: 1024 * 1024 });
    const err = await rejection(run("sh", ["-c", "yes >&2"], { maxOutput: 4096 }));
    expect(err).toMatchObject({ code: "IPC_ERR_OUTPUT_TOO_LARGE", stream: "stderr" });
  });

  it("stops the process on timeout and rejects with TimeoutError", async () => {
    // The process has exec'd `sleep` before the deadline is armed; its unique argument finds it in /proc.
    const error = await rejection(run("sleep", ["30.0101"], { timeout: 200 }));
    expect(error.code).toBe("IPC_ERR_TIMEOUT");
    expect(error.message).toMatch(/timed out after 200 ms/);
    expect(runningChildren("sleep 30.0101")).toEqual([]);
  });

  it("starts nothing when the timeout is invalid (InvalidArgumentError); an aborted signal rejects at once", async () => {
    const fds = openFds();
    expect((await rejection(run("sleep", ["30.0102"], { timeout: -1 }))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    expect((await rejection(run("sleep", ["30.0102"], { timeout: Number.NaN }))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    const aborted = AbortSignal.abort(new Error("no"));
    expect((await rejection(run("sleep", ["30.0102"], { signal: aborted }))).code).toBe("IPC_ERR_ABORTED");
    expect(runningChildren("sleep 30.0102")).toEqual([]);
    expect(openFds()).toEqual(fds);
  });

  it("stops the process when the signal aborts and rejects with AbortError carrying the reason", async () => {
    const controller = new AbortController();
    const pidFile = file("pid");
    const running = run("sh", ["-c", `echo $$ > ${pidFile}; exec sleep 30`], { signal: controller.signal });
    const pid = await pidFrom(pidFile);
    controller.abort(new Error("user gave up"));
    const error = await rejection(running);
    expect(error.code).toBe("IPC_ERR_ABORTED");
    expect((error.cause as Error).message).toBe("user gave up");
    expect(isRunning(pid)).toBe(false);
    expect((await rejection(run("true", [], { signal: controller.signal }))).code).toBe("IPC_ERR_ABORTED");
  });

  // These two stop the process once its background child is known to exist (an abort: the stop is the same
  // as a timeout's, but it cannot come before the shell has started the child).
  it("with killProcessGroup, stopping the process stops its own children too", async () => {
    const pidFile = file("pid");
    const controller = new AbortController();
    const running = run("sh", ["-c", `sleep 30 & echo $! > ${pidFile}; wait`], {
      signal: controller.signal,
      killProcessGroup: true,
    });
    const grandchild = await pidFrom(pidFile);
    controller.abort();
    expect((await rejection(running)).code).toBe("IPC_ERR_ABORTED");
    await until(() => !isRunning(grandchild));
  });

  it("without killProcessGroup, only the process is stopped: its background child lives on", async () => {
    const pidFile = file("pid");
    const controller = new AbortController();
    let grandchild: number | undefined;
    try {
      const running = run("sh", ["-c", `sleep 30 & echo $! > ${pidFile}; wait`], { signal: controller.signal });
      grandchild = await pidFrom(pidFile);
      controller.abort();
      expect((await rejection(running)).code).toBe("IPC_ERR_ABORTED");
      expect(isRunning(grandchild)).toBe(true);
    } finally {
      killIfRunning(grandchild);
    }
  });

  it("runs the process in cwd with env", async () => {
    const result = await run("sh", ["-c", 'pwd; echo "$GREETING"'], { cwd: dir, env: { GREETING: "hi there" } });
    expect(result.stdout).toBe(`${realpathSync(dir)}\nhi there\n`);
  });

  it("connects stdout and stderr by socketpairs (as Node does), or by real pipes of pipeCapacity bytes when asked", async () => {
    const kinds = "for fd in 0 1 2; do readlink /proc/$$/fd/$fd | cut -d: -f1; done";
    expect((await run("sh", ["-c", kinds], { input: "" })).stdout).toBe("socket\nsocket\nsocket\n");
    expect((await run("sh", ["-c", kinds], { input: "", pipeCapacity: 200_000 })).stdout).toBe("pipe\npipe\npipe\n");
    const script = `import(${JSON.stringify(dist)}).then((m) => console.log(m.pipeCapacity(1), m.pipeCapacity(2)))`;
    expect((await run(process.execPath, ["-e", script], { pipeCapacity: 200_000 })).stdout).toBe("262144 262144\n");
  });

  it("rejects a command that does not exist with SpawnError, and one that is not executable with PermissionDeniedError", async () => {
    const missing = await rejection(run("no-such-command-anywhere"));
    expect(missing.code).toBe("IPC_ERR_SPAWN");
    expect(missing.message).toMatch(/command not found \(ENOENT\)/);
    const script = file("script");
    writeFileSync(script, "#!/bin/sh\necho hi\n");
    chmodSync(script, 0o644);
    expect((await rejection(run(script))).code).toBe("IPC_ERR_PERMISSION_DENIED");
  });

  it("rejects bad arguments with InvalidArgumentError", async () => {
    expect((await rejection(run(""))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    expect((await rejection(run("true", "x" as unknown as string[]))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    expect((await rejection(run("true", [], { maxOutput: -1 }))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    expect((await rejection(run("true", [], { timeout: -5 }))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    expect((await rejection(run("true", [], { pipeCapacity: 0 }))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    expect((await rejection(run("true", [], { input: 42 as unknown as string }))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
  });
});
