import { defineProject } from "vitest/config";

// Real headless Chromium (Debian's package) against the Worker served locally by Miniflare.
export default defineProject({
  test: {
    name: "browser",
    include: ["**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false,
  },
});
