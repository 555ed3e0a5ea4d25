import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type ProcessExitError, pipeline } from "../../src/index.js";
import { dist, isRunning, openFds, pidFrom, rejection, runningChildren, tempDir } from "../helpers.js";

const dir = tempDir("pipeline");
let serial = 0;
const file = (name: string): string => join(dir, `${name}-${++serial}`);

describe("pipeline()", () => {
  it("runs data.txt | grep | sort | uniq -c", async () => {
    const data = file("data.txt");
    writeFileSync(data, `${["pear", "apple pie", "plum", "apple", "pineapple", "apple", "peach"].join("\n")}\n`);
    const { stdout, stages } = await pipeline([["cat", data], ["grep", "apple"], ["sort"], ["uniq", "-c"]]);
    expect(stdout).toBe("      2 apple\n      1 apple pie\n      1 pineapple\n");
    expect(stages.map((s) => [s.command, s.code, s.signal])).toEqual([
      ["cat", 0, null],
      ["grep", 0, null],
      ["sort", 0, null],
      ["uniq", 0, null],
    ]);
  });

  it("connects the stages by one OS pipe that this process does not even hold: the data never passes through it", async () => {
    // Each stage reports what its stdout / stdin is: both name the same kernel pipe. The second also looks
    // through this process's descriptors ($PPID) for that pipe. ($(…) first: during `… >&2` the shell
    // itself has fd 1 pointed at stderr.)
    const { stages } = await pipeline([
      ["sh", "-c", "end=$(readlink /proc/$$/fd/1); echo $end >&2; echo data"],
      [
        "sh",
        "-c",
        'end=$(readlink /proc/$$/fd/0); echo $end >&2; for f in /proc/$PPID/fd/*; do [ "$(readlink $f)" = "$end" ] && echo "parent holds it" >&2; done; cat >/dev/null',
      ],
    ]);
    const writerEnd = stages[0]!.stderr.trim();
    expect(writerEnd).toMatch(/^pipe:\[\d+\]$/);
    expect(stages[1]!.stderr).toBe(`${writerEnd}\n`);
  });

  it("fails when any stage fails (pipefail), naming it, with every stage's status", async () => {
    // The last stage fails after reading everything, so the others have ended by themselves.
    const error = (await rejection(pipeline([["echo", "x"], ["cat"], ["sh", "-c", "cat >/dev/null; echo 'no such table' >&2; exit 2"]]))) as ProcessExitError;
    expect(error.code).toBe("IPC_ERR_PROCESS_EXIT");
    expect(error.message).toMatch(/^pipeline stage 3 of 3 `sh -c .*` exited with code 2: no such table$/);
    expect(error.exitCode).toBe(2);
    expect(error.stderr).toBe("no such table\n");
    expect(error.stages?.map((s) => s.code)).toEqual([0, 0, 2]);
  });

  it("stops every other stage when one fails", async () => {
    const pidFile = file("pid");
    const error = (await rejection(
      pipeline([
        ["sh", "-c", `echo $$ > ${pidFile}; exec sleep 30`],
        ["sh", "-c", `while [ ! -s ${pidFile} ]; do :; done; exit 9`],
      ]),
    )) as ProcessExitError;
    expect(error.exitCode).toBe(9);
    expect(error.stages?.[0]).toMatchObject({ code: null, signal: "SIGTERM" });
    expect(isRunning(await pidFrom(pidFile))).toBe(false);
  });

  it("resolves with every status when reject is false", async () => {
    const result = await pipeline(
      [
        ["echo", "x"],
        ["sh", "-c", "cat; exit 3"],
      ],
      { reject: false },
    );
    expect(result.stdout).toBe("x\n");
    expect(result.stages.map((s) => s.code)).toEqual([0, 3]);
  });

  it("a stage that exits early (head -1) ends the pipeline cleanly; the writer's SIGPIPE is reported, not a failure", async () => {
    const { stdout, stages } = await pipeline([
      ["yes", "row"],
      ["head", "-1"],
    ]);
    expect(stdout).toBe("row\n");
    expect(stages[0]).toMatchObject({ command: "yes", code: null, signal: "SIGPIPE" });
    expect(stages[1]).toMatchObject({ code: 0 });
  });

  it("captures each stage's stderr separately", async () => {
    const { stages } = await pipeline([
      ["sh", "-c", "echo first >&2; echo x"],
      ["sh", "-c", "cat >/dev/null; echo second >&2"],
    ]);
    expect(stages.map((s) => s.stderr)).toEqual(["first\n", "second\n"]);
  });

  it("takes input as text, bytes or a stream, and writes output as text, bytes or into a stream", async () => {
    expect((await pipeline([["tr", "a-z", "A-Z"]], { input: "shout\n" })).stdout).toBe("SHOUT\n");
    const bytes = await pipeline([["cat"], ["cat"]], { input: new Uint8Array([1, 2, 250]), encoding: "buffer" });
    expect([...bytes.stdout]).toEqual([1, 2, 250]);
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on("data", (chunk: Buffer) => chunks.push(chunk));
    const streamed = await pipeline([["sort", "-r"]], { input: Readable.from(["a\n", "c\n", "b\n"]), output: sink });
    expect(streamed.stdout).toBe("");
    expect(Buffer.concat(chunks).toString()).toBe("c\nb\na\n");
    expect(sink.writableEnded).toBe(false);
  });

  it("hands file descriptors given as input and output straight to the first and last stage", async () => {
    const source = file("in");
    const target = file("out");
    writeFileSync(source, "3\n1\n2\n");
    const inFd = openSync(source, "r");
    const outFd = openSync(target, "w");
    try {
      await pipeline([["sort"], ["sh", "-c", "readlink /proc/$$/fd/1; cat"]], { input: inFd, output: outFd });
    } finally {
      closeSync(inFd);
      closeSync(outFd);
    }
    expect(readFileSync(target, "utf8")).toBe(`${target}\n1\n2\n3\n`);
  });

  it("gives every pipe pipeCapacity bytes when asked: between the stages and to this process", async () => {
    const report = (...fds: number[]): string[] => [
      process.execPath,
      "-e",
      `import(${JSON.stringify(dist)}).then((m) => { console.error(${fds.map((fd) => `m.pipeCapacity(${fd})`).join(", ")}); process.stdin.resume(); })`,
    ];
    const { stages } = await pipeline([report(0, 1), report(0, 1)], { input: "", pipeCapacity: 1024 * 1024 });
    expect(stages.map((s) => s.stderr)).toEqual(["1048576 1048576\n", "1048576 1048576\n"]);
  });

  it("stops every stage on timeout and rejects with TimeoutError", async () => {
    // Every stage has started (exec'd) before the deadline is armed; unique arguments find them in /proc.
    const error = await rejection(
      pipeline(
        [
          ["sleep", "30.0201"],
          ["sleep", "30.0202"],
        ],
        { timeout: 300 },
      ),
    );
    expect(error.code).toBe("IPC_ERR_TIMEOUT");
    expect(runningChildren("sleep 30.020")).toEqual([]);
  });

  it("stops every stage when the signal aborts", async () => {
    const controller = new AbortController();
    const running = pipeline(
      [
        ["sleep", "30"],
        ["sleep", "30"],
      ],
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error("enough")), 50);
    const error = await rejection(running);
    expect(error.code).toBe("IPC_ERR_ABORTED");
    expect((error.cause as Error).message).toBe("enough");
  });

  it("stops the started stages and rejects with SpawnError when a stage cannot start", async () => {
    // The first stage has exec'd `sleep` before the second is tried (a pid file written by a shell could
    // come too late: the stage may be stopped before the shell runs a single command).
    const error = await rejection(pipeline([["sleep", "30.0203"], ["no-such-command-anywhere"]]));
    expect(error.code).toBe("IPC_ERR_SPAWN");
    expect(runningChildren("sleep 30.0203")).toEqual([]);
  });

  it("starts nothing when the timeout is invalid (InvalidArgumentError); an aborted signal rejects at once", async () => {
    const fds = openFds();
    expect((await rejection(pipeline([["sleep", "30.0204"]], { timeout: -1 }))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    const aborted = AbortSignal.abort(new Error("no"));
    expect((await rejection(pipeline([["sleep", "30.0204"]], { signal: aborted }))).code).toBe("IPC_ERR_ABORTED");
    expect(runningChildren("sleep 30.0204")).toEqual([]);
    expect(openFds()).toEqual(fds);
  });

  it("rejects malformed stages with InvalidArgumentError", async () => {
    expect((await rejection(pipeline([]))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    expect((await rejection(pipeline([["ls"], []]))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
    expect((await rejection(pipeline([["ls", 3 as unknown as string]]))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
  });
});
