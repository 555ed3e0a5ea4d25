import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tests run the TypeScript sources of sibling packages through their "@ipc/source" export condition.
  ssr: { resolve: { conditions: ["@ipc/source", "module", "node", "development|production"] } },
  test: {
    projects: ["packages/*", "examples"],
  },
});
