import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeSession, keyId, newSession as newSessionFor, SESSION_TTL_MS } from "../../../worker/admin/session";
import { POOL_KEY } from "../helpers";
import { withEnv } from "../catalog/helpers";
import { admin, csrfOf, login, setCookies, text } from "./helpers";

describe("admin login", () => {
  it("shows a login form that does not contain the key, and sends anonymous visitors there", async () => {
    const page = await admin("/admin/login");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('type="password"');
    expect(html).not.toContain(POOL_KEY);

    const cases: [string, string][] = [
      ["/admin", "/admin/login"],
      ["/admin/settings", "/admin/login?next=%2Fadmin%2Fsettings"],
      ["/admin?status=crashed", "/admin/login?next=%2Fadmin%3Fstatus%3Dcrashed"],
      ["/admin/instances/abc", "/admin/login?next=%2Fadmin%2Finstances%2Fabc"],
    ];
    for (const [path, login] of cases) {
      const res = await admin(path);
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(login);
    }
  });

  it("returns to the page that asked for the login, and only to a page of the dashboard", async () => {
    const form = await admin("/admin/login?next=%2Fadmin%2Fsettings");
    expect(await form.text()).toContain('<input type="hidden" name="next" value="/admin/settings"/>');
    const back = await admin("/admin/login", { form: { key: POOL_KEY, next: "/admin/settings" }, ip: "10.1.1.1" });
    expect(back.headers.get("location")).toBe("/admin/settings");
    for (const next of ["//evil.example/admin", "https://evil.example/admin", "/admin//evil.example", "/adminx", "/admin/login", "/admin\\evil", "/api/pool/drain"]) {
      const res = await admin("/admin/login", { form: { key: POOL_KEY, next }, ip: "10.1.1.2" });
      expect(res.headers.get("location"), next).toBe("/admin");
    }
  });

  it("sets a signed, expiring, host-only session cookie on the right key and never echoes the key", async () => {
    const res = await admin("/admin/login", { form: { key: POOL_KEY }, ip: "10.1.0.1" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin");
    const body = await res.text();
    expect(body).not.toContain(POOL_KEY);
    const cookie = setCookies(res).get("__Host-pool_admin");
    expect(cookie).toBeDefined();
    expect(cookie!.value).not.toContain(POOL_KEY);
    expect(cookie!.raw).toMatch(/HttpOnly/i);
    expect(cookie!.raw).toMatch(/Secure/i);
    expect(cookie!.raw).toMatch(/SameSite=Strict/i);
    expect(cookie!.raw).toMatch(/Path=\//);
    expect(cookie!.raw).not.toMatch(/Domain=/i);
    expect(cookie!.raw).toMatch(new RegExp(`Max-Age=${SESSION_TTL_MS / 1000}`));

    const overview = await admin("/admin", { cookie: `__Host-pool_admin=${cookie!.value}` });
    expect(overview.status).toBe(200);
    const html = await overview.text();
    expect(text(html)).toContain("Pool overview");
    expect(html).not.toContain(POOL_KEY);
  });

  it("refuses a wrong key with a message and no cookie", async () => {
    const res = await admin("/admin/login", { form: { key: "not-the-key" }, ip: "10.1.0.2" });
    expect(res.status).toBe(401);
    expect(setCookies(res).has("__Host-pool_admin")).toBe(false);
    const page = text(await res.text());
    expect(page).toContain("Wrong pool key. 4 attempts left this minute.");
    expect(page).not.toContain("not-the-key");

    const empty = await admin("/admin/login", { form: { key: "" }, ip: "10.1.0.2" });
    expect(empty.status).toBe(400);
    expect(text(await empty.text())).toContain("Enter the pool key.");
  });

  it("logs out: the cookie is cleared and the overview asks for a login again", async () => {
    const op = await login("10.1.0.3");
    const res = await op.post("/admin/logout");
    expect(res.status).toBe(303);
    expect(res.res.headers.get("location")).toBe("/admin/login?loggedOut=1");
    const cleared = setCookies(res.res).get("__Host-pool_admin");
    expect(cleared?.value).toBe("");
    expect(cleared?.raw).toMatch(/Max-Age=0/);
    const after = await admin("/admin/login?loggedOut=1");
    expect(text(await after.text())).toContain("You are logged out.");
  });

  it("ends the session server-side: a copy of the old cookie no longer works", async () => {
    const op = await login("10.1.0.5");
    await op.post("/admin/logout");
    const replayed = await admin("/admin", { cookie: op.cookie });
    expect(replayed.status).toBe(303);
    expect(replayed.headers.get("location")).toBe("/admin/login");
    expect((await admin("/admin/reconcile", { cookie: op.cookie, form: { _csrf: op.csrf } })).status).toBe(401);
    // Another session is untouched.
    const other = await login("10.1.0.6");
    expect((await admin("/admin", { cookie: other.cookie })).status).toBe(200);
  });

  it("logs out everywhere: every session, on every browser, ends; a new login works", async () => {
    const [a, b] = [await login("10.1.0.7"), await login("10.1.0.8")];
    const res = await a.post("/admin/logout-everywhere");
    expect(res.status).toBe(303);
    for (const op of [a, b]) expect((await admin("/admin", { cookie: op.cookie })).status).toBe(303);
    const fresh = await login("10.1.0.9");
    expect((await admin("/admin", { cookie: fresh.cookie })).status).toBe(200);
  });

  it("a change of the pool key ends the sessions opened with the old one", async () => {
    const op = await login("10.1.0.10");
    const rotated = await withEnv({ POOL_API_KEY: "rotated-pool-key-0123456789abcdef" }, "/admin", { headers: { cookie: op.cookie }, redirect: "manual" });
    expect(rotated.status).toBe(303);
    expect(rotated.headers.get("location")).toBe("/admin/login");
    expect((await admin("/admin", { cookie: op.cookie })).status).toBe(200);
  });

  it("refuses a logout without the session's CSRF token", async () => {
    const op = await login("10.1.0.4");
    const res = await admin("/admin/logout", { cookie: op.cookie, form: {} });
    expect(res.status).toBe(403);
    expect(setCookies(res).has("__Host-pool_admin")).toBe(false);
  });
});

const newSession = () => newSessionFor(currentKeyId);
let currentKeyId = "";
beforeAll(async () => {
  currentKeyId = await keyId(env.SESSION_SECRET, env.POOL_API_KEY);
});

describe("admin sessions", () => {
  it("treats an expired session as logged out", async () => {
    const session = { ...newSession(), exp: Date.now() - 1000 };
    const cookie = `__Host-pool_admin=${await encodeSession(env.SESSION_SECRET, session)}`;
    const res = await admin("/admin", { cookie });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/login");

    const post = await admin("/admin/reconcile", { cookie, form: { _csrf: "x" } });
    expect(post.status).toBe(401);
    expect(text(await post.text())).toContain("Your session has expired or you are not logged in, so nothing was changed.");
  });

  it("accepts a session until it expires", async () => {
    const cookie = `__Host-pool_admin=${await encodeSession(env.SESSION_SECRET, { ...newSession(), exp: Date.now() + 60_000 })}`;
    expect((await admin("/admin", { cookie })).status).toBe(200);
  });

  it("rejects a tampered cookie or one signed with another secret", async () => {
    const op = await login("10.2.0.1");
    const [payload, signature] = op.cookie.slice("__Host-pool_admin=".length).split(".");
    // Extend the expiry without re-signing.
    const forged = btoa(JSON.stringify({ sid: "attacker", exp: Date.now() + 10 * 365 * 86_400_000 }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    const cases = [`${forged}.${signature}`, `${payload}.${signature!.slice(0, -2)}AA`, `${payload}`, `${await encodeSession("another-secret-entirely-0123456789", newSession())}`, "garbage"];
    for (const value of cases) {
      const res = await admin("/admin", { cookie: `__Host-pool_admin=${value}` });
      expect(res.status, value).toBe(303);
    }
  });
});

describe("admin login rate limit", { timeout: 15_000 }, () => {
  it("allows 5 wrong keys per minute per client, then refuses even the right key with a clear message", async () => {
    const ip = "10.3.0.1";
    await awayFromWindowEdge();
    for (let i = 0; i < 5; i++) {
      const res = await admin("/admin/login", { form: { key: `wrong-${i}` }, ip });
      expect(res.status).toBe(401);
    }
    const blocked = await admin("/admin/login", { form: { key: POOL_KEY }, ip });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(setCookies(blocked).has("__Host-pool_admin")).toBe(false);
    expect(text(await blocked.text())).toMatch(/Too many failed attempts from your address\. Try again in \d+ seconds\./);

    // Another client is not affected.
    expect((await admin("/admin/login", { form: { key: POOL_KEY }, ip: "10.3.0.2" })).status).toBe(303);
  });

  it("forgets earlier failures after a successful login", async () => {
    const ip = "10.3.0.3";
    await awayFromWindowEdge();
    for (let i = 0; i < 4; i++) await admin("/admin/login", { form: { key: "wrong" }, ip });
    expect((await admin("/admin/login", { form: { key: POOL_KEY }, ip })).status).toBe(303);
    const res = await admin("/admin/login", { form: { key: "wrong" }, ip });
    expect(text(await res.text())).toContain("4 attempts left this minute");
  });
});

describe("admin CSRF protection", () => {
  it("rejects posts from another origin or without an origin, even with a valid session and token", async () => {
    const op = await login("10.4.0.1");
    const before = await admin("/admin/settings", { cookie: op.cookie });
    const csrf = csrfOf(await before.text());
    for (const origin of ["https://evil.example", null]) {
      const res = await admin("/admin/settings", { cookie: op.cookie, origin, form: { _csrf: csrf, minIdle: "0" } });
      expect(res.status).toBe(403);
      expect(text(await res.text())).toContain("Nothing was changed");
    }
    const res = await admin("/admin/login", { origin: "https://evil.example", form: { key: POOL_KEY } });
    expect(res.status).toBe(403);
    expect(setCookies(res).has("__Host-pool_admin")).toBe(false);
  });

  it("rejects same-origin posts without the session's token or with another session's token", async () => {
    const a = await login("10.4.0.2");
    const b = await login("10.4.0.3");
    expect(a.csrf).not.toBe(b.csrf);
    const settings = (await a.get("/admin/settings")).html;
    const minIdleBefore = /id="setting-minIdle"[^>]*value="(\d+)"/.exec(settings)?.[1];
    const forms: Record<string, string>[] = [{ minIdle: "7" }, { _csrf: b.csrf, minIdle: "7" }, { _csrf: "", minIdle: "7" }];
    for (const form of forms) {
      const res = await admin("/admin/settings", { cookie: a.cookie, form });
      expect(res.status).toBe(403);
      expect(text(await res.text())).toContain("security token");
    }
    const after = (await a.get("/admin/settings")).html;
    expect(/id="setting-minIdle"[^>]*value="(\d+)"/.exec(after)?.[1]).toBe(minIdleBefore);
  });

  it("accepts Sec-Fetch-Site: same-origin when a browser sends no Origin", async () => {
    const op = await login("10.4.0.4");
    const res = await admin("/admin/reconcile", { cookie: op.cookie, origin: null, headers: { "sec-fetch-site": "same-origin" }, form: { _csrf: op.csrf } });
    expect(res.status).toBe(303);
  });
});

describe("admin response headers", () => {
  it("sends a CSP that allows script only with the page's nonce, and forbids caching and framing", async () => {
    const op = await login("10.5.0.1");
    const page = await op.get("/admin");
    const csp = page.res.headers.get("content-security-policy")!;
    expect(csp).toMatch(/default-src 'none'/);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.html).toContain(`<script nonce="${nonce}" src="/admin/assets/admin.js"`);
    // No inline script at all: every <script> is the nonce'd external one.
    expect(page.html.match(/<script/g)).toHaveLength(1);
    expect(page.res.headers.get("cache-control")).toBe("no-store");
    expect(page.res.headers.get("x-frame-options")).toBe("DENY");

    const again = await op.get("/admin");
    expect(again.res.headers.get("content-security-policy")).not.toContain(nonce);
  });

  it("serves the stylesheet and script to anyone, and answers unknown admin pages with an HTML 404", async () => {
    const css = await admin("/admin/assets/admin.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toContain("text/css");
    const js = await admin("/admin/assets/admin.js");
    expect(js.headers.get("content-type")).toContain("javascript");
    const op = await login("10.5.0.2");
    const missing = await op.get("/admin/nope");
    expect(missing.status).toBe(404);
    expect(text(missing.html)).toContain("Page not found");
  });
});

/** The limiter counts in fixed one-minute windows; start a burst well inside one so it cannot straddle two. */
async function awayFromWindowEdge(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 50));
}
