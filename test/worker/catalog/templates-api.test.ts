import { describe, expect, it } from "vitest";
import { api, fillPool, json } from "../helpers";

const NEW = {
  slug: "book-club",
  name: "Book Club",
  description: "Picks the next book, keeps everyone on pace and runs the discussion.",
  category: "Learning",
  emoji: "📖",
  skills: ["browser"],
  instructions: "Run a friendly book club.",
};

describe("template CRUD API", () => {
  it("every write needs the pool key", async () => {
    for (const [method, path, body] of [
      ["POST", "/api/pool/templates", NEW],
      ["PUT", "/api/pool/templates/trip-planner", NEW],
      ["PATCH", "/api/pool/templates/trip-planner", { featured: false }],
      ["DELETE", "/api/pool/templates/trip-planner", undefined],
      ["GET", "/api/pool/catalog/templates", undefined],
    ] as const) {
      for (const auth of [false, "not-the-key"] as const) {
        const res = await json(api(path, { method, auth, ...(body ? { json: body } : {}) }));
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body.error.code).toBe("unauthorized");
      }
    }
    expect((await json(api("/api/pool/templates/trip-planner", { auth: false }))).body.featured).toBe(true);
  });

  it("creates a template with defaults, publishes it, and refuses a duplicate slug with 409", async () => {
    const created = await json(api("/api/pool/templates", { method: "POST", json: NEW }));
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/api/pool/templates/book-club");
    expect(created.body).toMatchObject({ ...NEW, notionPageId: null, featured: false, published: true });
    expect(created.body.createdAt).toEqual(expect.any(Number));

    const listed = await json(api("/api/pool/templates", { auth: false }));
    expect(listed.body.templates.map((t: { slug: string }) => t.slug)).toContain("book-club");

    const dup = await json(api("/api/pool/templates", { method: "POST", json: { ...NEW, name: "Another" } }));
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: "duplicate_slug", details: [{ path: "slug" }] });
    expect((await json(api("/api/pool/templates/book-club", { auth: false }))).body.name).toBe("Book Club");
  });

  it("rejects bad input with a 400 naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ ...NEW, slug: "Bad Slug" }, "slug"],
      [{ ...NEW, name: "" }, "name"],
      [{ ...NEW, name: "x".repeat(65) }, "name"],
      // A template's name becomes its agents' name: the claim API's agent-name rules apply.
      [{ ...NEW, name: "Book\u0000Club" }, "name"],
      [{ ...NEW, name: "Book \u202Ebulc" }, "name"],
      [{ ...NEW, skills: "browser" }, "skills"],
      [{ ...NEW, notionPageId: "not-a-page" }, "notionPageId"],
      [{ ...NEW, instructions: null }, "instructions"],
      [{ ...NEW, instructions: "   " }, "instructions"],
      [{ ...NEW, surprise: true }, "surprise"],
      [{ slug: "only-slug" }, "name"],
    ];
    for (const [body, field] of cases) {
      const res = await json(api("/api/pool/templates", { method: "POST", json: body }));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("invalid_body");
      expect(res.body.error.message).toContain(field);
    }
    const notJson = await json(api("/api/pool/templates", { method: "POST", body: "{", headers: { "content-type": "application/json" } }));
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe("invalid_json");
  });

  it("accepts a Notion page id as Notion shows it (dashes or page URL) and stores the 32 hex digits", async () => {
    const hex = "0123456789abcdef0123456789abcdef";
    const dashed = "01234567-89ab-cdef-0123-456789abcdef";
    const a = await json(api("/api/pool/templates", { method: "POST", json: { ...NEW, slug: "a1", instructions: null, notionPageId: dashed } }));
    expect(a.status).toBe(201);
    expect(a.body.notionPageId).toBe(hex);
    const b = await json(
      api("/api/pool/templates", { method: "POST", json: { ...NEW, slug: "a2", instructions: undefined, notionPageId: `https://www.notion.so/acme/Book-club-prompt-${hex.toUpperCase()}?pvs=4` } }),
    );
    expect(b.status).toBe(201);
    expect(b.body.notionPageId).toBe(hex);
  });

  it("PUT replaces, PATCH changes only the given fields, both 404 on an unknown slug", async () => {
    const put = await json(api("/api/pool/templates/trip-planner", { method: "PUT", json: { ...NEW, slug: undefined, name: "Trip Planner 2" } }));
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ slug: "trip-planner", name: "Trip Planner 2", featured: false, skills: ["browser"], instructions: "Run a friendly book club." });

    const patch = await json(api("/api/pool/templates/trip-planner", { method: "PATCH", json: { featured: true, emoji: "✈️" } }));
    expect(patch.status).toBe(200);
    expect(patch.body).toMatchObject({ name: "Trip Planner 2", featured: true, emoji: "✈️" });
    expect(patch.body.updatedAt).toBeGreaterThanOrEqual(patch.body.createdAt);

    for (const method of ["PUT", "PATCH"]) {
      const res = await json(api("/api/pool/templates/no-such", { method, json: method === "PUT" ? { ...NEW, slug: undefined } : { featured: true } }));
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    // The slug is the URL; a body cannot rename it.
    expect((await json(api("/api/pool/templates/trip-planner", { method: "PATCH", json: { slug: "x" } }))).status).toBe(400);
  });

  it("PATCH cannot leave a template without instructions", async () => {
    const res = await json(api("/api/pool/templates/study-buddy", { method: "PATCH", json: { instructions: null } }));
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: "instructions", message: expect.stringContaining("notionPageId") }]);
    const ok = await json(api("/api/pool/templates/study-buddy", { method: "PATCH", json: { instructions: null, notionPageId: "0123456789abcdef0123456789abcdef" } }));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ instructions: null, notionPageId: "0123456789abcdef0123456789abcdef" });
  });

  it("unpublished templates are drafts: hidden publicly, listed for operators", async () => {
    await api("/api/pool/templates", { method: "POST", json: { ...NEW, published: false } });
    expect((await api("/api/pool/templates/book-club", { auth: false })).status).toBe(404);
    const pub = await json(api("/api/pool/templates", { auth: false }));
    expect(pub.body.templates.map((t: { slug: string }) => t.slug)).not.toContain("book-club");
    const all = await json(api("/api/pool/catalog/templates"));
    expect(all.body.templates.find((t: { slug: string }) => t.slug === "book-club")).toMatchObject({ published: false });
    const one = await json(api("/api/pool/catalog/templates/book-club"));
    expect(one.body.slug).toBe("book-club");
    expect((await api("/api/pool/catalog/templates/nope")).status).toBe(404);
  });

  it("DELETE removes a template; a second DELETE is 404", async () => {
    const del = await json(api("/api/pool/templates/news-digest", { method: "DELETE" }));
    expect(del).toMatchObject({ status: 200, body: { deleted: "news-digest" } });
    expect((await api("/api/pool/templates/news-digest", { auth: false })).status).toBe(404);
    expect((await json(api("/api/pool/templates/news-digest", { method: "DELETE" }))).status).toBe(404);
    expect((await json(api("/api/pool/templates/BAD!", { method: "DELETE" }))).body.error.code).toBe("invalid_slug");
  });

  it("a template created through the API can be claimed right away", async () => {
    await api("/api/pool/templates", { method: "POST", json: NEW });
    await fillPool(1);
    const claim = await json(api("/api/pool/claim", { method: "POST", json: { template: "book-club" } }));
    expect(claim.status).toBe(200);
    expect(claim.body.agentName).toBe("Book Club");
  });

  it("is described in the OpenAPI document", async () => {
    const doc = await json(api("/api/openapi.json", { auth: false }));
    expect(Object.keys(doc.body.paths["/api/pool/templates"])).toEqual(expect.arrayContaining(["get", "post"]));
    expect(Object.keys(doc.body.paths["/api/pool/templates/{slug}"])).toEqual(expect.arrayContaining(["get", "put", "patch", "delete"]));
    expect(doc.body.paths["/api/pool/templates/{slug}"].patch.security).toEqual([{ poolKey: [] }]);
    expect(doc.body.paths["/api/pool/catalog/templates"].get).toBeDefined();
  });
});
