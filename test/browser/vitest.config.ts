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
    // Runs only when a browser suite is about to run: stops with one line if Chromium is missing.
    globalSetup: ["./require-chromium.ts"],
  },
});
