import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The runtime container's Node suites: front server, convos plugin, fake CLI, image layout,
// and one test against a real `openclaw gateway run`.
const root = fileURLToPath(new URL("../..", import.meta.url));

export default defineConfig({
  test: {
    name: "runtime",
    root,
    include: ["test/runtime/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The suites spawn processes on free ports; files run in parallel, tests within a file in order.
    fileParallelism: true,
  },
});
