import { defineProject } from "vitest/config";

// The whole system on this machine, as `npm start` runs it: the Worker under Miniflare, the
// local supervisor, and real runtime-container processes (stub gateway, fake convos CLI).
// Files run one at a time: each starts its own pool of processes on a two-core CI box.
export default defineProject({
  test: {
    name: "e2e",
    include: ["**/*.test.ts"],
    environment: "node",
    testTimeout: 90_000,
    hookTimeout: 90_000,
    fileParallelism: false,
  },
});
