import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The variables the pool gives a Railway service (create-instance + providers) are read by the
 * runtime container by name. A rename on either side would boot agents without their skills,
 * silently; this check reads the runtime's sources and fails instead.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));

// What a fully configured pool sets on every service (see test/worker/providers/pipeline.test.ts).
const SENT = [
  "PORT",
  "INSTANCE_ID",
  "GATEWAY_TOKEN",
  "POOL_URL",
  "XMTP_ENV",
  "OPENROUTER_API_KEY",
  "OPENCLAW_PRIMARY_MODEL",
  "AGENTMAIL_API_KEY",
  "AGENTMAIL_INBOX",
  "TELNYX_API_KEY",
  "TELNYX_PHONE_NUMBER",
  "BANKR_API_KEY",
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules") return [];
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|mjs|js)$/.test(name) ? [readFileSync(path, "utf8")] : [];
  });
}

describe("service variables the runtime container reads", () => {
  const runtime = [...sources(join(root, "runtime-container/src")), ...sources(join(root, "runtime-container/openclaw/skills"))].join("\n");
  const providers = [...sources(join(root, "worker/providers")), readFileSync(join(root, "durable-objects/pool-coordinator/create-instance.ts"), "utf8")].join("\n");

  for (const name of SENT) {
    it(`${name} is set by the pool and read by the runtime`, () => {
      expect(providers, `the pool no longer sets ${name}`).toContain(name);
      expect(runtime, `the runtime does not read ${name}`).toMatch(new RegExp(`\\b${name}\\b`));
    });
  }
});
