import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { run, spawnLines } from "../../src/index.js";
import { findSetpriv } from "../../src/process/parent-death.js";
import { dist, isRunning, killIfRunning, pidFrom, rejection, tempDir, until } from "../helpers.js";

const dir = tempDir("parent-death");
const parent = new URL("./fixtures/orphaning-parent.mjs", import.meta.url).pathname;
const workerParent = new URL("./fixtures/worker-parent.mjs", import.meta.url).pathname;
const hasSetpriv = process.platform === "linux" && findSetpriv() !== undefined;
const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) killIfRunning(pid);
});
let serial = 0;

describe("dieWithParent", () => {
  it.skipIf(!hasSetpriv)(
    "a child (not Node) started by default dies when its parent is killed with SIGKILL; one with dieWithParent: false lives on (skipped without setpriv)",
    // The kernel signals the child as the parent exits, so the child is gone within milliseconds; the
    // bound is the test's timeout, generous only for a loaded 2-core machine (load average ≥ 4).
    { timeout: 60_000 },
    async () => {
      const where = join(dir, `run-${++serial}`);
      await run("mkdir", ["-p", where]);
      const proc = spawn(process.execPath, [parent, dist, where], { stdio: ["ignore", "pipe", "inherit"] });
      leftovers.push(proc.pid!);
      const [line] = (await once(proc.stdout!, "data")) as [Buffer];
      expect(line.toString().trim()).toBe("started");
      const tied = await pidFrom(join(where, "default.pid"));
      const free = await pidFrom(join(where, "opted-out.pid"));
      leftovers.push(tied, free);
      expect(isRunning(tied) && isRunning(free)).toBe(true);
      proc.kill("SIGKILL");
      await once(proc, "exit");
      await until(() => !isRunning(tied)); // the kernel's PR_SET_PDEATHSIG signal
      // The tied child's death shows the parent's exit was handled; the other child got no signal.
      expect(isRunning(free)).toBe(true);
    },
  );

  it.skipIf(!hasSetpriv)(
    "the child keeps its pid, its command line and its exit status; a missing or non-executable command is still the spawn's error",
    async () => {
      const lines = await spawnLines("sh", ["-c", "echo $$; tr '\\0' ' ' < /proc/$$/cmdline; echo; exit 3"], { reject: false });
      const output: string[] = [];
      for await (const line of lines.stdout) output.push(line);
      expect(Number(output[0])).toBe(lines.pid);
      expect(output[1]?.trim()).toBe("sh -c echo $$; tr '\\0' ' ' < /proc/$$/cmdline; echo; exit 3");
      expect((await lines.exited).code).toBe(3);
      expect(await rejection(run("no-such-command-ipc-test"))).toMatchObject({
        name: "SpawnError",
        message: expect.stringContaining("command not found (ENOENT)"),
      });
      const notExecutable = join(dir, `data-${++serial}.txt`);
      writeFileSync(notExecutable, "not a program\n", { mode: 0o644 });
      expect(await rejection(run(notExecutable))).toMatchObject({ code: "IPC_ERR_PERMISSION_DENIED" });
    },
  );

  it("refuses a dieWithParent that is not true, false or a signal name", async () => {
    expect(await rejection(run("true", [], { dieWithParent: "SIGNOPE" as NodeJS.Signals }))).toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
  });

  it.skipIf(!hasSetpriv)(
    "is off by default in a worker thread: there the kernel ties the child to the worker thread, as an explicit dieWithParent shows",
    { timeout: 60_000 }, // generous for a loaded machine, as above
    async () => {
      const where = join(dir, `worker-${++serial}`);
      await run("mkdir", ["-p", where]);
      const proc = spawn(process.execPath, [workerParent, dist, where], { stdio: ["ignore", "pipe", "inherit"] });
      leftovers.push(proc.pid!);
      const [line] = (await once(proc.stdout!, "data")) as [Buffer];
      expect(line.toString().trim()).toBe("terminated");
      const byDefault = await pidFrom(join(where, "default.pid"));
      const explicit = await pidFrom(join(where, "explicit.pid"));
      leftovers.push(byDefault, explicit);
      await until(() => !isRunning(explicit)); // the worker thread ended: PR_SET_PDEATHSIG fired
      expect(isRunning(byDefault)).toBe(true);
      expect(isRunning(proc.pid!)).toBe(true); // while the process itself lives
    },
  );
});
