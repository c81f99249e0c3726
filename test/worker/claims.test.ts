import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, counts, fillPool, json, setFaults, supervisorState, tick } from "./helpers";

const claim = (body: unknown = {}, headers: Record<string, string> = {}) => json(api("/api/pool/claim", { method: "POST", json: body, headers }));
const detail = async (id: string) => (await json(api(`/api/pool/instances/${id}`))).body;

describe("claim", () => {
  it("hands out the oldest-ready idle instance and binds it to a new conversation", async () => {
    await fillPool(2);
    const agents = (await json(api("/api/pool/agents?status=idle"))).body.agents as { id: string; readyAt: number }[];
    const oldest = [...agents].sort((a, b) => a.readyAt - b.readyAt || a.id.localeCompare(b.id))[0]!;
    const res = await claim({ agentName: "Trip bot", instructions: "Plan our trip" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ instanceId: oldest.id, status: "created", joined: false, agentName: "Trip bot" });
    expect(res.body.inviteUrl).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/);
    const row = await detail(res.body.instanceId);
    expect(row).toMatchObject({ status: "claimed", conversationId: res.body.conversationId, inviteUrl: res.body.inviteUrl, claimStatus: "created" });
    const svc = (await supervisorState()).services.find((s) => s.instanceId === res.body.instanceId)!;
    expect(svc.conversationId).toBe(res.body.conversationId);
  });

  it("joins a conversation from an invite of this pool's network", async () => {
    await fillPool(1);
    const res = await claim({ joinUrl: "https://dev.convos.org/v2?i=someInviteSlug123" });
    expect(res).toMatchObject({ status: 200, body: { status: "joined", joined: true } });
  });

  it("uses a template's name and instructions", async () => {
    await fillPool(1);
    const res = await claim({ template: "trip-planner" });
    expect(res.body.agentName).toBe("Trip Planner");
    expect((await detail(res.body.instanceId)).template).toBe("trip-planner");
    expect((await claim({ template: "no-such-template" })).status).toBe(404);
  });

  it("an empty pool answers 503 with Retry-After and starts replenishing at once", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 2 } });
    const res = await claim();
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(res.body.error.code).toBe("pool_empty");
    // No tick has run: the creates were started by the claim itself.
    await expect.poll(async () => (await counts()).starting, { timeout: 5_000 }).toBe(2);
  });

  it("stores the gateway token sealed, never in clear", async () => {
    await fillPool(1);
    const row = await env.DB.prepare("SELECT id, gateway_token_sealed FROM instances").first<{ id: string; gateway_token_sealed: string }>();
    expect(row!.gateway_token_sealed).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    const state = await fetch("http://supervisor.test/_control/state").then((r) => r.json() as Promise<{ services: unknown[] }>);
    expect(JSON.stringify(await env.DB.prepare("SELECT * FROM instances").all())).not.toContain("GATEWAY_TOKEN");
    expect(state.services).toHaveLength(1);
  });
});

describe("idempotency", () => {
  it("the same key and body returns the same result, even while the first is in flight", async () => {
    await fillPool(3);
    await setFaults({ provisionDelayMs: 300 });
    const key = { "idempotency-key": "order-42" };
    const [a, b] = await Promise.all([claim({ agentName: "A" }, key), claim({ agentName: "A" }, key)]);
    expect(a.status).toBe(200);
    expect(b.body).toEqual(a.body);
    const c = await claim({ agentName: "A" }, key);
    expect(c.body).toEqual(a.body);
    expect(c.headers.get("idempotent-replayed")).toBe("true");
    expect((await counts()).claimed).toBe(1);
  });

  it("the same key with another body is a 422", async () => {
    await fillPool(2);
    await claim({ agentName: "A" }, { "idempotency-key": "k1" });
    const res = await claim({ agentName: "B" }, { "idempotency-key": "k1" });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("idempotency_conflict");
    expect((await counts()).claimed).toBe(1);
  });

  it("a key whose claim found the pool empty can be retried", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0 } });
    expect((await claim({}, { "idempotency-key": "retry-me" })).status).toBe(503);
    await fillPool(1);
    expect((await claim({}, { "idempotency-key": "retry-me" })).status).toBe(200);
  });
});

describe("joins of the same invite", () => {
  it("are never provisioned twice at once", async () => {
    await fillPool(2);
    await setFaults({ provisionDelayMs: 300 });
    const joinUrl = "https://dev.convos.org/v2?i=sharedInvite0001";
    const [a, b] = await Promise.all([claim({ joinUrl }), claim({ joinUrl })]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect([a, b].find((r) => r.status === 409)!.body.error.code).toBe("join_in_progress");
    expect((await counts()).idle).toBe(1);
  });
});

describe("provisioning failures", () => {
  it("a 409 from the instance means it was already bound: crashed, and the claim fails", async () => {
    await fillPool(1);
    await setFaults({ provisionStatus: 409 });
    const res = await claim();
    expect(res.status).toBe(502);
    const row = await detail(res.body.error.details.instanceId);
    expect(row.status).toBe("crashed");
    expect(row.statusReason).toMatch(/tainted/);
  });

  it("a failure that left the instance clean returns it to the pool", async () => {
    await fillPool(1);
    await setFaults({ provisionStatus: 500 });
    const res = await claim();
    expect(res.status).toBe(502);
    const row = await detail(res.body.error.details.instanceId);
    expect(row.status).toBe("idle");
    await setFaults({});
    expect((await claim()).status).toBe(200);
  });

  it("a failure that left the instance dirty marks it crashed", async () => {
    await fillPool(1);
    await setFaults({ provisionStatus: 500, dirtyAfterFailedProvision: true });
    const res = await claim();
    expect((await detail(res.body.error.details.instanceId)).status).toBe("crashed");
  });

  it("a crashed instance stays until an operator dismisses it, and is replaced meanwhile", async () => {
    await fillPool(1);
    await setFaults({ provisionStatus: 409 });
    const res = await claim();
    const id = res.body.error.details.instanceId;
    await setFaults({});
    await tick();
    await tick();
    expect(await counts()).toMatchObject({ crashed: 1, idle: 1 });
    expect((await json(api(`/api/pool/crashed/${id}`, { method: "DELETE" }))).status).toBe(202);
    await tick();
    expect((await detail(id)).status).toBe("deleted");
    expect((await supervisorState()).services.map((s) => s.instanceId)).not.toContain(id);
  });
});
