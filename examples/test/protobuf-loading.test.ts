/**
 * Only the packages that use the shared protobuf schemas load protobufjs: `import "@ipc/core"` (the contract)
 * and every transport never do; `@ipc/core/proto` (the generated code of proto/ipc.proto) does, and so do the
 * layers that put messages in the envelope. Each import runs in a child process of its own, from the built
 * dist/ that users get.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const program = fileURLToPath(new URL("./fixtures/commonjs-loaded.mjs", import.meta.url));

/** The CommonJS files loaded once `specifier` is imported in a fresh process. */
async function commonJsLoadedBy(specifier: string): Promise<string[]> {
  const core = fileURLToPath(new URL("../../packages/core/dist/index.js", import.meta.url));
  if (!existsSync(core)) throw new Error("the packages are not built: run `pnpm run build` first");
  // Generous: a child Node process can take seconds to start on a busy 2-core machine.
  const { stdout } = await run(process.execPath, [program, specifier], { timeout: 60_000 });
  return stdout.split("\n").filter((line) => line !== "");
}

const protobufjs = (files: string[]): string[] => files.filter((file) => /[/\\]protobufjs[/\\]/.test(file));

describe("protobufjs is loaded only where the protobuf schemas are used", () => {
  for (const specifier of ["@ipc/core", "@ipc/framing", "@ipc/unix", "@ipc/tcp", "@ipc/pipe", "@ipc/shm"]) {
    it(`import "${specifier}" does not load protobufjs`, async () => {
      const files = await commonJsLoadedBy(specifier);
      expect(protobufjs(files), `${specifier} loaded:\n${files.join("\n")}`).toEqual([]);
    });
  }

  // The same check sees protobufjs where it is loaded: it would not pass above by looking in the wrong place.
  for (const specifier of ["@ipc/core/proto", "@ipc/channels", "@ipc/rpc"]) {
    it(`import "${specifier}" loads it`, async () => {
      expect(protobufjs(await commonJsLoadedBy(specifier))).not.toEqual([]);
    });
  }
});
