import { beforeEach, describe, expect, it } from "vitest";
import { FAKE_CREDENTIALS } from "../../support/fakes/credentials";
import { api, POOL_KEY, providerControl, setProviderFaults } from "../helpers";
import { login } from "../admin/helpers";
import { CLAIMED, postForm, recordingCoordinator, withEnv } from "./helpers";

// A fresh page per test: prompts are cached for an hour, across tests too.
let PAGE = "";
let seq = 0;
beforeEach(() => {
  PAGE = `5f1c0d2e3b4a5968776655443322${(++seq).toString(16).padStart(4, "0")}`;
});
const NOTION = { NOTION_API_KEY: FAKE_CREDENTIALS.NOTION_API_KEY };
const attempt = "notion-attempt-000000001";

async function notionTemplate(fields: { instructions?: string | null } = {}) {
  const res = await api("/api/pool/templates", {
    method: "POST",
    json: { slug: "notion-agent", name: "Notion Agent", description: "Instructions live in Notion.", category: "Ops", emoji: "📝", notionPageId: PAGE, instructions: null, ...fields },
  });
  expect(res.status).toBe(201);
}

async function seedPage(blocks: { type: string; text: string }[]) {
  await providerControl("/notion/pages", { id: PAGE, title: "Agent prompt", blocks });
}

describe("templates with a Notion page", () => {
  it("starts the agent with the page's text as its instructions", async () => {
    await notionTemplate();
    await seedPage([
      { type: "heading_1", text: "Role" },
      { type: "paragraph", text: "You keep the group's shared notes." },
      { type: "bulleted_list_item", text: "Summarise every evening." },
      { type: "bulleted_list_item", text: "Never delete anything." },
    ]);
    const coordinator = recordingCoordinator(CLAIMED);
    const res = await postForm("/a/notion-agent/start", { attempt }, { env: { ...NOTION, POOL_COORDINATOR: coordinator.binding } });
    expect(res.status).toBe(200);
    const instructions = coordinator.calls[0]!.request.instructions!;
    expect(instructions).toContain("# Role");
    expect(instructions).toContain("You keep the group's shared notes.");
    expect(instructions).toContain("- Never delete anything.");
    expect(coordinator.calls[0]!.request.template).toBe("notion-agent");
  });

  it("gives the same instructions to a claim of the template through the API and the dashboard", async () => {
    await notionTemplate();
    await seedPage([{ type: "paragraph", text: "You keep the group's shared notes." }]);
    const coordinator = recordingCoordinator(CLAIMED);
    const env = { ...NOTION, POOL_COORDINATOR: coordinator.binding };
    const viaApi = await withEnv(env, "/api/pool/claim", {
      method: "POST",
      headers: { authorization: `Bearer ${POOL_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ template: "notion-agent" }),
    });
    expect(viaApi.status).toBe(200);
    const op = await login();
    const viaAdmin = await withEnv(env, "/admin/launch", {
      method: "POST",
      headers: { cookie: op.cookie, origin: "https://pool.test", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: op.csrf, template: "notion-agent" }).toString(),
    });
    expect(viaAdmin.status).toBe(303);
    expect(coordinator.calls.map((c) => [c.actor, c.request.instructions])).toEqual([
      ["api", "You keep the group's shared notes."],
      ["admin", "You keep the group's shared notes."],
    ]);
  });

  it("falls back to the inline instructions when Notion cannot be read", async () => {
    await notionTemplate({ instructions: "Inline fallback." });
    await setProviderFaults("notion", [{ op: "*", status: 503, times: 100 }]);
    const coordinator = recordingCoordinator(CLAIMED);
    const res = await postForm("/a/notion-agent/start", { attempt }, { env: { ...NOTION, POOL_COORDINATOR: coordinator.binding } });
    expect(res.status).toBe(200);
    // No instructions in the request: the coordinator takes the template's inline text.
    expect(coordinator.calls[0]!.request.instructions).toBeUndefined();
  });

  it("without inline instructions and without Notion, explains instead of starting an agent with none", async () => {
    await notionTemplate();
    const coordinator = recordingCoordinator(CLAIMED);
    // The test environment has no NOTION_API_KEY: Notion is switched off.
    const res = await postForm("/a/notion-agent/start", { attempt }, { env: { POOL_COORDINATOR: coordinator.binding } });
    expect(res.status).toBe(503);
    expect((await res.text()).replace(/&#39;/g, "'")).toContain("This agent's instructions could not be loaded right now");
    expect(coordinator.calls).toHaveLength(0);
  });

  it("the admin edit page says whether the page can be read, drafts included", async () => {
    await notionTemplate({ instructions: "Inline fallback." });
    await api("/api/pool/templates/notion-agent", { method: "PATCH", json: { published: false } });
    await seedPage([{ type: "paragraph", text: "Draft prompt from Notion." }]);
    const op = await login();
    const ok = await (await withEnv(NOTION, "/admin/templates/notion-agent", { headers: { cookie: op.cookie } })).text();
    expect(ok).toContain("Notion page readable: 25 characters of instructions");
    expect(ok).toContain("<div>Draft prompt from Notion.</div>");

    const off = await op.get("/admin/templates/notion-agent");
    expect(off.html).toMatch(/data-testid="notion-status">Notion page not usable right now: Notion prompts are disabled/);
  });
});
