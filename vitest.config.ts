import { existsSync, readFileSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { configDefaults, defineConfig } from "vitest/config";

/**
 * The tests that run a second time with the native layer switched off (IPC_NATIVE=off, as on a platform
 * without @ipc/native's system calls), in the project "native-off": @ipc/native's own tests, each package's
 * test/native-off.test.ts (what Node alone still does there, and the UnsupportedError of each feature that
 * needs native calls), the Unix socket conformance suite (the node:net bind/connect and accept paths, with
 * the channel layers over them) and RPC over Unix sockets: about 20 s in all. Chosen for coverage per
 * second: TCP and pipes without native calls differ from their native runs only in what their native-off
 * tests check, so their full suites (a minute more) do not run twice.
 */
const NATIVE_OFF = [
  "packages/native/test/**/*.test.ts",
  "packages/*/test/native-off.test.ts",
  "packages/unix/test/conformance.test.ts",
  "packages/rpc/test/transports-unix.test.ts",
];

/** One project per workspace package that has tests, named after the package, inheriting this config. */
function projects(): { extends: true; test: { name: string; root: string; exclude?: string[] } }[] {
  const roots = [...readdirSync("packages").map((name) => join("packages", name)), "examples"];
  return roots
    .filter((root) => existsSync(join(root, "test")) && existsSync(join(root, "package.json")))
    .map((root) => ({
      extends: true,
      test: {
        name: (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string }).name,
        root,
        // native-off.test.ts runs only in the "native-off" project below.
        exclude: [...configDefaults.exclude, "test/native-off.test.ts"],
      },
    }));
}

export default defineConfig({
  // Tests run the TypeScript sources of sibling packages through their "@ipc/source" export condition;
  // the workspace packages must not be externalized, or Node would load their built dist/ instead.
  ssr: {
    noExternal: [/^@ipc\//],
    resolve: { conditions: ["@ipc/source", "module", "node", "development|production"] },
  },
  test: {
    // Generous per-test and per-hook limits, for every project (each inherits this config). Vitest's defaults
    // (5 s per test, 10 s per hook) are exceeded by tests that start child processes or servers when the
    // machine is busy: at a load average of 6 on 2 cores a test that takes 1 s alone can take 5 s or more.
    // A limit here only guards against a hang; no test relies on it to pass, and the tests themselves wait
    // for events, never for time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two test files at a time on a 2-core machine (vitest's default there is one: cores - 1). Measured on 2
    // cores, the whole suite: alone, 1 worker 107 s, 2 workers 113 s (the same); with two CPU-bound processes
    // beside it (load average 4-6), 1 worker 414 s, 2 workers 257 s, 3 workers 229 s (at load 8.5). On a busy
    // machine a second worker gets the suite its share of the CPU; a third adds little but load. On larger
    // machines, vitest's default.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [...projects(), { extends: true, test: { name: "native-off", root: ".", include: NATIVE_OFF, env: { IPC_NATIVE: "off" } } }],
  },
});
