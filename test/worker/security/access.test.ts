import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { encodeSession, keyId, newSession as newSessionFor, SESSION_COOKIE } from "../../../worker/admin/session";
import { app } from "../../../worker/app";
import { open } from "../../../worker/crypto/sealed";
import { ErrorBodySchema } from "../../../worker/http/errors";
import { admin, csrfOf, login, ORIGIN } from "../admin/helpers";
import { api, fillPool, json, POOL_KEY, setFaults } from "../helpers";
import { providerEnv } from "../providers/support";
import { rowsIn } from "../reliability/support";

/**
 * Nobody gets in without the right credential. Routes are enumerated from the app itself,
 * so a route added later without authentication fails here, not in production.
 */

const SESSION_SECRET = "test-session-secret-0123456789abcdef";

/** Routes anyone may call: they never reveal an invite URL, a token or a key (checked in secrets.test.ts). */
const PUBLIC = new Set([
  "GET /healthz",
  "GET /api/pool/counts",
  "GET /api/pool/info",
  "GET /api/pool/templates",
  "GET /api/pool/templates/:slug",
  "GET /api/openapi.json",
  // A published template's prompt is as public as the template; other pages need the key
  // (its own suite checks that; here NOTION_API_KEY is unset and it answers 503 to all).
  "GET /api/prompts/:pageId",
  // Authenticated by the instance's own token: its own describe below.
  "POST /api/pool/instances/:id/self-destruct",
  "POST /api/pool/instances/:id/join-resolution",
  // Authenticated by its own secret in the path (RAILWAY_WEBHOOK_SECRET): its own describe below.
  "POST /api/webhooks/railway/:secret",
  // Also the instance's own token: credits.test.ts refuses other instances' tokens, the pool key and none.
  "GET /api/pool/instances/:id/credits/remaining",
  "POST /api/pool/instances/:id/credits/exhausted",
]);

async function snapshot(): Promise<string> {
  const tables = ["instances", "instance_events", "claims", "settings", "templates", "phone_numbers"];
  const parts = await env.DB.batch(tables.map((t) => env.DB.prepare(`SELECT * FROM "${t}" ORDER BY rowid`)));
  return JSON.stringify(parts.map((p) => p.results));
}

/** Every JSON route the app serves outside /admin, the catalog pages and the bench hooks. */
function apiRoutes(): { method: string; path: string }[] {
  const seen = new Set<string>();
  const out: { method: string; path: string }[] = [];
  for (const r of app.routes) {
    if (r.method === "ALL" || !(r.path.startsWith("/api/") || r.path === "/metrics")) continue;
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ method: r.method, path: r.path });
  }
  return out;
}

let fixtures: { id: string; slug: string; pageId: string };

beforeEach(async () => {
  await fillPool(2);
  const [row] = await rowsIn("idle");
  fixtures = { id: row!.id, slug: "study-buddy", pageId: "0123456789abcdef0123456789abcdef" };
});

const concrete = (path: string) => path.replace(":id", fixtures.id).replace(":slug", fixtures.slug).replace(":pageId", fixtures.pageId);

describe("the pool API refuses everyone without the pool key", { timeout: 60_000 }, () => {
  const WRONG: [string, Record<string, string>][] = [
    ["no Authorization header", {}],
    ["an empty bearer", { authorization: "Bearer " }],
    ["the wrong scheme", { authorization: `Basic ${btoa(`pool:${POOL_KEY}`)}` }],
    ["the key without a scheme", { authorization: POOL_KEY }],
    ["a wrong key of the same length", { authorization: `Bearer ${"x".repeat(POOL_KEY.length)}` }],
    ["a key one character short", { authorization: `Bearer ${POOL_KEY.slice(0, -1)}` }],
    ["the key with a character appended", { authorization: `Bearer ${POOL_KEY}0` }],
    ["a very long key", { authorization: `Bearer ${POOL_KEY.repeat(200)}` }],
    ["the key in another case", { authorization: `Bearer ${POOL_KEY.toUpperCase()}` }],
    ["the session secret", { authorization: `Bearer ${SESSION_SECRET}` }],
    ["the key as a query parameter only", {}],
    ["the key in a cookie only", { cookie: `key=${POOL_KEY}` }],
  ];

  it("every private route: each wrong credential is a 401 with the error shape, and nothing changes", async () => {
    const routes = apiRoutes().filter((r) => !PUBLIC.has(`${r.method} ${r.path}`));
    // The app has the routes this suite expects to guard; fewer would mean the enumeration broke.
    expect(routes.length).toBeGreaterThanOrEqual(15);
    const op = await login();
    const before = await snapshot();
    const failures: string[] = [];
    let tried = 0;
    const credentials: [string, Record<string, string>][] = [
      ...WRONG,
      // A logged-in operator's cookie is for the dashboard's forms, not for the API.
      ["an admin session cookie", { cookie: op.cookie }],
    ];
    for (const route of routes) {
      for (const [label, headers] of credentials) {
        const path = concrete(route.path) + (label.includes("query") ? `?key=${POOL_KEY}&token=${POOL_KEY}` : "");
        const res = await exports.default.fetch(
          new Request(`${ORIGIN}${path}`, {
            method: route.method,
            headers: { ...headers, "content-type": "application/json" },
            body: ["GET", "HEAD", "DELETE"].includes(route.method) ? undefined : "{}",
          }),
        );
        const body = await res.text();
        tried++;
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(body);
        } catch {}
        if (res.status !== 401 || !ErrorBodySchema.safeParse(parsed).success) failures.push(`${route.method} ${route.path} with ${label} → ${res.status} ${body.slice(0, 120)}`);
      }
    }
    console.log(JSON.stringify({ privateRoutes: routes.length, refusedCredentials: tried }));
    expect(failures).toEqual([]);
    expect(await snapshot()).toBe(before);
  });

  it("the right key is accepted on the same routes (so the refusals above are about the key)", async () => {
    for (const route of apiRoutes().filter((r) => !PUBLIC.has(`${r.method} ${r.path}`))) {
      const res = await api(concrete(route.path), { method: route.method, ...(["GET", "DELETE"].includes(route.method) ? {} : { json: {} }) });
      expect(res.status, `${route.method} ${route.path}`).not.toBe(401);
      await res.body?.cancel();
    }
  });
});

describe("the dashboard refuses everyone without a valid session", { timeout: 60_000 }, () => {
  async function cookies(): Promise<[string, string | null][]> {
    const kid = await keyId(SESSION_SECRET, env.POOL_API_KEY);
    const newSession = () => newSessionFor(kid);
    const expired = await encodeSession(SESSION_SECRET, { ...newSession(), exp: Date.now() - 1_000 });
    const otherSecret = await encodeSession("another-secret-0123456789abcdef0123", newSession());
    const valid = await encodeSession(SESSION_SECRET, newSession());
    const [payload, signature] = valid.split(".");
    const forever = btoa(JSON.stringify({ sid: "attacker", exp: Date.now() + 10 * 365 * 86_400_000 })).replace(/=+$/, "");
    const sigBytes = atob(signature!.replace(/-/g, "+").replace(/_/g, "/"));
    const flipped = btoa(String.fromCharCode(sigBytes.charCodeAt(0) ^ 1) + sigBytes.slice(1))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    return [
      ["no cookie", null],
      ["an expired session", `${SESSION_COOKIE}=${expired}`],
      ["a session signed with another secret", `${SESSION_COOKIE}=${otherSecret}`],
      ["a payload swapped under a valid signature", `${SESSION_COOKIE}=${forever}.${signature}`],
      ["a signature with one bit flipped", `${SESSION_COOKIE}=${payload}.${flipped}`],
      ["a payload without a signature", `${SESSION_COOKIE}=${payload}`],
      ["an extra segment", `${SESSION_COOKIE}=${valid}.x`],
      ["the pool key as the cookie", `${SESSION_COOKIE}=${POOL_KEY}`],
      ["a 4 KiB cookie", `${SESSION_COOKIE}=${"a".repeat(4096)}.${signature}`],
      ["the session under another cookie name", `pool_admin=${valid}`],
    ];
  }

  it("every dashboard page redirects to the login and every action is refused, with nothing changed", async () => {
    const seen = new Set<string>();
    const routes = app.routes.filter((r) => {
      const key = `${r.method} ${r.path}`;
      // Logging out needs no session: it only clears the caller's own cookie.
      if (r.method === "ALL" || !r.path.startsWith("/admin") || /^\/admin\/(login|logout|assets\/)/.test(r.path) || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    expect(routes.length).toBeGreaterThanOrEqual(8);
    const before = await snapshot();
    const failures: string[] = [];
    let tried = 0;
    for (const route of routes) {
      for (const [label, cookie] of await cookies()) {
        const path = concrete(route.path);
        const res = await admin(path, {
          method: route.method,
          cookie,
          form: route.method === "POST" ? { confirmed: "yes", count: "1", agentName: "x", joinUrl: "https://dev.convos.org/v2?i=abcdefgh12" } : undefined,
        });
        tried++;
        const ok = route.method === "GET" ? res.status === 303 && res.headers.get("location")?.startsWith("/admin/login") : res.status === 401 || res.status === 403;
        if (!ok) failures.push(`${route.method} ${route.path} with ${label} → ${res.status} ${res.headers.get("location") ?? ""}`);
        await res.body?.cancel();
      }
    }
    console.log(JSON.stringify({ adminRoutes: routes.length, refusedSessions: tried }));
    expect(failures).toEqual([]);
    expect(await snapshot()).toBe(before);
  });

  it("login attempts are limited per client address, and a spoofable header does not reset the count", async () => {
    for (let i = 0; i < 5; i++) expect((await admin("/admin/login", { form: { key: `wrong-${i}` }, ip: "203.0.113.7", headers: { "x-real-ip": `198.51.100.${i}` } })).status).toBe(401);
    const limited = await admin("/admin/login", { form: { key: POOL_KEY }, ip: "203.0.113.7", headers: { "x-real-ip": "198.51.100.99" } });
    expect(limited.status).toBe(429);
    expect(limited.headers.getSetCookie().join(";")).not.toContain(SESSION_COOKIE);
  });
});

describe("every form carries CSRF protection and every page a strict CSP", () => {
  it("each form on each dashboard page has the session's token, and each is refused without it or from another origin", async () => {
    await api("/api/pool/claim", { method: "POST", json: { agentName: "Claimed" } });
    await setFaults({ provisionStatus: 409 });
    await api("/api/pool/claim", { method: "POST", json: {} });
    await setFaults({});
    const [claimed] = await rowsIn("claimed");
    const [crashed] = await rowsIn("crashed");
    const op = await login();
    const pages = ["/admin", "/admin/settings", `/admin/instances/${claimed!.id}`, `/admin/instances/${crashed!.id}`];
    const actions = new Set<string>();
    const before = await snapshot();
    for (const page of pages) {
      const { html, res } = await op.get(page);
      const forms = [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/g)].map((m) => m[0]);
      for (const form of forms) {
        if (!/method="post"/i.test(form)) continue;
        const action = /action="([^"]+)"/.exec(form)?.[1];
        expect(action, `a post form on ${page} has an action`).toBeTruthy();
        expect(csrfOf(form), `form ${action} on ${page} carries the session's CSRF token`).toBe(op.csrf);
        actions.add(action!);
      }
      // CSP: no inline script without the page's nonce, no inline handlers, framing forbidden.
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
      for (const script of html.matchAll(/<script\b[^>]*>/g)) expect(script[0], `script on ${page}`).toContain(`nonce="${nonce}"`);
      expect(html, `inline event handlers on ${page}`).not.toMatch(/\son[a-z]+=["']/i);
    }
    expect(actions.size, "the dashboard's actions were found").toBeGreaterThanOrEqual(7);
    for (const action of actions) {
      const noToken = await admin(action, { cookie: op.cookie, form: { confirmed: "yes", count: "1" } });
      expect(noToken.status, `${action} without a token`).toBe(403);
      const crossSite = await admin(action, { cookie: op.cookie, form: { _csrf: op.csrf, confirmed: "yes", count: "1" }, origin: "https://evil.example" });
      expect(crossSite.status, `${action} from another origin`).toBe(403);
    }
    expect(await snapshot()).toBe(before);
  });

  it("catalog pages send a strict CSP and their forms refuse other origins", async () => {
    for (const path of ["/", "/a/study-buddy"]) {
      const res = await exports.default.fetch(new Request(`${ORIGIN}${path}`));
      const html = await res.text();
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
      for (const script of html.matchAll(/<script\b[^>]*>/g)) expect(script[0]).toContain(`nonce="${nonce}"`);
      expect(html).not.toMatch(/\son[a-z]+=["']/i);
    }
    const before = await snapshot();
    for (const action of ["/a/study-buddy/start", "/a/study-buddy/join"]) {
      const res = await exports.default.fetch(
        new Request(`${ORIGIN}${action}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
          body: "joinUrl=https%3A%2F%2Fdev.convos.org%2Fv2%3Fi%3Dabcdefgh12",
        }),
      );
      expect(res.status, action).toBe(403);
    }
    expect(await snapshot()).toBe(before);
  });
});

describe("self-destruct is authenticated by the instance's own token only", () => {
  async function tokenOf(id: string): Promise<string> {
    const row = await env.DB.prepare("SELECT gateway_token_sealed FROM instances WHERE id = ?").bind(id).first<{ gateway_token_sealed: string }>();
    return open(env.POOL_ENCRYPTION_KEY, row!.gateway_token_sealed, id);
  }
  const selfDestruct = (id: string, token?: string) => json(api(`/api/pool/instances/${id}/self-destruct`, { method: "POST", auth: token === undefined ? false : token }));

  it("another instance's token, the pool key, a wrong or missing token are refused; its own token works once", async () => {
    const claimed = (await json(api("/api/pool/claim", { method: "POST", json: {} }))).body.instanceId as string;
    const [other] = await rowsIn("idle");
    const mine = await tokenOf(claimed);
    const theirs = await tokenOf(other!.id);
    const before = await snapshot();
    for (const [label, token] of [
      ["no token", undefined],
      ["another instance's token", theirs],
      ["the pool key", POOL_KEY],
      ["its token with a character changed", `${mine.slice(0, -1)}${mine.endsWith("A") ? "B" : "A"}`],
      ["its token truncated", mine.slice(0, 10)],
      ["the sealed token as stored", (await env.DB.prepare("SELECT gateway_token_sealed AS s FROM instances WHERE id = ?").bind(claimed).first<{ s: string }>())!.s],
    ] as [string, string | undefined][]) {
      const res = await selfDestruct(claimed, token);
      expect(res.status, label).toBe(401);
      expect(ErrorBodySchema.safeParse(res.body).success).toBe(true);
    }
    // An unknown instance answers exactly like a wrong token: ids cannot be probed.
    const unknown = await selfDestruct("i-does-not-exist", mine);
    expect(unknown.status).toBe(401);
    expect(await snapshot()).toBe(before);

    const ok = await selfDestruct(claimed, mine);
    expect(ok.status).toBe(202);
    expect((await json(api(`/api/pool/instances/${claimed}`))).body.status).toMatch(/deleting|deleted/);
    expect((await json(api(`/api/pool/instances/${other!.id}`))).body.status).toBe("idle");
  });
});

describe("the Railway webhook takes its own secret, never the pool key", () => {
  const SECRET = "whsec-access-0123456789abcdef012345";
  const body = JSON.stringify({ type: "DEPLOY", status: "CRASHED", timestamp: new Date().toISOString(), service: { id: "svc-x", name: "convos-agent-ix" } });
  const post = (secret: string, e: Env, headers: Record<string, string> = {}) =>
    app.request(`/api/webhooks/railway/${encodeURIComponent(secret)}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }, e);

  it("unset, wrong, or the pool key (in the path or as a bearer): the same 404, nothing changed; the right secret is let in", async () => {
    const configured = { ...providerEnv, RAILWAY_WEBHOOK_SECRET: SECRET } as Env;
    const before = await snapshot();
    const refused = [
      await post(SECRET, env), // no RAILWAY_WEBHOOK_SECRET in this Worker: nothing is accepted
      await post(POOL_KEY, configured),
      await post("wrong", configured, { authorization: `Bearer ${POOL_KEY}` }),
      await post(SECRET.slice(0, -1), configured),
      await post(`${SECRET}x`, configured),
      await post(env.SESSION_SECRET, configured),
    ];
    const bodies = new Set<string>();
    for (const res of refused) {
      expect(res.status).toBe(404);
      bodies.add(await res.text());
    }
    // One answer for every refusal: which part was wrong is not revealed.
    expect([...bodies]).toEqual([JSON.stringify({ error: { code: "not_found", message: "no such webhook" } })]);
    expect(await snapshot()).toBe(before);
    const accepted = await post(SECRET, configured);
    expect(accepted.status).toBe(202); // an unknown service: accepted and ignored
    await accepted.body?.cancel();
  });
});
