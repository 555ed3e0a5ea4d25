import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

/** One project per workspace package that has tests, named after the package, inheriting this config. */
function projects(): { extends: true; test: { name: string; root: string } }[] {
  const roots = [...readdirSync("packages").map((name) => join("packages", name)), "examples"];
  return roots
    .filter((root) => existsSync(join(root, "test")) && existsSync(join(root, "package.json")))
    .map((root) => ({
      extends: true,
      test: { name: (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string }).name, root },
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
    projects: projects(),
  },
});
