import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { MAX_SERVICE_NAME } from "../../worker/providers/compute/railway";

describe("service names on Railway", () => {
  it("every environment's SERVICE_PREFIX leaves room for an instance id within Railway's 32 characters", () => {
    const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");
    const prefixes = [...toml.matchAll(/^SERVICE_PREFIX = "([^"]*)"/gm)].map((m) => m[1]!);
    expect(prefixes.length).toBeGreaterThanOrEqual(4);
    // The name create-instance gives a service: `${SERVICE_PREFIX}-${instanceId}`.
    for (const prefix of prefixes) expect(`${prefix}-${newId("i")}`.length, prefix).toBeLessThanOrEqual(MAX_SERVICE_NAME);
  });
});
