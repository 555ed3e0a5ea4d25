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
  const { stdout } = await run(process.execPath, [file], { timeout: 60_000 });
  return stdout;
}

describe("otel-rpc: OpenTelemetry spans and metrics from the diagnostics channels", () => {
  it("exports a span per call on each side, with its status and duration, and a duration histogram per method and status", { timeout: 90_000 }, async () => {
    const out = await example("otel-rpc");
    expect(out).toContain("Add(20, 22) = 42");
    expect(out).toContain("Divide(1, 0) failed: INVALID_ARGUMENT");

    const spans = [...out.matchAll(/^ {2}(calc\.Calculator\/\w+) (client|server) (OK|ERROR \(.*\)) (\d+\.\d\d) ms rpc\.ipc\.status=(\w+)$/gm)];
    expect(spans).toHaveLength(10); // 5 calls, seen by the client and by the server
    const summary = spans.map(([, name, kind, status, , code]) => `${name} ${kind} ${status} ${code}`);
    for (const kind of ["client", "server"]) {
      expect(summary.filter((s) => s === `calc.Calculator/Add ${kind} OK OK`)).toHaveLength(3);
      expect(summary.filter((s) => s === `calc.Calculator/Divide ${kind} OK OK`)).toHaveLength(1);
      expect(summary).toContain(`calc.Calculator/Divide ${kind} ERROR (1 / 0 is not a number) INVALID_ARGUMENT`);
    }
    for (const [, , , , ms] of spans) expect(Number(ms)).toBeGreaterThanOrEqual(0);

    for (const side of ["client", "server"]) {
      expect(out).toMatch(new RegExp(`rpc\\.${side}\\.duration\\{rpc\\.method=Add,rpc\\.ipc\\.status=OK\\} count=3 mean=\\d+\\.\\d\\d ms`));
      expect(out).toMatch(new RegExp(`rpc\\.${side}\\.duration\\{rpc\\.method=Divide,rpc\\.ipc\\.status=OK\\} count=1 mean=`));
      expect(out).toMatch(new RegExp(`rpc\\.${side}\\.duration\\{rpc\\.method=Divide,rpc\\.ipc\\.status=INVALID_ARGUMENT\\} count=1 mean=`));
    }
  });
});
