import { defineConfig } from "vitest/config";

// One vitest run, several projects: the Workers-runtime suites (Miniflare), the runtime
// container's Node suites, and the whole-system suites. Each project owns its config.
export default defineConfig({
  test: {
    projects: ["test/*/vitest.config.ts"],
  },
});
