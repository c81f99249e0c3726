import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { createFakeCloud, TEST_SUPERVISOR_TOKEN, TEST_SUPERVISOR_URL } from "../support/fake-cloud.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

export const TEST_SECRETS = {
  POOL_API_KEY: "test-pool-key-0123456789abcdef",
  POOL_ENCRYPTION_KEY: "test-encryption-key-0123456789abcdef",
  SESSION_SECRET: "test-session-secret-0123456789abcdef",
  LOCAL_SUPERVISOR_TOKEN: TEST_SUPERVISOR_TOKEN,
};

export default defineProject(async () => {
  const migrations = await readD1Migrations(`${root}/migrations`);
  const cloud = createFakeCloud();
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: `${root}/wrangler.toml` },
        miniflare: {
          bindings: {
            ...TEST_SECRETS,
            COMPUTE_PROVIDER: "local",
            LOCAL_SUPERVISOR_URL: TEST_SUPERVISOR_URL,
            TEST_MIGRATIONS: migrations,
          },
          outboundService: (request: Request) => cloud.fetch(request),
        },
      }),
    ],
    // One zod for the Worker and the pool ↔ runtime contract it imports from runtime-container/ (as wrangler.toml's [alias]).
    resolve: { dedupe: ["zod"] },
    test: {
      name: "worker",
      include: ["**/*.test.ts"],
      setupFiles: ["./setup.ts"],
      // The fakes live in this one Node process and are shared by all files: run files one at a time.
      fileParallelism: false,
    },
  };
});
