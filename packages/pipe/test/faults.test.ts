import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProcessExitError, pipeline, run, spawnChannel, spawnLines, type ChildChannel } from "../src/index.js";
import { fixture, isOurZombie, openFds, pidFrom, rejection, tempDir } from "./helpers.js";

const dir = tempDir("faults");
let serial = 0;

describe("faults", () => {
  describe("a child SIGKILLed mid-stream: a typed error, no hang, no zombie", () => {
    it("run()", async () => {
      const pidFile = join(dir, `pid-${++serial}`);
      const running = run("sh", ["-c", `echo $$ > ${pidFile}; exec yes`], { maxOutput: Infinity });
      const pid = await pidFrom(pidFile);
      process.kill(pid, "SIGKILL");
      const error = (await rejection(running)) as ProcessExitError;
      expect(error.code).toBe("IPC_ERR_PROCESS_EXIT");
      expect(error.signal).toBe("SIGKILL");
      expect(isOurZombie(pid)).toBe(false);
    });

    it("spawnLines()", async () => {
      const yes = await spawnLines("yes", [], { stderr: "ignore" });
      let lines = 0;
      const error = await rejection(
        (async () => {
          for await (const _line of yes.stdout) if (++lines === 1000) process.kill(yes.pid, "SIGKILL");
        })(),
      );
      expect(error).toMatchObject({ code: "IPC_ERR_PROCESS_EXIT", signal: "SIGKILL" });
      expect(isOurZombie(yes.pid)).toBe(false);
    });

    it("spawnChannel(): the messages before the kill, then ProcessExitError", async () => {
      const channel = await spawnChannel(process.execPath, [fixture("channel-child.mjs"), "send-forever"]);
      let received = 0;
      const error = await rejection(
        (async () => {
          for await (const message of channel) {
            expect(message.byteLength).toBe(1024);
            if (++received === 1000) process.kill(channel.pid, "SIGKILL");
          }
        })(),
      );
      expect(received).toBeGreaterThanOrEqual(1000);
      expect(error).toMatchObject({ code: "IPC_ERR_PROCESS_EXIT", signal: "SIGKILL" });
      expect((await rejection(channel.closed)).code).toBe("IPC_ERR_PROCESS_EXIT");
      expect(isOurZombie(channel.pid)).toBe(false);
    });

    it("pipeline(): a stage killed mid-stream fails the pipeline and stops the rest", async () => {
      const pidFile = join(dir, `pid-${++serial}`);
      const running = pipeline([["sh", "-c", `echo $$ > ${pidFile}; exec yes`], ["cat"], ["wc", "-c"]]);
      const pid = await pidFrom(pidFile);
      process.kill(pid, "SIGKILL");
      const error = (await rejection(running)) as ProcessExitError;
      expect(error).toMatchObject({ code: "IPC_ERR_PROCESS_EXIT", signal: "SIGKILL" });
      expect(error.message).toMatch(/^pipeline stage 1 of 3/);
      expect(isOurZombie(pid)).toBe(false);
    });
  });

  it("a child that floods stderr before reading its stdin does not deadlock the parent writing it", { timeout: 60_000 }, async () => {
    const size = 32 * 1024 * 1024;
    const result = await run("sh", ["-c", `head -c ${size} /dev/zero >&2; wc -c`], { input: Buffer.alloc(size, 0x78) });
    expect(result.stdout.trim()).toBe(String(size));
    expect(result.stderr.length).toBe(size);
  });

  it("a stage that exits early (head -1) causes no unhandled EPIPE, whether this process or a stage was writing", { timeout: 30_000 }, async () => {
    const lines = Buffer.from("a line of input\n".repeat(1024 * 1024));
    expect((await run("head", ["-1"], { input: lines })).stdout).toBe("a line of input\n");
    expect((await pipeline([["head", "-1"]], { input: lines })).stdout).toBe("a line of input\n");
    const through = await pipeline([["cat"], ["head", "-1"]], { input: lines });
    expect(through.stdout).toBe("a line of input\n");
    expect(through.stages[0]!.signal === "SIGPIPE" || through.stages[0]!.code === 0).toBe(true);
    const channel = await spawnChannel("head", ["-c", "8"]);
    const sending = rejection(
      (async () => {
        for (let i = 0; i < 10_000; i++) await channel.send(new Uint8Array(1000));
      })(),
    );
    const closed = await rejection(channel.closed);
    // head passes on 8 bytes (a header and 4 of its 1000 bytes) and exits 0: a frame cut short
    // (ProtocolError) or a broken pipe on this side (ConnectionResetError), typed either way.
    expect(["IPC_ERR_CONNECTION_RESET", "IPC_ERR_PROTOCOL"]).toContain(closed.code);
    expect((await sending).code).toBe(closed.code);
  });
});

describe("bad input from a channel's child: a typed error, the child stopped or reaped, no descriptor left, others untouched", () => {
  let healthy: ChildChannel;
  beforeAll(async () => {
    healthy = await spawnChannel(process.execPath, [fixture("channel-child.mjs"), "echo"]);
  });
  afterAll(async () => {
    await healthy.close({ timeout: 10_000 });
  });

  // What the child writes (printf's octal escapes), what the connection ends with, and how the child ends.
  const cases = [
    {
      // 0xFFFFFFFE: 0xFFFFFFFF announces an end reason (docs/wire.md §2.4), never a frame.
      name: "a huge length (4 GiB) is refused before anything is allocated, and the child is stopped",
      script: "printf '\\377\\377\\377\\376'; exec sleep 30",
      code: "IPC_ERR_FRAME_TOO_LARGE",
      status: { code: null, signal: "SIGTERM" },
      before: [],
    },
    {
      name: "a whole frame, then garbage: the frame arrives, then the typed error",
      script: "printf '\\000\\000\\000\\002ok'; printf 'garbage!'; exec sleep 30",
      code: "IPC_ERR_FRAME_TOO_LARGE",
      status: { code: null, signal: "SIGTERM" },
      before: ["ok"],
    },
    {
      name: "half a frame, then a clean exit: ProtocolError",
      script: "printf '\\000\\000\\000\\010abc'",
      code: "IPC_ERR_PROTOCOL",
      status: { code: 0, signal: null },
      before: [],
    },
    {
      name: "half a frame, then a failing exit: ProcessExitError with the code",
      script: "printf '\\000\\000\\000\\010abc'; exit 3",
      code: "IPC_ERR_PROCESS_EXIT",
      status: { code: 3, signal: null },
      before: [],
    },
    {
      name: "killed in the middle of a message: ProcessExitError with the signal",
      script: "printf '\\000\\000\\001\\000abc'; kill -KILL $$",
      code: "IPC_ERR_PROCESS_EXIT",
      status: { code: null, signal: "SIGKILL" },
      before: [],
    },
  ] as const;

  for (const { name, script, code, status, before } of cases) {
    it(name, async () => {
      const fds = openFds();
      const channel = await spawnChannel("sh", ["-c", script], { stderr: "pipe" });
      const received: string[] = [];
      const error = await rejection(
        (async () => {
          for await (const message of channel) received.push(new TextDecoder().decode(message));
        })(),
      );
      expect(received).toEqual(before);
      expect(error.code).toBe(code);
      expect((await rejection(channel.closed)).code).toBe(code);
      expect(await channel.exited).toEqual(status);
      expect(isOurZombie(channel.pid)).toBe(false);
      // Every pipe of the channel is closed (the socket closes land a tick or two after `closed`; polled
      // generously, for a busy machine: a descriptor left open never matches, so a leak still fails).
      await expect.poll(openFds, { timeout: 20_000 }).toEqual(fds);
      await healthy.send(new TextEncoder().encode(name));
      expect(new TextDecoder().decode(await healthy.receive({ timeout: 10_000 }))).toBe(name);
    });
  }
});
