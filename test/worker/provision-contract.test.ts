import { describe, expect, it } from "vitest";
import { ACCEPTED, INVALID_UTF8, REFUSED } from "../support/provision-cases";
import { api, fillPool, json, setFaults, supervisorState } from "./helpers";

/**
 * The claim API against the pool ↔ runtime contract: what it refuses, it refuses with a 400
 * naming the field (not a 502 from an instance that refused it); what it accepts, an instance
 * that checks the same contract (the simulated one here; the real front server in
 * test/runtime/provision-contract.test.ts) accepts.
 */
const claim = (body: unknown, headers: Record<string, string> = {}) => json(api("/api/pool/claim", { method: "POST", json: body, headers }));

describe("claim bodies every instance would refuse", () => {
  it.each(REFUSED)("$name → 400 naming $field", async ({ body, field }) => {
    const res = await claim(body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
    expect(res.body.error.message).toContain(field);
  });

  it("invalid UTF-8 is refused, not turned into replacement characters", async () => {
    const res = await json(api("/api/pool/claim", { method: "POST", body: INVALID_UTF8, headers: { "content-type": "application/json" } }));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_utf8");
  });
});

describe("claim bodies at the contract's limits", () => {
  it("are accepted by the pool and by the instance it provisions", async () => {
    await fillPool(ACCEPTED.length);
    for (const { name, body } of ACCEPTED) {
      const res = await claim(body);
      expect(res.status, `${name}: ${JSON.stringify(res.body).slice(0, 200)}`).toBe(200);
    }
  });
});

describe("invite URLs are canonicalised before the dedupe and before storing", () => {
  it("two spellings of one invite claimed together are one join, stored in the canonical form", async () => {
    await fillPool(2);
    await setFaults({ provisionDelayMs: 300 });
    const [a, b] = await Promise.all([claim({ joinUrl: "https://DEV.convos.org/v2?i=abcdefgh123" }), claim({ joinUrl: "https://dev.convos.org/v2?utm_source=x&i=abcdefgh123#top" })]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect([a, b].find((r) => r.status === 409)!.body.error.code).toBe("join_in_progress");
    const joined = [a, b].find((r) => r.status === 200)!.body;
    expect(joined.inviteUrl).toBe("https://dev.convos.org/v2?i=abcdefgh123");
    const row = (await json(api(`/api/pool/instances/${joined.instanceId}`))).body;
    expect(row.inviteUrl).toBe("https://dev.convos.org/v2?i=abcdefgh123");
    // Only one instance was ever asked to join.
    expect((await supervisorState()).services.filter((s) => s.conversationId)).toHaveLength(1);
  });
});
