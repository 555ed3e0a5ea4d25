import { spawnSync } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ProcessExitError, maxPipeCapacity, spawnChannel, type ChildChannel } from "../../src/index.js";
import { dist, fixture, hasCapSysResource, isOurZombie, patternBytes, rejection, tempDir } from "../helpers.js";

const child = fixture("channel-child.mjs");
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const hasPython = spawnSync("python3", ["--version"]).status === 0;
const dir = tempDir("channel");

/** A channel to the Node test child in `mode`, closed (or aborted) after the test by the caller. */
function node(mode: string, ...args: string[]): Promise<ChildChannel> {
  return spawnChannel(process.execPath, [child, mode, ...args], { stderr: "pipe" });
}

async function roundTrip(channel: ChildChannel, text: string): Promise<string> {
  await channel.send(encoder.encode(text));
  return decoder.decode(await channel.receive({ timeout: 10_000 }));
}

describe("spawnChannel() and parentChannel()", () => {
  it("exchanges messages with a Node child; close() waits for its exit; peer is the child", async () => {
    const channel = await node("echo");
    expect(channel.peer).toEqual({ pid: channel.pid, uid: process.getuid!(), gid: process.getgid!() });
    expect(channel.remoteAddress).toMatch(/^pipe:\/.*\?arg=.*channel-child\.mjs&arg=echo$/);
    for (const size of [0, 1, 1000, 300_000]) {
      const message = patternBytes(size, size);
      await channel.send(message);
      expect(Buffer.from((await channel.receive({ timeout: 10_000 }))!).equals(message)).toBe(true);
    }
    await channel.close({ timeout: 10_000 });
    expect(await channel.exited).toEqual({ code: 0, signal: null });
    await expect(channel.closed).resolves.toBeUndefined();
    expect(isOurZombie(channel.pid)).toBe(false);
  });

  it.skipIf(!hasPython)(
    `works with a python3 child that speaks docs/wire.md's framing${hasPython ? "" : " (skipped: python3 is not installed)"}`,
    { timeout: 30_000 },
    async () => {
      const channel = await spawnChannel("python3", [fixture("echo.py")]);
      const sizes = [0, 1, 5, 64, 70_000, 1024 * 1024];
      const sends = sizes.map((size, i) => channel.send(patternBytes(size, i)));
      for (const [i, size] of sizes.entries()) {
        const reply = await channel.receive({ timeout: 20_000 });
        expect(Buffer.from(reply!).equals(patternBytes(size, i))).toBe(true);
      }
      await Promise.all(sends);
      await channel.close({ timeout: 10_000 });
      expect(await channel.exited).toEqual({ code: 0, signal: null });
    },
  );

  it("leaves stderr free for logs, readable with stderr: 'pipe'; console.log in the child goes there, not into the channel", async () => {
    const channel = await node("noisy");
    let logs = "";
    channel.stderr!.on("data", (chunk: Buffer) => (logs += chunk.toString()));
    expect(await roundTrip(channel, "still framed")).toBe("still framed");
    await channel.close({ timeout: 10_000 });
    expect(logs).toBe("noise on stdout after parentChannel()\na log line on stderr\n");
  });

  it("ends the connection with ProcessExitError, after the messages sent before, when the child exits with a failure", async () => {
    const channel = await node("exit", "3");
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const message of channel) seen.push(decoder.decode(message));
      })(),
    );
    expect(seen).toEqual(["bye"]);
    expect(error).toBeInstanceOf(ProcessExitError);
    expect(error).toMatchObject({ code: "IPC_ERR_PROCESS_EXIT", exitCode: 3, signal: null });
    expect((await rejection(channel.closed)).code).toBe("IPC_ERR_PROCESS_EXIT");
  });

  it("a child that closes its side and goes on running: iteration ends cleanly, closed waits for the exit", async () => {
    const channel = await node("close-and-linger", "200");
    const seen: string[] = [];
    for await (const message of channel) seen.push(decoder.decode(message));
    expect(seen).toEqual(["closing"]);
    await expect(channel.closed).resolves.toBeUndefined();
    expect(await channel.exited).toEqual({ code: 0, signal: null });
  });

  it("abort() stops the child: closed rejects with the reason, and the child got killSignal", async () => {
    const channel = await node("echo");
    expect(await roundTrip(channel, "ping")).toBe("ping");
    const reason = new Error("enough");
    channel.abort(reason);
    expect(await rejection(channel.closed)).toBe(reason);
    expect(await channel.exited).toEqual({ code: null, signal: "SIGTERM" });
  });

  it("gives the child socketpairs by default, and real pipes of pipeCapacity bytes when asked", async () => {
    for (const [options, expected] of [
      [{}, "socket"],
      [{ pipeCapacity: 1024 * 1024 }, 1024 * 1024],
    ] as const) {
      const channel = await spawnChannel(process.execPath, [child, "capacity"], options);
      const sizes = JSON.parse(decoder.decode(await channel.receive({ timeout: 10_000 }))) as object;
      expect(sizes).toEqual({ stdin: expected, stdout: expected });
      await channel.close({ timeout: 10_000 });
    }
  });

  it.skipIf(hasCapSysResource())(
    `pipeCapacity above pipe-max-size rejects with PermissionDeniedError before anything starts${hasCapSysResource() ? " (skipped: this process has CAP_SYS_RESOURCE)" : ""}`,
    async () => {
      const error = await rejection(spawnChannel(process.execPath, [child, "echo"], { pipeCapacity: 2 * maxPipeCapacity() }));
      expect(error.code).toBe("IPC_ERR_PERMISSION_DENIED");
      expect(error.message).toMatch(/pipe-max-size \(\d+ bytes\)/);
    },
  );

  it("batches small messages: 10 000 sends of 64 bytes from the child take a handful of write calls", async () => {
    const channel = await node("burst", "10000");
    for (let i = 0; i < 10_000; i++) expect((await channel.receive({ timeout: 10_000 }))?.byteLength).toBe(64);
    const { writes } = JSON.parse(decoder.decode(await channel.receive({ timeout: 10_000 }))) as { writes: number };
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(100);
    await channel.close({ timeout: 10_000 });
  });

  it("garbage from a child fails its connection with a typed error and stops it; another channel is untouched", async () => {
    const healthy = await node("echo");
    // "hello world": its first 4 bytes read as a length of 1 751 477 356, over the 16 MiB limit.
    const garbage = await spawnChannel("sh", ["-c", "printf 'hello world'; exec sleep 30"]);
    const error = await rejection(garbage.receive({ timeout: 10_000 }));
    expect(error.code).toBe("IPC_ERR_FRAME_TOO_LARGE");
    expect((await rejection(garbage.closed)).code).toBe("IPC_ERR_FRAME_TOO_LARGE");
    expect(await garbage.exited).toEqual({ code: null, signal: "SIGTERM" });
    expect(await roundTrip(healthy, "unaffected")).toBe("unaffected");
    await healthy.close({ timeout: 10_000 });
  });

  it("a child that exits cleanly inside a frame fails the connection with ProtocolError", async () => {
    const truncated = await spawnChannel("printf", ["\\000\\000\\000\\010abc"]);
    const error = await rejection(truncated.receive({ timeout: 10_000 }));
    expect(error.code).toBe("IPC_ERR_PROTOCOL");
    expect(error.message).toMatch(/5 missing/);
  });

  it("rejects a command that does not exist with SpawnError, and an already aborted signal with AbortError", async () => {
    expect((await rejection(spawnChannel("no-such-command-anywhere"))).code).toBe("IPC_ERR_SPAWN");
    const aborted = AbortSignal.abort(new Error("no"));
    expect((await rejection(spawnChannel(process.execPath, [child], { signal: aborted }))).code).toBe("IPC_ERR_ABORTED");
    expect((await rejection(spawnChannel("true", [], { stderr: "lines" as "pipe" }))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
  });

  it("parentChannel() refuses a stdin that is not a pipe, saying why", () => {
    const input = join(dir, "input.txt");
    writeFileSync(input, "not frames");
    const script = `
      const { parentChannel } = await import(${JSON.stringify(dist)});
      const codes = [];
      try { parentChannel(); } catch (error) { codes.push(error.code, error.message); }
      console.error(JSON.stringify(codes));`;
    const fd = openSync(input, "r");
    try {
      const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { stdio: [fd, "pipe", "pipe"] });
      const [code, message] = JSON.parse(result.stderr.toString()) as string[];
      expect(code).toBe("IPC_ERR_INVALID_ARGUMENT");
      expect(message).toMatch(/stdin is a file, not a pipe/);
    } finally {
      closeSync(fd);
    }
  });
});
