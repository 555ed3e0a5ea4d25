import { execFile, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { ConformanceFixture } from "../fixture.js";
import { lacking, listen, type Context } from "../harness.js";

const run = promisify(execFile);
const hasPython = spawnSync("python3", ["--version"]).status === 0;

/** Byte-level interop with a client written from docs/wire.md in another language. */
export function interopCases(fixture: ConformanceFixture, ctx: () => Context): void {
  const python = fixture.capabilities.pythonClient;
  const missing = python === undefined || !hasPython;
  const why = python === undefined ? "not a socket transport (capabilities.pythonClient)" : "python3 is not installed";

  describe("interop", () => {
    it.skipIf(missing)(`a python3 client written from docs/wire.md exchanges messages byte for byte${lacking(missing, why)}`, { timeout: 60_000 }, async () => {
      const c = ctx();
      const listener = await listen(c);
      const received: number[][] = [];
      const serving = (async () => {
        const connection = c.resources.connection((await listener.accept({ timeout: 20_000 }))!);
        for await (const message of connection) {
          received.push([message.byteLength, message[0] ?? -1, message[message.byteLength - 1] ?? -1]);
          await connection.send(message);
        }
        await connection.close();
      })();
      const root = dirname(createRequire(import.meta.url).resolve("@ipc/conformance/package.json"));
      const { stdout } = await run("python3", [join(root, "python", "wire_client.py"), listener.address, python!.handshake ? "1" : "0"], {
        timeout: 30_000,
      });
      await serving;
      const report = JSON.parse(stdout) as { ok: boolean; status: string | null; sizes: number[]; clean_end: boolean };
      expect(report).toMatchObject({ ok: true, sizes: [0, 1, 13, 1000, 70000], clean_end: true });
      expect(report.status).toBe(python!.handshake ? "06" : null);
      // What the server saw, byte for byte at the edges: sizes, first and last bytes.
      expect(received).toEqual([
        [0, -1, -1],
        [1, 0x61, 0x61],
        [13, 0x68, 0x64],
        [1000, 3, (999 * 7 + 3) % 256],
        [70000, 1, (69999 * 13 + 1) % 256],
      ]);
    });
  });
}
