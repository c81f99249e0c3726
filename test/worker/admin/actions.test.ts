import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../../worker/db/client";
import { templates } from "../../../worker/db/schema";
import { api, counts, fillPool, json, setFaults, tick } from "../helpers";
import { admin, login, text } from "./helpers";

const statusOf = async (id: string) => (await json(api(`/api/pool/instances/${id}`))).body.status as string;

/** A crashed instance: its provision fails and it reports itself dirty afterwards. */
async function crashOne(): Promise<string> {
  await fillPool(1);
  await setFaults({ provisionStatus: 500, dirtyAfterFailedProvision: true });
  const res = await json(api("/api/pool/claim", { method: "POST", json: { agentName: "Doomed" } }));
  expect(res.status).toBe(502);
  await setFaults({});
  const id = res.body.error.details.instanceId as string;
  expect(await statusOf(id)).toBe("crashed");
  return id;
}

describe("admin overview", () => {
  it("shows counts as filter pills, the breaker, the settings and the environment", async () => {
    await fillPool(2);
    const op = await login("10.10.0.1");
    const page = await op.get("/admin");
    expect(page.status).toBe(200);
    const t = text(page.html);
    expect(page.html).toMatch(/data-testid="pill-idle"[\s\S]*?<b data-count="idle">2<\/b>/);
    expect(page.html).toMatch(/data-testid="breaker">closed</);
    expect(page.html).toMatch(/data-setting="minIdle">2</);
    expect(page.html).toMatch(/data-testid="environment">local</);
    expect(t).toContain("Launch an agent");
    expect(t).toContain("Join a conversation");
    expect(page.html.match(/<tr data-instance=/g)).toHaveLength(2);
  });

  it("filters the instance table by status, and says so for an unknown status", async () => {
    await fillPool(2);
    const op = await login("10.10.0.2");
    await op.post("/admin/launch", { agentName: "Filtered", idempotencyKey: crypto.randomUUID() });
    const claimed = await op.get("/admin?status=claimed");
    expect(claimed.html.match(/<tr data-instance=/g)).toHaveLength(1);
    expect(claimed.html).toContain('data-status="claimed"');
    expect(claimed.html).toMatch(/data-testid="pill-claimed"[^>]*aria-current="true"|aria-current="true"[^>]*data-testid="pill-claimed"/);
    expect(claimed.html).toContain('data-refresh-url="/admin?status=claimed"');
    const ready = await op.get("/admin?status=ready");
    expect(ready.html).not.toContain('data-status="claimed"');
    expect(ready.html).toContain('data-status="idle"');
    const bad = await op.get("/admin?status=bogus");
    expect(bad.status).toBe(400);
    expect(text(bad.html)).toContain('"bogus" is not an instance status');
  });

  it("lets a background refresh read the page without consuming the flash message", async () => {
    const op = await login("10.10.0.3");
    await op.post("/admin/reconcile");
    const refresh = await admin("/admin", { cookie: `${op.cookie}; ${"__Host-pool_admin_flash=x.y"}`, headers: { "x-admin-refresh": "1" } });
    expect(refresh.headers.getSetCookie().some((c) => c.startsWith("__Host-pool_admin_flash="))).toBe(false);
  });
});

describe("admin actions", () => {
  it("replenishes N instances and reports it", async () => {
    const op = await login("10.11.0.1");
    await op.post("/admin/settings", {
      minIdle: "0",
      maxTotal: "10",
      maxCreatesPerTick: "5",
      tickIntervalMs: "30000",
      stuckTimeoutMs: "900000",
      claimTimeoutMs: "120000",
      breakerThreshold: "3",
      breakerBackoffMs: "60000",
    });
    const before = await counts();
    const res = await op.post("/admin/replenish", { count: "2" });
    expect(res.status).toBe(303);
    expect(res.res.headers.get("location")).toBe("/admin");
    const after = await counts();
    expect(after.creating + after.starting + after.idle).toBe(before.creating + before.starting + before.idle + 2);
    expect(text((await op.get("/admin")).html)).toContain("Replenish: asked for 2, created 2.");
  });

  it("refuses a replenish or drain count that is not 1–20 with a message next to the form", async () => {
    const op = await login("10.11.0.2");
    const before = await counts();
    for (const [path, count] of [
      ["/admin/replenish", "50"],
      ["/admin/replenish", "abc"],
      ["/admin/drain", "0"],
    ] as const) {
      const res = await op.post(path, { count });
      expect(res.status).toBe(400);
      expect(text(res.html)).toContain("enter a whole number from 1 to 20.");
      expect(res.html).toContain('aria-invalid="true"');
    }
    expect(await counts()).toEqual(before);
  });

  it("drains ready instances and never claimed ones", async () => {
    await fillPool(3);
    const op = await login("10.11.0.3");
    await op.post("/admin/launch", { agentName: "Keeper", idempotencyKey: crypto.randomUUID() });
    const res = await op.post("/admin/drain", { count: "20" });
    expect(res.status).toBe(303);
    const c = await counts();
    expect(c.idle).toBe(0);
    expect(c.claimed).toBe(1);
    expect(text((await op.get("/admin")).html)).toMatch(/Drain: removing 2 of 20 requested/);
  });

  it("reconciles now: instances become ready and the tick summary shows", async () => {
    const op = await login("10.11.0.4");
    await op.post("/admin/settings", {
      minIdle: "2",
      maxTotal: "10",
      maxCreatesPerTick: "5",
      tickIntervalMs: "30000",
      stuckTimeoutMs: "900000",
      claimTimeoutMs: "120000",
      breakerThreshold: "3",
      breakerBackoffMs: "60000",
    });
    const res = await op.post("/admin/reconcile");
    expect(res.status).toBe(303);
    const page = await op.get("/admin");
    expect(text(page.html)).toMatch(/Reconciled in \d+ ms: readied \d+, created \d+/);
    expect(text(page.html)).toContain("Last tick");
    await op.post("/admin/reconcile");
    expect((await counts()).idle).toBeGreaterThanOrEqual(2);
  });

  it("launches an agent and shows its invite URL with a server-rendered QR code", async () => {
    await fillPool(1);
    const op = await login("10.11.0.5");
    const res = await op.post("/admin/launch", { agentName: "Ada", instructions: "Be helpful.", template: "", idempotencyKey: crypto.randomUUID() });
    expect(res.status).toBe(303);
    const location = res.res.headers.get("location")!;
    expect(location).toMatch(/^\/admin\/instances\/[a-z0-9-]+$/);
    const page = await op.get(location);
    const invite = /data-testid="invite-url"><a href="([^"]+)"/.exec(page.html)?.[1];
    expect(invite).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/);
    expect(page.html).toMatch(/data-testid="invite-qr"><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(page.html).not.toMatch(/api\.qrserver|chart\.googleapis|quickchart/);
    expect(text(page.html)).toContain("Ada created a conversation: share the invite below.");
    expect(text(page.html)).toContain("Event history");
    expect(text(page.html)).toContain("OpenRouter no key");

    const id = location.split("/").pop()!;
    const svg = await op.get(`/admin/instances/${id}/qr.svg`);
    expect(svg.res.headers.get("content-type")).toBe("image/svg+xml");
    expect(svg.html.startsWith("<svg")).toBe(true);
  });

  it("launches once when the same form is submitted twice", async () => {
    await fillPool(2);
    const op = await login("10.11.0.6");
    const key = crypto.randomUUID();
    const first = await op.post("/admin/launch", { agentName: "Twice", idempotencyKey: key });
    const second = await op.post("/admin/launch", { agentName: "Twice", idempotencyKey: key });
    expect(second.res.headers.get("location")).toBe(first.res.headers.get("location"));
    expect((await counts()).claimed).toBe(1);
  });

  it("offers the templates in the launch form and launches from one", async () => {
    await fillPool(1);
    const now = Date.now();
    await database(env.DB)
      .insert(templates)
      .values({ slug: "admin-test-trips", name: "Trips <Test>", description: "Plans trips", category: "travel", emoji: "🧳", skills: [], instructions: "Plan trips.", createdAt: now, updatedAt: now });
    const op = await login("10.11.0.14");
    const overview = await op.get("/admin");
    expect(overview.html).toContain('<option value="admin-test-trips">Trips &lt;Test&gt; (admin-test-trips)</option>');
    const res = await op.post("/admin/launch", { agentName: "Guide", template: "admin-test-trips", idempotencyKey: crypto.randomUUID() });
    expect(res.status).toBe(303);
    const page = await op.get(res.res.headers.get("location")!);
    expect(text(page.html)).toMatch(/Template admin-test-trips/);

    const missing = await op.post("/admin/launch", { template: "no-such-template", idempotencyKey: crypto.randomUUID() });
    expect(missing.status).toBe(404);
    expect(missing.html).toContain('id="launch-template-error">template &quot;no-such-template&quot; does not exist');
  });

  it("shows the breaker open, with the reason, after creates keep failing", async () => {
    const op = await login("10.11.0.15");
    await op.post("/admin/settings", {
      minIdle: "0",
      maxTotal: "10",
      maxCreatesPerTick: "5",
      tickIntervalMs: "30000",
      stuckTimeoutMs: "900000",
      claimTimeoutMs: "120000",
      breakerThreshold: "2",
      breakerBackoffMs: "60000",
    });
    await setFaults({ failCreates: 5 });
    const res = await op.post("/admin/replenish", { count: "3" });
    expect(res.status).toBe(303);
    const page = await op.get("/admin");
    expect(text(page.html)).toMatch(/Replenish: asked for 3, created 0; 3 failed/);
    expect(page.html).toContain('class="flash flash-error"');
    expect(page.html).toMatch(/data-testid="breaker">open</);
    expect(text(page.html)).toMatch(/Reason .*simulated create failure/);
    expect(text(page.html)).toMatch(/retries in \d+(m|s)/);
  });

  it("shows launch validation errors next to the fields and keeps what was typed", async () => {
    const op = await login("10.11.0.7");
    const res = await op.post("/admin/launch", { agentName: "x".repeat(65), instructions: "keep me", idempotencyKey: crypto.randomUUID() });
    expect(res.status).toBe(400);
    expect(res.html).toMatch(/id="launch-agentName-error">At most 64 characters\./);
    expect(res.html).toContain(">keep me</textarea>");
    const tpl = await op.post("/admin/launch", { template: "Not A Slug", idempotencyKey: crypto.randomUUID() });
    expect(tpl.status).toBe(400);
    expect(tpl.html).toContain('id="launch-template-error"');
  });

  it("says the pool is empty instead of failing when no instance is ready", async () => {
    const op = await login("10.11.0.8");
    await op.post("/admin/drain", { count: "20" });
    const res = await op.post("/admin/launch", { agentName: "Nobody", idempotencyKey: crypto.randomUUID() });
    expect(res.status).toBe(503);
    expect(res.html).toMatch(/data-testid="launch-error">[^<]+/);
    expect(res.html).toContain('value="Nobody"');
  });

  it("escapes HTML in agent names everywhere it is shown", async () => {
    await fillPool(1);
    const op = await login("10.11.0.9");
    const name = `<img src=x onerror="alert(1)">`;
    const res = await op.post("/admin/launch", { agentName: name, idempotencyKey: crypto.randomUUID() });
    const instance = await op.get(res.res.headers.get("location")!);
    const overview = await op.get("/admin");
    for (const html of [instance.html, overview.html]) {
      expect(html).not.toContain("<img src=x");
      expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    }
  });

  it("joins a conversation from an invite URL, and refuses an invite of the other XMTP network", async () => {
    await fillPool(1);
    const op = await login("10.11.0.10");
    const wrong = await op.post("/admin/join", { joinUrl: "https://popup.convos.org/v2?i=abcdefgh1234", idempotencyKey: crypto.randomUUID() });
    expect(wrong.status).toBe(400);
    expect(wrong.html).toMatch(/id="join-joinUrl-error">joinUrl is a production invite/);
    const missing = await op.post("/admin/join", { joinUrl: "", idempotencyKey: crypto.randomUUID() });
    expect(missing.status).toBe(400);
    expect(missing.html).toContain("Enter the Convos invite URL to join.");

    const joinUrl = "https://dev.convos.org/v2?i=abcdefgh1234";
    const ok = await op.post("/admin/join", { joinUrl, agentName: "Joiner", idempotencyKey: crypto.randomUUID() });
    expect(ok.status).toBe(303);
    const page = await op.get(ok.res.headers.get("location")!);
    expect(text(page.html)).toContain("Joiner joined the conversation.");
    expect(page.html).toContain(`data-testid="invite-url"><a href="${joinUrl.replace("&", "&amp;")}"`);
    expect(page.html).toContain('data-testid="invite-qr"><svg');
  });

  it("kills a claimed instance only after confirmation", async () => {
    await fillPool(1);
    const op = await login("10.11.0.11");
    const launched = await op.post("/admin/launch", { agentName: "Victim", idempotencyKey: crypto.randomUUID() });
    const id = launched.res.headers.get("location")!.split("/").pop()!;

    const confirm = await op.post(`/admin/instances/${id}/kill`);
    expect(confirm.status).toBe(200);
    expect(text(confirm.html)).toContain("Kill this instance?");
    expect(confirm.html).toContain('name="confirmed" value="yes"');
    expect(await statusOf(id)).toBe("claimed");

    const done = await op.post(`/admin/instances/${id}/kill`, { confirmed: "yes" });
    expect(done.status).toBe(303);
    expect(["deleting", "deleted"]).toContain(await statusOf(id));
    expect(text((await op.get("/admin")).html)).toContain(`Killed Victim (${id}): it is being deleted.`);
  });

  it("dismisses a crashed instance after confirmation, and refuses to dismiss one that has not crashed", async () => {
    const crashed = await crashOne();
    const op = await login("10.11.0.12");
    const overview = await op.get("/admin?status=crashed");
    expect(overview.html).toContain(`data-testid="dismiss-${crashed}"`);

    const confirm = await op.post(`/admin/instances/${crashed}/dismiss`);
    expect(text(confirm.html)).toContain("Dismiss this crashed instance?");
    expect(await statusOf(crashed)).toBe("crashed");
    const done = await op.post(`/admin/instances/${crashed}/dismiss`, { confirmed: "yes" });
    expect(done.status).toBe(303);
    expect(["deleting", "deleted"]).toContain(await statusOf(crashed));

    await fillPool(1);
    const idle = (await json(api("/api/pool/agents?status=idle"))).body.agents[0].id as string;
    const refused = await op.post(`/admin/instances/${idle}/dismiss`, { confirmed: "yes" });
    expect(refused.status).toBe(409);
    expect(text(refused.html)).toContain(`instance ${idle} is idle; this action needs one of: crashed`);
    expect(await statusOf(idle)).toBe("idle");
  });

  it("answers unknown or malformed instance ids with 404 / 400 pages", async () => {
    const op = await login("10.11.0.13");
    expect((await op.get("/admin/instances/does-not-exist")).status).toBe(404);
    expect((await op.get("/admin/instances/NOT_AN_ID")).status).toBe(400);
    expect((await op.post("/admin/instances/does-not-exist/kill", { confirmed: "yes" })).status).toBe(404);
    expect((await op.get("/admin/instances/does-not-exist/qr.svg")).status).toBe(404);
  });

  it("refuses every action without a session and changes nothing", async () => {
    await fillPool(1);
    const before = await counts();
    for (const path of ["/admin/replenish", "/admin/drain", "/admin/reconcile", "/admin/launch", "/admin/join", "/admin/settings", "/admin/instances/x/kill", "/admin/instances/x/dismiss"]) {
      const res = await admin(path, { form: { count: "1", agentName: "x", minIdle: "9" } });
      expect(res.status, path).toBe(401);
    }
    await tick();
    expect((await counts()).idle).toBe(before.idle);
  });
});

describe("admin settings", () => {
  const valid = { minIdle: "1", maxTotal: "8", maxCreatesPerTick: "4", tickIntervalMs: "30000", stuckTimeoutMs: "900000", claimTimeoutMs: "120000", breakerThreshold: "3", breakerBackoffMs: "60000" };

  it("saves valid settings", async () => {
    const op = await login("10.12.0.1");
    const res = await op.post("/admin/settings", valid);
    expect(res.status).toBe(303);
    const page = await op.get("/admin/settings");
    expect(text(page.html)).toContain("Settings saved.");
    expect(page.html).toMatch(/id="setting-maxTotal"[^>]*value="8"/);
    expect((await json(api("/api/pool/settings"))).body.maxTotal).toBe(8);
  });

  it("shows validation errors next to the fields and saves nothing", async () => {
    const op = await login("10.12.0.2");
    await op.post("/admin/settings", valid);
    const res = await op.post("/admin/settings", { ...valid, minIdle: "abc", maxCreatesPerTick: "1000", tickIntervalMs: "" });
    expect(res.status).toBe(400);
    expect(res.html).toMatch(/id="setting-minIdle-error">Must be a whole number\./);
    expect(res.html).toMatch(/id="setting-maxCreatesPerTick-error">Must be at most 100\./);
    expect(res.html).toMatch(/id="setting-tickIntervalMs-error">Required\./);
    expect(res.html).toMatch(/id="setting-minIdle"[^>]*value="abc"/);
    expect(text(res.html)).toContain("Nothing was saved");

    const cross = await op.post("/admin/settings", { ...valid, minIdle: "9", maxTotal: "5" });
    expect(cross.status).toBe(400);
    expect(cross.html).toMatch(/id="setting-minIdle-error">minIdle \(9\) cannot exceed maxTotal \(5\)/);
    expect((await json(api("/api/pool/settings"))).body).toMatchObject({ minIdle: 1, maxTotal: 8 });
  });
});
