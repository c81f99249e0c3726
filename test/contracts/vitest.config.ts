import { defineProject } from "vitest/config";

// Node-side checks of the providers' contracts: the documents and shapes our clients send
// and expect, checked against the providers' published schemas in test/support/fixtures.
export default defineProject({
  test: { name: "contracts", include: ["**/*.test.ts"], environment: "node" },
});
