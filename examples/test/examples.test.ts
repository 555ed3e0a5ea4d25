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
  const { stdout } = await run(process.execPath, [file], { timeout: 30_000 });
  return stdout;
}

describe("examples run and say what they should", () => {
  it("memory-echo", async () => {
    const out = await example("memory-echo");
    expect(out).toContain("sent hello → got hello");
    expect(out).toContain("sent memory → got memory");
    expect(out).toMatch(/done\n$/);
  });

  it("framing-sticky-packets", async () => {
    const out = await example("framing-sticky-packets");
    expect(out).toMatch(/bytes in 6 writes became 4 messages/);
    expect(out).toContain(`"Message 2"`);
    expect(out).toContain(`"a message that arrives in pieces"`);
  });

  it("message-channel", async () => {
    const out = await example("message-channel");
    expect(out).toContain(`parent sent text "hello child" → got text "hello child"`);
    expect(out).toContain("parent sent binary [1, 2, 3] → got binary [1, 2, 3]");
    expect(out).toContain(`parent sent command add 19 23 → got text "sum = 42"`);
    expect(out).toContain("child exited with code 0");
  });

  it("the runner lists the examples", async () => {
    const { stderr } = await run(process.execPath, [`${dist}run-example.js`]);
    expect(stderr).toMatch(/examples: .*memory-echo/);
  });
});
