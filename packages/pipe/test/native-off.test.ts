/**
 * @ipc/pipe with the native layer switched off (IPC_NATIVE=off), as on a platform without its system calls.
 * Runs in the "native-off" test project only (see the root vitest.config.ts): processes, pipelines and
 * channels to children work over socket pairs made through node:net (the children, which inherit the
 * environment, run parentChannel() on fds 0 and 1 as they are); pipe capacity and FIFOs fail with
 * UnsupportedError.
 */
import { fstatSync } from "node:fs";
import { join } from "node:path";
import { isSwitchedOff } from "@ipc/native";
import { describe, expect, it } from "vitest";
import { ProcessExitError, createPipe, fifoTransport, mkfifo, pipeCapacity, pipeline, run, setPipeCapacity, spawnChannel, spawnLines } from "../src/index.js";
import { fixture, patternBytes, rejection, tempDir } from "./helpers.js";

const dir = tempDir("native-off");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe.runIf(isSwitchedOff())("@ipc/pipe without native calls", () => {
  it("run() writes input while it reads output, through socket pairs, and reports failures typed", async () => {
    const input = patternBytes(4 * 1024 * 1024);
    const result = await run("cat", [], { input, encoding: "buffer" });
    expect(Buffer.compare(result.stdout, input)).toBe(0);
    expect((await run("sh", ["-c", "echo out; echo err >&2"])).stdout).toBe("out\n");
    const failure = await rejection(run("sh", ["-c", "echo oops >&2; exit 3"]));
    expect(failure).toBeInstanceOf(ProcessExitError);
    expect(failure).toMatchObject({ exitCode: 3, stderr: "oops\n" });
  });

  it("spawnLines() yields lines; pipeline() connects its stages, with pipefail", async () => {
    const child = await spawnLines("sh", ["-c", "printf 'a\\nb\\n'"]);
    const lines: string[] = [];
    for await (const line of child.stdout) lines.push(line);
    expect(lines).toEqual(["a", "b"]);
    const counted = await pipeline([["printf", "x\\ny\\nx\\n"], ["sort"], ["uniq", "-c"]]);
    expect(counted.stdout.replace(/ +/g, " ").trim()).toBe("2 x\n 1 y");
    // Not `yes | head -1`: between socket pairs, a writer whose reader exits with data unread gets ECONNRESET
    // (and fails), not SIGPIPE as with a pipe (docs/platforms.md).
    await expect(pipeline([["true"], ["false"]])).rejects.toMatchObject({ code: "IPC_ERR_PROCESS_EXIT" });
  });

  it("spawnChannel() exchanges messages with a Node child on parentChannel(), and with cat", async () => {
    const channel = await spawnChannel(process.execPath, [fixture("channel-child.mjs"), "echo"]);
    const large = patternBytes(1 << 20);
    await channel.send(encoder.encode("hello"));
    await channel.send(large);
    expect(decoder.decode(await channel.receive({ timeout: 10_000 }))).toBe("hello");
    expect(large.equals((await channel.receive({ timeout: 10_000 }))!)).toBe(true); // not toEqual: seconds for 1 MiB
    await channel.close({ timeout: 10_000 });
    expect(await channel.exited).toEqual({ code: 0, signal: null });

    await using cat = await spawnChannel("cat");
    await cat.send(encoder.encode("meow"));
    expect(decoder.decode(await cat.receive({ timeout: 10_000 }))).toBe("meow");
  });

  it("a child that exits with a failure ends its channel with ProcessExitError, after what it sent", async () => {
    const channel = await spawnChannel(process.execPath, [fixture("channel-child.mjs"), "exit", "3"]);
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const message of channel) seen.push(decoder.decode(message));
      })(),
    );
    expect(seen).toEqual(["bye"]);
    expect(error).toMatchObject({ code: "IPC_ERR_PROCESS_EXIT", exitCode: 3 });
  });

  it("pipe capacity is an UnsupportedError naming the feature, before any process starts", async () => {
    const unsupported = { code: "IPC_ERR_UNSUPPORTED", feature: "pipe.capacity", message: expect.stringMatching(/IPC_NATIVE=off/) };
    expect(() => createPipe()).toThrow(expect.objectContaining(unsupported));
    expect(() => pipeCapacity(0)).toThrow(expect.objectContaining(unsupported));
    expect(() => setPipeCapacity(0, 65_536)).toThrow(expect.objectContaining(unsupported));
    await expect(run("true", [], { pipeCapacity: 65_536 })).rejects.toMatchObject(unsupported);
    await expect(pipeline([["true"], ["true"]], { pipeCapacity: 65_536 })).rejects.toMatchObject(unsupported);
  });

  it("FIFOs are an UnsupportedError naming the feature; nothing is created", async () => {
    const unsupported = { code: "IPC_ERR_UNSUPPORTED", feature: "fifo" };
    expect(() => mkfifo(join(dir, "f"))).toThrow(expect.objectContaining(unsupported));
    await expect(fifoTransport.listen(`fifo://${join(dir, "t")}`)).rejects.toMatchObject(unsupported);
    await expect(fifoTransport.connect(`fifo://${join(dir, "t")}`)).rejects.toMatchObject(unsupported);
    expect(() => fstatSync(0)).not.toThrow(); // this process's own stdio is untouched
  });
});
