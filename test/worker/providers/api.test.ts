import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createInstance } from "../../../durable-objects/pool-coordinator/create-instance";
import { app } from "../../../worker/app";
import { database } from "../../../worker/db/client";
import { templates } from "../../../worker/db/schema";
import { FAKE_CREDENTIALS as C } from "../../support/fakes/credentials";
import { api, json, POOL_KEY, providerControl, providerState, setProviderFaults } from "../helpers";
import { providerContext, providerEnv, settings } from "./support";

const auth = { authorization: `Bearer ${POOL_KEY}` };
const withProviders = (path: string, headers: Record<string, string> = {}) => json(app.request(path, { headers }, providerEnv));
let pageSeq = 0;
/** A fresh page id per test: the prompt cache outlives a test. */
const newPageId = () => `${(++pageSeq).toString(16).padStart(8, "0")}${Date.now().toString(16).padStart(12, "0")}${"a".repeat(12)}`;

async function notionPage(id: string, title: string, blocks: { type: string; text: string }[]) {
  await providerControl("/notion/pages", { id, title, blocks });
}

describe("GET /api/prompts/:pageId", () => {
  it("rejects a page id that is not 32 hex digits with a 400 naming the field", async () => {
    for (const bad of ["abc", "0".repeat(31), "g".repeat(32), `${"0".repeat(32)}0`]) {
      const res = await withProviders(`/api/prompts/${bad}`, auth);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_page_id");
      expect(res.body.error.message).toMatch(/pageId/);
    }
  });

  it("answers 503 with a clear message when Notion is not configured", async () => {
    const res = await json(api(`/api/prompts/${newPageId()}`));
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: "notion_not_configured" });
    expect(res.body.error.message).toMatch(/NOTION_API_KEY/);
  });

  it("reads the page's title and all of its blocks (paged), then serves it from cache", async () => {
    const id = newPageId();
    await notionPage(id, "Travel planner", [
      { type: "heading_1", text: "Who you are" },
      { type: "paragraph", text: "You plan trips for the group." },
      { type: "bulleted_list_item", text: "Ask for dates first" },
      { type: "to_do", text: "Confirm the budget" },
      { type: "divider", text: "" },
      { type: "quote", text: "Be brief." },
      { type: "numbered_list_item", text: "Summarise" },
    ]);
    const first = await withProviders(`/api/prompts/${id}`, auth);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ pageId: id, title: "Travel planner", cached: false });
    expect(first.body.text).toBe(["# Who you are", "You plan trips for the group.", "- Ask for dates first", "- [ ] Confirm the budget", "---", "> Be brief.", "1. Summarise"].join("\n"));
    const calls = (await providerState()).notion.calls.length;
    expect(calls).toBe(4); // the page, then three pages of blocks

    const again = await withProviders(`/api/prompts/${id}`, auth);
    expect(again.body).toMatchObject({ text: first.body.text, cached: true });
    expect((await providerState()).notion.calls.length).toBe(calls);
  });

  it("serves a published template's prompt publicly, and any other page only with the pool key", async () => {
    const id = newPageId();
    await notionPage(id, "Public", [{ type: "paragraph", text: "hello" }]);
    const dashed = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
    expect((await withProviders(`/api/prompts/${id}`)).status).toBe(401);
    const now = Date.now();
    await database(env.DB)
      .insert(templates)
      .values({
        slug: `notion-${pageSeq}`,
        name: "Notion template",
        description: "d",
        category: "c",
        emoji: "x",
        skills: [],
        notionPageId: dashed,
        published: true,
        createdAt: now,
        updatedAt: now,
      });
    const res = await withProviders(`/api/prompts/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.text).toBe("hello");
  });

  it("answers 404 for a page Notion does not have (or does not share)", async () => {
    const res = await withProviders(`/api/prompts/${newPageId()}`, auth);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("notion_page_not_found");
  });

  it("answers 502 when Notion fails, without leaking the integration key", async () => {
    const id = newPageId();
    await notionPage(id, "t", [{ type: "paragraph", text: "x" }]);
    await setProviderFaults("notion", [{ op: "GET /v1/pages/{id}", status: 500, body: { object: "error", status: 500, code: "internal_server_error", message: `token ${C.NOTION_API_KEY}` } }]);
    const res = await json(app.request(`/api/prompts/${id}`, { headers: auth }, { ...providerEnv }));
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("notion_unavailable");
    expect(JSON.stringify(res.body)).not.toContain(C.NOTION_API_KEY);
  });
});

describe("providers in the pool API", () => {
  it("GET /api/pool/info lists the enabled providers, never their keys", async () => {
    const on = await withProviders("/api/pool/info");
    expect(on.body.providers.enabled).toEqual(["openrouter", "agentmail", "telnyx", "bankr", "notion"]);
    for (const secret of [C.OPENROUTER_MANAGEMENT_KEY, C.AGENTMAIL_API_KEY, C.TELNYX_API_KEY, C.BANKR_API_KEY, C.NOTION_API_KEY]) {
      expect(JSON.stringify(on.body)).not.toContain(secret);
    }
    const off = await json(api("/api/pool/info", { auth: false }));
    expect(off.body.providers.enabled).toEqual([]);
  });

  it("GET /api/pool/instances/:id shows the instance's OpenRouter spend against its limit", async () => {
    const created = await createInstance(providerContext(), settings(), "test", "test", new Set());
    if (!created.ok) throw new Error(created.error);
    await providerControl("/openrouter/usage", { hash: created.row.openrouterKeyHash, usd: 3.5 });
    const res = await withProviders(`/api/pool/instances/${created.row.id}`, auth);
    expect(res.status).toBe(200);
    expect(res.body.openrouter).toEqual({ usageMonthlyUsd: 3.5, usageTotalUsd: 3.5, limitUsd: 20, limitRemainingUsd: 16.5, limitReset: "monthly", disabled: false });
    expect(JSON.stringify(res.body)).not.toContain(created.row.openrouterKeyHash!);
    // Its Railway volume is one of its resources.
    expect(res.body.resources.volume).toBe((await providerState()).railway.volumes[0].id);

    await setProviderFaults("openrouter", [{ op: "GET /api/v1/keys/{hash}", status: 503 }]);
    const degraded = await withProviders(`/api/pool/instances/${created.row.id}`, auth);
    expect(degraded.status).toBe(200);
    expect(degraded.body.openrouter).toEqual({ error: "OpenRouter usage could not be read right now" });
  });
});
