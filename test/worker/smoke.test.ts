import { describe, expect, it } from "vitest";
import { api, counts, fillPool, json, tick } from "./helpers";

describe("smoke", () => {
  it("fills and claims", async () => {
    await fillPool(3);
    expect((await counts()).idle).toBe(3);
    const res = await json(api("/api/pool/claim", { method: "POST", json: { agentName: "Bob" } }));
    expect(res.status).toBe(200);
    expect(res.body.inviteUrl).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/);
    await tick();
  });
});
