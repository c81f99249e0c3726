import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createInstance } from "../../../durable-objects/pool-coordinator/create-instance";
import { teardown } from "../../../durable-objects/pool-coordinator/teardown";
import type { PoolContext } from "../../../durable-objects/pool-coordinator/context";
import { database } from "../../../worker/db/client";
import { getInstance, transition } from "../../../worker/db/instances";
import { instances, phoneNumbers, type InstanceRow } from "../../../worker/db/schema";
import { FAKE_CREDENTIALS as C } from "../../support/fakes/credentials";
import { type FakeFault, type FakeProvider, providerControl, providerState, setProviderFaults } from "../helpers";
import { liveResources, NOTHING, providerContext, settings } from "./support";

const db = () => database(env.DB);

async function create(ctx: PoolContext) {
  return createInstance(ctx, settings(), "test", "test create", new Set());
}

/** What the tick's cleanup does with a dead row: move it to deleting and release everything. */
async function cleanUp(ctx: PoolContext, id: string): Promise<InstanceRow> {
  const row = (await getInstance(db(), id))!;
  const moved = row.status === "deleting" ? row : await transition(db(), { id, from: row.status as any, to: "deleting", reason: "cleanup", actor: "test", now: Date.now() }, settings());
  expect(moved).not.toBeNull();
  expect(await teardown(ctx, moved!, settings(), "test")).toBe(true);
  return (await getInstance(db(), id))!;
}

describe("create and teardown pipeline with every provider", () => {
  it("creates every resource, boots the service with all of them in its first deployment, and releases them all", async () => {
    const ctx = providerContext();
    const result = await create(ctx);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const row = result.row;
    expect(row.status).toBe("starting");
    expect(row.url).toMatch(/\.up\.railway\.app$/);

    const state = await providerState();
    const [key] = state.openrouter.keys;
    expect(key).toMatchObject({ name: row.serviceName, limit: 20, limit_reset: "monthly" });
    expect(row.openrouterKeyHash).toBe(key.hash);
    expect(row.agentmailInboxId).toBe(`${row.serviceName}@${C.AGENTMAIL_DOMAIN}`);
    expect(row.phoneNumber).toMatch(/^\+1\d{10}$/);

    const boot = state.railway.services[0].bootVariables;
    expect(boot).toMatchObject({
      INSTANCE_ID: row.id,
      POOL_URL: env.POOL_URL,
      XMTP_ENV: env.XMTP_ENV,
      OPENROUTER_API_KEY: key.key,
      OPENCLAW_PRIMARY_MODEL: env.OPENCLAW_PRIMARY_MODEL,
      AGENTMAIL_INBOX: row.agentmailInboxId,
      AGENTMAIL_API_KEY: C.AGENTMAIL_API_KEY,
      TELNYX_PHONE_NUMBER: row.phoneNumber,
      TELNYX_API_KEY: C.TELNYX_API_KEY,
      BANKR_API_KEY: C.BANKR_API_KEY,
    });
    expect(boot.GATEWAY_TOKEN).toMatch(/^[\w-]{40,}$/);

    const after = await cleanUp(ctx, row.id);
    expect(after.status).toBe("deleted");
    expect(after).toMatchObject({ serviceId: null, openrouterKeyHash: null, agentmailInboxId: null, phoneNumber: null });
    expect(await liveResources()).toEqual(NOTHING);
  });

  const failures: [string, FakeProvider, FakeFault][] = [
    ["OpenRouter key create answers 500", "openrouter", { op: "POST /api/v1/keys", status: 500 }],
    ["OpenRouter key create answers 401", "openrouter", { op: "POST /api/v1/keys", status: 401 }],
    ["OpenRouter key create times out", "openrouter", { op: "POST /api/v1/keys", delayMs: 800 }],
    ["AgentMail inbox create answers 500", "agentmail", { op: "POST /v0/inboxes", status: 500 }],
    ["AgentMail inbox create answers 422", "agentmail", { op: "POST /v0/inboxes", status: 422 }],
    ["Telnyx number search answers 503", "telnyx", { op: "GET /v2/available_phone_numbers", status: 503 }],
    ["Telnyx number order answers 500", "telnyx", { op: "POST /v2/number_orders", status: 500 }],
    ["Telnyx number order answers 401", "telnyx", { op: "POST /v2/number_orders", status: 401 }],
    ["Railway service create answers 500", "railway", { op: "serviceCreate", status: 500 }],
    ["Railway service create is rate limited", "railway", { op: "serviceCreate", status: 429, retryAfter: 300 }],
    ["Railway domain create answers 500", "railway", { op: "serviceDomainCreate", status: 500 }],
  ];

  for (const [name, provider, fault] of failures) {
    it(`leaves nothing behind when ${name}`, async () => {
      const ctx = providerContext();
      await setProviderFaults(provider, [fault]);
      const result = await create(ctx);
      expect(result.ok).toBe(false);
      const dead = (await getInstance(db(), result.ok ? "" : result.id))!;
      expect(dead.status).toBe("dead");
      expect(dead.lastError).toMatch(new RegExp(provider, "i"));

      await setProviderFaults(provider, []);
      const after = await cleanUp(ctx, dead.id);
      expect(after.status).toBe("deleted");
      expect(await liveResources()).toEqual(NOTHING);
    });
  }

  it("finds and revokes an OpenRouter key whose create answer was lost", async () => {
    const ctx = providerContext();
    // The key exists at OpenRouter, but the row never learnt its hash.
    const created = await fetch("https://openrouter.ai/api/v1/keys", {
      method: "POST",
      headers: { authorization: `Bearer ${C.OPENROUTER_MANAGEMENT_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "convos-agent-ilost", limit: 20 }),
    });
    expect(created.status).toBe(201);
    await setProviderFaults("agentmail", [{ op: "POST /v0/inboxes", status: 400 }]);
    const result = await create(ctx);
    expect(result.ok).toBe(false);
    const row = (await getInstance(db(), result.ok ? "" : result.id))!;
    await db().update(instances).set({ serviceName: "convos-agent-ilost", openrouterKeyHash: null }).where(eq(instances.id, row.id));
    await setProviderFaults("agentmail", []);
    await cleanUp(ctx, row.id);
    expect((await providerState()).openrouter.keys.map((k: { name: string }) => k.name)).not.toContain("convos-agent-ilost");
  });

  it("keeps retrying a teardown the provider refuses, and finishes once it answers", async () => {
    const ctx = providerContext();
    const result = await create(ctx);
    if (!result.ok) throw new Error(result.error);
    await setProviderFaults("openrouter", [{ op: "DELETE /api/v1/keys/{hash}", status: 503 }]);
    const deleting = await transition(db(), { id: result.row.id, from: "starting", to: "deleting", reason: "test", actor: "test", now: Date.now() }, settings());
    expect(await teardown(ctx, deleting!, settings(), "test")).toBe(false);
    const waiting = (await getInstance(db(), result.row.id))!;
    expect(waiting.status).toBe("deleting");
    expect(waiting.teardownAttempts).toBe(1);
    expect(waiting.nextTeardownAt).toBeGreaterThan(Date.now());
    // The service went first and is recorded as gone; the key is still recorded for the retry.
    expect(waiting.serviceId).toBeNull();
    expect(waiting.openrouterKeyHash).not.toBeNull();

    await setProviderFaults("openrouter", []);
    expect(await teardown(ctx, waiting, settings(), "test")).toBe(true);
    expect(await liveResources()).toEqual(NOTHING);
  });

  it("counts a resource already deleted at the provider as released", async () => {
    const ctx = providerContext();
    const result = await create(ctx);
    if (!result.ok) throw new Error(result.error);
    const auth = { authorization: `Bearer ${C.OPENROUTER_MANAGEMENT_KEY}` };
    expect((await fetch(`https://openrouter.ai/api/v1/keys/${result.row.openrouterKeyHash}`, { method: "DELETE", headers: auth })).status).toBe(200);
    await fetch(`https://api.agentmail.to/v0/inboxes/${encodeURIComponent(result.row.agentmailInboxId!)}`, { method: "DELETE", headers: { authorization: `Bearer ${C.AGENTMAIL_API_KEY}` } });
    const after = await cleanUp(ctx, result.row.id);
    expect(after.status).toBe("deleted");
    expect(await liveResources()).toEqual(NOTHING);
  });

  it("reuses a released phone number before buying another", async () => {
    const ctx = providerContext();
    const first = await create(ctx);
    if (!first.ok) throw new Error(first.error);
    await cleanUp(ctx, first.row.id);
    const second = await create(ctx);
    if (!second.ok) throw new Error(second.error);
    expect(second.row.phoneNumber).toBe(first.row.phoneNumber);
    const state = await providerState();
    expect(state.telnyx.calls.filter((c: { op: string }) => c.op === "POST /v2/number_orders")).toHaveLength(1);
    expect(state.telnyx.numbers).toHaveLength(1);
  });

  it("orders another number when the first candidate was bought meanwhile (422)", async () => {
    const ctx = providerContext();
    const search = await fetch("https://api.telnyx.com/v2/available_phone_numbers?filter[limit]=2", { headers: { authorization: `Bearer ${C.TELNYX_API_KEY}` } });
    const [taken] = ((await search.json()) as { data: { phone_number: string }[] }).data.map((n) => n.phone_number);
    await providerControl("/telnyx/sold", { numbers: [taken] });
    const result = await create(ctx);
    if (!result.ok) throw new Error(result.error);
    expect(result.row.phoneNumber).not.toBe(taken);
    const orders = (await providerState()).telnyx.calls.filter((c: { op: string }) => c.op === "POST /v2/number_orders");
    expect(orders.map((c: { status: number }) => c.status)).toEqual([422, 200]);
    // The refused candidate left no row behind in our table.
    expect(await db().select().from(phoneNumbers).where(eq(phoneNumbers.phoneNumber, taken!))).toHaveLength(0);
  });

  it("does not create an AgentMail inbox twice when its create is retried", async () => {
    const ctx = providerContext();
    await setProviderFaults("agentmail", [{ op: "POST /v0/inboxes", status: 502, times: 1 }]);
    const result = await create(ctx);
    if (!result.ok) throw new Error(result.error);
    const state = await providerState();
    expect(state.agentmail.inboxes).toHaveLength(1);
    expect(state.agentmail.calls.map((c: { status: number }) => c.status)).toEqual([502, 200]);
  });

  it("creates instances without the skills whose providers are not configured", async () => {
    const ctx = providerContext({ envOverrides: { OPENROUTER_MANAGEMENT_KEY: "", AGENTMAIL_API_KEY: "", TELNYX_API_KEY: "", BANKR_API_KEY: "" } });
    expect(ctx.resources.enabled).toEqual(["notion"]);
    const result = await create(ctx);
    if (!result.ok) throw new Error(result.error);
    const boot = (await providerState()).railway.services[0].bootVariables;
    expect(Object.keys(boot).sort()).toEqual(["GATEWAY_TOKEN", "INSTANCE_ID", "POOL_URL", "PORT", "XMTP_ENV"]);
  });

  it("uses OPENROUTER_KEY_LIMIT_USD for each key's monthly limit, and a bad value fails creates with a clear message", async () => {
    const custom = await create(providerContext({ envOverrides: { OPENROUTER_KEY_LIMIT_USD: "7.5" } }));
    if (!custom.ok) throw new Error(custom.error);
    expect((await providerState()).openrouter.keys[0].limit).toBe(7.5);

    const bad = providerContext({ envOverrides: { OPENROUTER_KEY_LIMIT_USD: "twenty" } });
    expect(bad.resources.enabled).toContain("openrouter");
    const failed = await create(bad);
    expect(failed.ok).toBe(false);
    if (!failed.ok) expect(failed.error).toMatch(/OPENROUTER_KEY_LIMIT_USD must be a positive number/);
  });
});
