import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, counts, fillPool, json } from "../helpers";
import { attemptOf, DEV_INVITE, getPage, postForm, PROD_INVITE } from "./helpers";

async function html(res: Response | Promise<Response>) {
  const r = await res;
  const raw = await r.text();
  // Phrases are checked as a reader sees them; escaping is checked on `raw`.
  const text = raw.replace(/&#39;/g, "'");
  return { status: r.status, headers: r.headers, text, raw };
}

async function agents(): Promise<{ id: string; status: string; template: string | null; agentName: string | null; inviteUrl: string | null }[]> {
  return (await json(api("/api/pool/agents"))).body.agents;
}

/** Instances in the pool (they report their capabilities in health) and templates that want scheduling too. */
async function poolWithScheduling(slugs: string[]) {
  await fillPool(1);
  for (const slug of slugs) {
    const t = (await json(api(`/api/pool/templates/${slug}`))).body;
    const skills = (t.template ?? t).skills as string[];
    expect((await api(`/api/pool/templates/${slug}`, { method: "PATCH", json: { skills: [...skills, "scheduling"] } })).status).toBe(200);
  }
}

async function startOnce(slug: string, opts: Parameters<typeof postForm>[2] = {}) {
  const page = await html(getPage(`/a/${slug}`));
  return html(postForm(`/a/${slug}/start`, { attempt: attemptOf(page.text, "start-form") }, opts));
}

describe("catalog page", () => {
  it("lists published templates, featured first, with category filters and skill tags", async () => {
    const res = await html(getPage("/"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const slugs = [...res.text.matchAll(/data-slug="([^"]+)"/g)].map((m) => m[1]);
    expect(slugs).toHaveLength(6);
    // The seed features trip-planner, dinner-picker and event-organizer.
    expect(slugs.slice(0, 3).sort()).toEqual(["dinner-picker", "event-organizer", "trip-planner"]);
    for (const category of ["Travel", "Food", "Learning", "Money", "Social", "Information"]) expect(res.text).toContain(`>${category}</a>`);
    // No instance has reported what it can do yet: the catalog promises nothing.
    expect(res.text).not.toContain('<li class="tag">');
  });

  it("tags a template only with skills the pool's instances report having", async () => {
    await poolWithScheduling(["trip-planner"]);
    const res = await html(getPage("/"));
    // The instances report scheduling, and neither a browser nor an email inbox (this pool
    // has no AgentMail key): the seed's "browser" and "agentmail" tags are not shown.
    expect(res.text).toContain(">Reminders &amp; scheduling</li>");
    expect(res.text).not.toContain("Web browsing");
    expect(res.text).not.toContain(">Email</li>");
    const page = await html(getPage("/a/trip-planner"));
    expect(page.text).toContain("<b>Reminders &amp; scheduling</b>");
    expect(page.text).not.toContain("<b>Email</b>");
  });

  it("filters by category and by skill with plain links", async () => {
    await poolWithScheduling(["trip-planner", "event-organizer"]);
    const food = await html(getPage("/?category=food"));
    expect([...food.text.matchAll(/data-slug="([^"]+)"/g)].map((m) => m[1])).toEqual(["dinner-picker"]);
    expect(food.text).toMatch(/href="\/\?category=food" aria-current="page"/);
    expect(food.text).toContain("1 agent");

    const scheduling = await html(getPage("/?skill=scheduling"));
    expect([...scheduling.text.matchAll(/data-slug="([^"]+)"/g)].map((m) => m[1]).sort()).toEqual(["event-organizer", "trip-planner"]);
    // Tagged, but no instance can send email: nothing is offered under it.
    const email = await html(getPage("/?skill=agentmail"));
    expect([...email.text.matchAll(/data-slug="([^"]+)"/g)].map((m) => m[1])).toEqual([]);

    const none = await html(getPage("/?category=nope"));
    expect(none.status).toBe(200);
    expect(none.text).toContain("No agent matches these filters.");
  });

  it("hides unpublished templates everywhere public", async () => {
    await api("/api/pool/templates/news-digest", { method: "PATCH", json: { published: false } });
    expect((await html(getPage("/"))).text).not.toContain('data-slug="news-digest"');
    expect((await getPage("/a/news-digest")).status).toBe(404);
    expect((await getPage("/a/news-digest/og.svg")).status).toBe(404);
    expect((await postForm("/a/news-digest/start", { attempt: "a".repeat(22) })).status).toBe(404);
  });

  it("sends a strict CSP: styles by hash, scripts only by nonce, no framing", async () => {
    const res = await getPage("/a/trip-planner");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).toMatch(/style-src 'sha256-/);
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    // The JSON API is not wrapped in page headers.
    expect((await api("/api/pool/counts", { auth: false })).headers.get("content-security-policy")).toBeNull();
  });
});

describe("template page", () => {
  it("shows what the agent does, its skills, preview metadata and the Start and Join forms", async () => {
    await poolWithScheduling(["trip-planner"]);
    const res = await html(getPage("/a/trip-planner"));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.text).toContain("<h1>Trip Planner</h1>");
    expect(res.text).toContain("Plans group trips in the chat");
    expect(res.text).toContain("<b>Reminders &amp; scheduling</b>");
    expect(res.text).toContain('<meta property="og:image" content="https://pool.test/a/trip-planner/og.svg"/>');
    expect(res.text).toContain('<meta property="og:title" content="Trip Planner · Convos Agents"/>');
    expect(res.text).toMatch(/<form method="post" action="\/a\/trip-planner\/start"/);
    expect(res.text).toMatch(/<form method="post" action="\/a\/trip-planner\/join"/);
    expect(res.text).toContain('placeholder="https://dev.convos.org/v2?i=…"');
    // Each visit gets its own attempt ids.
    const again = await html(getPage("/a/trip-planner"));
    expect(attemptOf(again.text, "start-form")).not.toBe(attemptOf(res.text, "start-form"));
    expect(res.text).not.toContain(env.POOL_API_KEY);
  });

  it("is a friendly 404 page for an unknown or malformed slug", async () => {
    for (const path of ["/a/no-such-agent", "/a/Not_A_Slug"]) {
      const res = await html(getPage(path));
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/text\/html/);
      expect(res.text).toContain("We couldn't find that agent");
    }
  });

  it("renders an Open Graph SVG with the template's name, escaping operator text", async () => {
    await poolWithScheduling(["trip-planner"]);
    const img = await getPage("/a/trip-planner/og.svg");
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toMatch(/^image\/svg\+xml/);
    const body = await img.text();
    expect(body).toMatch(/^<svg [^>]*width="1200" height="630"/);
    expect(body).toContain("Trip Planner");
    expect(body).toContain("Reminders &amp; scheduling");

    await api("/api/pool/templates", {
      method: "POST",
      json: { slug: "sneaky", name: `<script>alert("x")</script> & co`, description: "A <b>bold</b> claim", category: "Fun", emoji: "😈", instructions: "Be nice." },
    });
    const svg = await (await getPage("/a/sneaky/og.svg")).text();
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&lt;script&gt;");
    const page = await html(getPage("/a/sneaky"));
    expect(page.text).not.toContain('<script>alert("x")</script>');
    expect(page.text).toContain("&lt;script&gt;");
    expect(page.text).not.toContain("<b>bold</b>");

    const site = await getPage("/og.svg");
    expect(site.status).toBe(200);
    expect(await site.text()).toContain("AI agents for your group chats");
  });
});

describe("start", () => {
  it("claims an agent with the template and shows the invite link, a server-side QR code and the steps", async () => {
    await fillPool(1);
    const res = await startOnce("trip-planner");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const [agent] = (await agents()).filter((a) => a.status === "claimed");
    expect(agent).toMatchObject({ template: "trip-planner", agentName: "Trip Planner" });
    expect(agent!.inviteUrl).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/);
    const invite = agent!.inviteUrl!.replace(/&/g, "&amp;");
    expect(res.text).toContain(`href="${invite}" id="invite-link"`);
    expect(res.text).toMatch(/<div class="qr"[^>]*><svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(res.text).toContain("Open it in the Convos app");
    expect(res.text).toContain("Install Convos on your phone");
    expect(res.text).not.toContain(env.POOL_API_KEY);
    // The copy button's script carries the page's nonce.
    const nonce = /script-src 'nonce-([^']+)'/.exec(res.headers.get("content-security-policy")!)![1];
    expect(res.text).toContain(`<script nonce="${nonce}">`);
  });

  it("a resubmitted form (reload, double tap) shows the same agent instead of taking another", async () => {
    await fillPool(2);
    const page = await html(getPage("/a/dinner-picker"));
    const attempt = attemptOf(page.text, "start-form");
    const first = await html(postForm("/a/dinner-picker/start", { attempt }));
    const second = await html(postForm("/a/dinner-picker/start", { attempt }));
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const link = (t: string) => /id="invite-link"/.test(t) && /href="([^"]+)" id="invite-link"/.exec(t)![1];
    expect(link(second.text)).toBe(link(first.text));
    expect((await counts()).claimed).toBe(1);
    expect((await counts()).idle).toBe(1);
  });

  it("refuses a form posted from another site (CSRF) and claims nothing", async () => {
    await fillPool(1);
    for (const origin of ["https://evil.test", null]) {
      const res = await html(postForm("/a/trip-planner/start", { attempt: "b".repeat(22) }, { origin }));
      expect(res.status).toBe(403);
      expect(res.text).toContain("This form has expired");
    }
    expect((await counts()).claimed).toBe(0);
  });

  it("a GET on the form's URL goes back to the template page", async () => {
    const res = await api("/a/trip-planner/start", { auth: false, redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/a/trip-planner");
  });
});

describe("join", () => {
  it("sends an agent into an existing conversation from its invite link", async () => {
    await fillPool(1);
    const page = await html(getPage("/a/study-buddy"));
    const res = await html(postForm("/a/study-buddy/join", { attempt: attemptOf(page.text, "join-form"), joinUrl: DEV_INVITE }));
    expect(res.status).toBe(200);
    expect(res.text).toContain("Study Buddy joined your chat");
    const [agent] = (await agents()).filter((a) => a.status === "claimed");
    expect(agent).toMatchObject({ template: "study-buddy" });
  });

  it("explains a bad or wrong-network invite link next to the field, keeping what was typed", async () => {
    await fillPool(1);
    const wrong = await html(postForm("/a/study-buddy/join", { attempt: "c".repeat(22), joinUrl: PROD_INVITE }));
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain("That invite is for a different Convos network");
    expect(wrong.text).toContain(`value="${PROD_INVITE}"`);

    const junk = await html(postForm("/a/study-buddy/join", { attempt: "c".repeat(22), joinUrl: `javascript:alert(1)"><script>` }));
    expect(junk.status).toBe(400);
    expect(junk.text).toContain("doesn't look like a Convos invite link");
    expect(junk.text).not.toContain('"><script>');

    const empty = await html(postForm("/a/study-buddy/join", { attempt: "c".repeat(22), joinUrl: "  " }));
    expect(empty.status).toBe(400);
    expect(empty.text).toContain("Paste the invite link");
    expect((await counts()).claimed).toBe(0);
  });
});

describe("empty pool", () => {
  it("shows a friendly busy page that retries on its own, and starts more agents right away", async () => {
    const page = await html(getPage("/a/trip-planner"));
    const attempt = attemptOf(page.text, "start-form");
    const res = await html(postForm("/a/trip-planner/start", { attempt }));
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(res.text).toContain("All agents are busy");
    expect(res.text).toContain("Try again in a minute");
    // The retry form replays the same attempt, and the page's script (with its nonce) drives it.
    expect(attemptOf(res.text, "retry-form")).toBe(attempt);
    const nonce = /script-src 'nonce-([^']+)'/.exec(res.headers.get("content-security-policy")!)![1];
    expect(res.text).toContain(`<script nonce="${nonce}">`);
    expect(res.text).toContain("/api/pool/counts");
    const c = await counts();
    expect(c.creating + c.starting + c.idle).toBeGreaterThan(0);

    // Once an agent is free, the same form goes through.
    await fillPool(1);
    const retried = await html(postForm("/a/trip-planner/start", { attempt }));
    expect(retried.status).toBe(200);
    expect(retried.text).toContain('id="invite-link"');
  });

  it("a claim cut off by a coordinator reset gets the retrying page, not an error page", async () => {
    const resetting = {
      idFromName: () => ({}),
      get: () => ({ claim: async () => Promise.reject(new Error("Durable Object reset because its code was updated.")) }),
    } as unknown as Env["POOL_COORDINATOR"];
    const page = await html(getPage("/a/trip-planner"));
    const attempt = attemptOf(page.text, "start-form");
    const res = await html(postForm("/a/trip-planner/start", { attempt }, { env: { POOL_COORDINATOR: resetting } }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    // The retry form replays the same attempt, so the retry cannot take a second agent.
    expect(attemptOf(res.text, "retry-form")).toBe(attempt);
    expect(res.text).not.toMatch(/Durable Object|internal/i);
  });

  it("keeps the pasted invite link in the retry form of a join", async () => {
    const res = await html(postForm("/a/study-buddy/join", { attempt: "d".repeat(22), joinUrl: DEV_INVITE }));
    expect(res.status).toBe(503);
    expect(res.text).toContain(`name="joinUrl" value="${DEV_INVITE}"`);
  });
});
