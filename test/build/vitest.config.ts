import { defineProject } from "vitest/config";

// Checks of the project as a whole: types, the deployable bundle, migrations in sync.
export default defineProject({
  test: {
    name: "build",
    include: ["**/*.test.ts"],
    environment: "node",
    testTimeout: 240_000,
  },
});
