import { describe, expect, it } from "vitest";
import { api, json } from "../helpers";
import { admin, login } from "../admin/helpers";

const FORM = {
  slug: "book-club",
  name: "Book Club",
  emoji: "📖",
  category: "Learning",
  skills: "browser, agentmail, browser",
  description: "Picks the next book and runs the discussion.",
  instructions: "Run a friendly book club.",
  notionPageId: "",
  featured: "no",
  published: "yes",
};

const decoded = (html: string) =>
  html
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");

describe("admin: templates", () => {
  it("needs a session: anonymous visitors are sent to the login page and cannot post", async () => {
    const res = await admin("/admin/templates");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/admin\/login\b/);
    const post = await admin("/admin/templates/new", { form: FORM });
    expect(post.status).toBe(401);
    expect((await api("/api/pool/templates/book-club", { auth: false })).status).toBe(404);
  });

  it("lists every template, drafts included, with a Templates link in the navigation", async () => {
    await api("/api/pool/templates/news-digest", { method: "PATCH", json: { published: false } });
    const op = await login();
    const page = await op.get("/admin/templates");
    expect(page.status).toBe(200);
    expect(page.html).toContain('<a href="/admin/templates" aria-current="page">Templates</a>');
    expect(page.html.match(/<tr data-template=/g)).toHaveLength(6);
    expect(page.html).toMatch(/data-template="news-digest"[\s\S]*?>draft</);
    expect(page.html).toMatch(/data-template="trip-planner"[\s\S]*?>published<[\s\S]*?>featured</);
  });

  it("creates a template from the form, which then shows in the public catalog", async () => {
    const op = await login();
    const form = await op.get("/admin/templates/new");
    expect(form.html).toContain('name="slug"');
    const res = await op.post("/admin/templates/new", FORM);
    expect(res.status).toBe(303);
    expect(res.res.headers.get("location")).toBe("/admin/templates");
    const list = await op.get("/admin/templates");
    expect(list.html).toContain("Created Book Club. It is live at /a/book-club.");
    const created = await json(api("/api/pool/templates/book-club", { auth: false }));
    expect(created.body).toMatchObject({ name: "Book Club", skills: ["browser", "agentmail"], instructions: "Run a friendly book club.", featured: false, published: true });
    expect(await (await api("/", { auth: false })).text()).toContain('data-slug="book-club"');
  });

  it("shows each problem next to its field, keeps what was typed, and saves nothing", async () => {
    const op = await login();
    const res = await op.post("/admin/templates/new", { ...FORM, slug: "Bad Slug", name: "", instructions: "", notionPageId: "nope" });
    expect(res.status).toBe(400);
    const html = decoded(res.html);
    expect(html).toContain("Nothing was saved");
    expect(html).toMatch(/id="tpl-slug-error">must be lowercase letters, digits and dashes/);
    expect(html).toMatch(/id="tpl-name-error">/);
    expect(html).toMatch(/id="tpl-notionPageId-error">must be a Notion page id/);
    expect(html).toContain('value="Bad Slug"');
    expect((await api("/api/pool/catalog/templates")).ok).toBe(true);
    const all = await json(api("/api/pool/catalog/templates"));
    expect(all.body.templates).toHaveLength(6);

    const dup = await op.post("/admin/templates/new", { ...FORM, slug: "trip-planner" });
    expect(dup.status).toBe(409);
    expect(decoded(dup.html)).toMatch(/id="tpl-slug-error">a template with slug "trip-planner" already exists/);
  });

  it("edits a template: unpublishing hides it from the public catalog", async () => {
    const op = await login();
    const page = await op.get("/admin/templates/study-buddy");
    expect(page.status).toBe(200);
    expect(page.html).toContain('value="Study Buddy"');
    const res = await op.post("/admin/templates/study-buddy", { ...FORM, slug: "ignored", name: "Study Buddy Pro", published: "no", featured: "yes" });
    expect(res.status).toBe(303);
    const row = await json(api("/api/pool/catalog/templates/study-buddy"));
    expect(row.body).toMatchObject({ slug: "study-buddy", name: "Study Buddy Pro", published: false, featured: true });
    expect((await api("/a/study-buddy", { auth: false })).status).toBe(404);

    expect((await op.get("/admin/templates/no-such")).status).toBe(404);
  });

  it("deletes after a confirmation page, and refuses a post without the session's CSRF token", async () => {
    const op = await login();
    const confirm = await op.post("/admin/templates/news-digest/delete");
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain("Delete this template?");
    expect((await api("/api/pool/templates/news-digest", { auth: false })).status).toBe(200);

    const forged = await admin("/admin/templates/news-digest/delete", { cookie: op.cookie, form: { confirmed: "yes" } });
    expect(forged.status).toBe(403);
    expect((await api("/api/pool/templates/news-digest", { auth: false })).status).toBe(200);

    const done = await op.post("/admin/templates/news-digest/delete", { confirmed: "yes" });
    expect(done.status).toBe(303);
    expect((await api("/api/pool/templates/news-digest", { auth: false })).status).toBe(404);
    expect((await op.get("/admin/templates")).html).toContain("Deleted News Digest.");
  });
});
