// An instance's front server against the pool ↔ runtime contract, with the same cases as the
// claim API (test/worker/provision-contract.test.ts): what the pool refuses, the instance refuses
// naming the same field; what the pool accepts, the instance accepts (one real provision, then
// every other accepted body gets past validation to the "already bound" check).
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCEPTED, INVALID_UTF8, REFUSED } from "../support/provision-cases.ts";
import { readTranscript, startRuntime, type RuntimeHandle } from "./support.ts";

let r: RuntimeHandle;
beforeAll(async () => {
  r = await startRuntime();
  await r.waitReady();
});
afterAll(async () => {
  await r?.stop();
});

const post = (body: BodyInit) =>
  fetch(`${r.url}/pool/provision`, { method: "POST", headers: { authorization: `Bearer ${r.token}`, "content-type": "application/json" }, body }).then(async (res) => ({
    status: res.status,
    body: (await res.json()) as { error: { code: string; message: string } },
  }));

describe("provision bodies the pool refuses", () => {
  it.each(REFUSED)("$name → 400 naming $field", async ({ body, field, instance }) => {
    const res = await r.call("POST", "/pool/provision", body);
    expect(res.status).toBe(instance ?? 400);
    if (!instance) expect(res.body.error.message.startsWith(field)).toBe(true);
  });

  it("invalid UTF-8 is refused, not turned into replacement characters", async () => {
    const res = await post(INVALID_UTF8);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_utf8");
  });

  it("none of them bound the instance", async () => {
    expect((await r.call("GET", "/convos/status")).body).toMatchObject({ clean: true, conversationId: null });
  });
});

describe("provision bodies the pool accepts", () => {
  it("the largest one provisions (forwarded to the plugin within its 64 KiB), the others pass validation", async () => {
    const [largest, ...others] = ACCEPTED;
    const first = await r.call("POST", "/pool/provision", largest!.body);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ status: "created" });
    expect(fs.readFileSync(path.join(r.stateDir, "workspace", "INSTRUCTIONS.md"), "utf8")).toHaveLength(32 * 1024 + 1);
    expect(readTranscript(r.convosHome).filter((e) => e.command === "conversations:create")).toHaveLength(1);
    for (const { name, body } of others) {
      const res = await r.call("POST", "/pool/provision", body);
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(409);
      expect(res.body.error.code).toBe("already_bound");
    }
  });
});
