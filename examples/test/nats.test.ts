import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const dist = fileURLToPath(new URL("../dist/", import.meta.url));
const installed = ["nats-server", "/usr/sbin/nats-server"].some((b) => spawnSync(b, ["--version"], { stdio: "ignore" }).status === 0);
const why = installed ? "" : " (skipped: nats-server is not installed (Debian: apt-get install nats-server))";

/** Runs an example as a user would (from its built JavaScript) and returns its stdout. */
async function example(name: string, ...args: string[]): Promise<string> {
  const file = `${dist}${name}.js`;
  if (!existsSync(file)) throw new Error(`${file} is missing: build the workspace first (pnpm build)`);
  const env = { ...process.env };
  delete env.NATS_URL; // each example starts its own nats-server on a free port
  const { stdout } = await run(process.execPath, [file, ...args], { timeout: 60_000, env });
  return stdout;
}

describe.skipIf(!installed)(`the @ipc/nats examples run and say what they should${why}`, () => {
  it("nats-worker-pool: 3 processes in a queue group share the calls", { timeout: 90_000 }, async () => {
    const out = await example("nats-worker-pool");
    expect(out).toContain("primes below 200000: 17984");
    expect(out).toContain("primes below 490000: 40766");
    expect(out).toMatch(/30 calls answered by 3 of 3 workers: \d+ \+ \d+ \+ \d+/);
    expect(out).toContain("workers exited with codes 0, 0, 0");
  });

  it("nats-local-first: the same code calls over the socket here and through NATS elsewhere", { timeout: 90_000 }, async () => {
    const out = await example("nats-local-first");
    expect(out).toContain("server ready unix://<tmp>/calc.sock");
    expect(out).toContain("this machine: Add(19, 23) = 42 locally over unix://<tmp>/calc.sock, from the server process");
    expect(out).toContain("another-machine: Add(19, 23) = 42 through NATS, from the server process");
    expect(out).toContain("server exited with code 0");
  });
});
