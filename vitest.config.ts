import { defineConfig } from "vitest/config";

// One vitest run, several projects: the Workers-runtime suites (Miniflare), the runtime
// container's Node suites, the browser and whole-system suites, and the build checks. Each
// project owns its config. The JSON report is what CI counts.
export default defineConfig({
  test: {
    projects: ["test/*/vitest.config.ts"],
    reporters: ["default", ["json", { outputFile: ".test-results/vitest.json" }]],
  },
});
