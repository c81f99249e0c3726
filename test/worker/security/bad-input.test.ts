import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { ErrorBodySchema } from "../../../worker/http/errors";
import { admin, login, ORIGIN } from "../admin/helpers";
import { api, coordinatorStub, fillPool, json, POOL_KEY, setFaults } from "../helpers";
import { BAD_FORM_VALUES, BAD_IDS, BAD_INVITES, type BadCase, jsonCases } from "./corpus";

/**
 * Every case of the generated corpus is refused: a 4xx (never a 500), in the API's one JSON
 * error shape (pages may answer HTML), and the database is exactly as it was. Rate-limit
 * counters are the one table a refused request may touch: counting refusals is their job.
 */

async function snapshot(): Promise<string> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT IN ('d1_migrations', 'rate_limits') ORDER BY name",
  ).all<{ name: string }>();
  const parts = await env.DB.batch(tables.results.map((t) => env.DB.prepare(`SELECT * FROM "${t.name}" ORDER BY rowid`)));
  return JSON.stringify(tables.results.map((t, i) => [t.name, parts[i]!.results]));
}

async function send(c: BadCase): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${c.path}`, { method: c.method, headers: c.headers, body: c.body, redirect: "manual" }));
}

/** A pool with something in every table a request could damage: idle, claimed and crashed instances, a used idempotency key. */
async function populatedPool() {
  await fillPool(3);
  expect((await api("/api/pool/claim", { method: "POST", json: { agentName: "Kept" }, headers: { "idempotency-key": "used-key" } })).status).toBe(200);
  await setFaults({ provisionStatus: 409 });
  expect((await api("/api/pool/claim", { method: "POST", json: {} })).status).toBe(502);
  await setFaults({});
  // No tick may run in the middle of the corpus and change rows on its own.
  await runInDurableObject(coordinatorStub(), (_i, state) => state.storage.deleteAlarm());
}

// ".." segments are resolved by URL parsing before any route sees them (/a/.. is the catalog
// itself), so pages get the rest; the JSON API gets them all.
const PAGE_IDS = BAD_IDS.filter((id) => id !== ".." && id !== "%2e%2e");

let tried = 0;
beforeEach(() => {
  tried = 0;
});

describe("the JSON API refuses the corpus", { timeout: 120_000 }, () => {
  beforeEach(populatedPool);

  it("every malformed, mistyped, oversized, hostile or misplaced input is a 4xx with the error shape and changes nothing", async () => {
    const cases = jsonCases();
    // Reusing a key with another body is refused too (the first use, in populatedPool, succeeded).
    cases.push({
      group: "POST /api/pool/claim",
      name: "duplicate Idempotency-Key, other body",
      method: "POST",
      path: "/api/pool/claim",
      headers: { authorization: `Bearer ${POOL_KEY}`, "content-type": "application/json", "idempotency-key": "used-key" },
      body: '{"agentName":"Other"}',
      status: 422,
    });
    const failures: string[] = [];
    const groups = new Map<string, BadCase[]>();
    for (const c of cases) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
    for (const [group, members] of groups) {
      const before = await snapshot();
      for (const c of members) {
        const res = await send(c);
        const text = await res.text();
        const where = `${c.method} ${c.path.slice(0, 80)} [${c.name}] → ${res.status}`;
        if (res.status < 400 || res.status > 499) failures.push(`${where}: not a 4xx: ${text.slice(0, 200)}`);
        else if (c.status !== undefined && res.status !== c.status) failures.push(`${where}: expected ${c.status}: ${text.slice(0, 200)}`);
        let body: unknown = null;
        try {
          body = JSON.parse(text);
        } catch {}
        const shaped = ErrorBodySchema.safeParse(body);
        if (!shaped.success || !(res.headers.get("content-type") ?? "").includes("application/json")) failures.push(`${where}: not the JSON error shape: ${text.slice(0, 200)}`);
        else if (res.status === 400 && c.field && !JSON.stringify(shaped.data.error).includes(c.field)) {
          // Field errors name the field, so a client can tell which one to fix.
          failures.push(`${where}: error does not name ${c.field}: ${shaped.data.error.message}`);
        }
        tried++;
      }
      const after = await snapshot();
      if (after !== before) failures.push(`${group}: the database changed after ${members.length} refused requests`);
    }
    console.log(JSON.stringify({ apiBadInputs: cases.length }));
    expect(failures).toEqual([]);
    expect(cases.length).toBeGreaterThan(500);
  });
});

describe("pages refuse the corpus", { timeout: 120_000 }, () => {
  beforeEach(populatedPool);

  it("admin forms answer bad input with an HTML 4xx and change nothing", async () => {
    const op = await login();
    const before = await snapshot();
    const failures: string[] = [];
    const expect4xx = async (what: string, r: Promise<{ status: number; html: string }>) => {
      const { status, html } = await r;
      if (status < 400 || status > 499) failures.push(`${what} → ${status}: ${html.replace(/\s+/g, " ").slice(0, 160)}`);
      tried++;
    };
    const refusedNames = BAD_FORM_VALUES.filter(([n]) => ["huge", "NUL", "control characters", "bidi override"].includes(n));
    for (const [label, value] of refusedNames) await expect4xx(`launch agentName ${label}`, op.post("/admin/launch", { agentName: value }));
    for (const [label, value] of BAD_FORM_VALUES.filter(([n]) => n !== "empty")) await expect4xx(`launch template ${label}`, op.post("/admin/launch", { template: value }));
    for (const [label, value] of [...BAD_INVITES, ["empty", ""] as [string, string]]) await expect4xx(`join ${label}`, op.post("/admin/join", { joinUrl: value }));
    for (const action of ["replenish", "drain"]) {
      for (const [label, value] of [...BAD_FORM_VALUES.filter(([n]) => n !== "empty"), ["zero", "0"], ["21", "21"]] as [string, string][]) {
        await expect4xx(`${action} count ${label}`, op.post(`/admin/${action}`, { count: value }));
      }
    }
    const current = (await json(api("/api/pool/settings"))).body as Record<string, number>;
    const asForm = Object.fromEntries(Object.entries(current).map(([k, v]) => [k, String(v)]));
    for (const field of Object.keys(current)) {
      for (const [label, value] of BAD_FORM_VALUES) await expect4xx(`settings ${field} ${label}`, op.post("/admin/settings", { ...asForm, [field]: value }));
    }
    await expect4xx("settings minIdle above maxTotal", op.post("/admin/settings", { ...asForm, minIdle: "500", maxTotal: "10" }));
    for (const id of PAGE_IDS) {
      await expect4xx(`instance page ${id}`, op.get(`/admin/instances/${id}`));
      await expect4xx(`kill ${id}`, op.post(`/admin/instances/${id}/kill`, { confirmed: "yes" }));
      await expect4xx(`dismiss ${id}`, op.post(`/admin/instances/${id}/dismiss`, { confirmed: "yes" }));
      await expect4xx(`qr ${id}`, op.get(`/admin/instances/${id}/qr.svg`));
    }
    for (const status of ["nope", "IDLE", "idle'--", "%00", "<script>"]) await expect4xx(`filter ${status}`, op.get(`/admin?status=${encodeURIComponent(status)}`));
    // Bodies that are not forms: no CSRF token can be read from them.
    for (const type of ["application/json", "text/plain", "application/xml"]) {
      const r = admin("/admin/replenish", { cookie: op.cookie, headers: { "content-type": type } });
      await expect4xx(
        `replenish as ${type}`,
        r.then(async (res) => ({ status: res.status, html: await res.text() })),
      );
    }
    // Logins with malformed input (counted by the rate limiter, which is its job, and nothing else).
    for (const [label, value] of BAD_FORM_VALUES) {
      await expect4xx(
        `login key ${label}`,
        admin("/admin/login", { form: { key: value }, ip: `10.9.${tried % 250}.1` }).then(async (res) => ({ status: res.status, html: await res.text() })),
      );
    }
    console.log(JSON.stringify({ adminBadInputs: tried }));
    expect(failures).toEqual([]);
    expect(await snapshot()).toBe(before);
  });

  it("catalog forms and pages answer bad input with an HTML 4xx and change nothing", async () => {
    const before = await snapshot();
    const failures: string[] = [];
    const post = (path: string, form: Record<string, string>, ip: string) =>
      exports.default.fetch(
        new Request(`${ORIGIN}${path}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, "cf-connecting-ip": ip },
          body: new URLSearchParams(form).toString(),
          redirect: "manual",
        }),
      );
    let n = 0;
    const check = async (what: string, res: Response) => {
      const html = await res.text();
      if (res.status < 400 || res.status > 499) failures.push(`${what} → ${res.status}: ${html.replace(/\s+/g, " ").slice(0, 160)}`);
      tried++;
    };
    for (const [label, value] of [...BAD_INVITES, ["empty", ""] as [string, string]]) await check(`join ${label}`, await post("/a/study-buddy/join", { joinUrl: value }, `10.8.0.${++n}`));
    for (const id of [...PAGE_IDS, "no-such-agent"]) {
      await check(`template page ${id}`, await exports.default.fetch(new Request(`${ORIGIN}/a/${id}`)));
      await check(`start ${id}`, await post(`/a/${id}/start`, {}, `10.8.1.${++n}`));
    }
    console.log(JSON.stringify({ catalogBadInputs: tried }));
    expect(failures).toEqual([]);
    expect(await snapshot()).toBe(before);
  });
});

describe("hostile text that is a legal name", () => {
  it("is stored verbatim, never interpreted, and escaped on every admin page", async () => {
    await fillPool(3);
    const names = ["<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "x' OR '1'='1", "1; DROP TABLE instances; --", "../../../etc/passwd", "</title><svg onload=alert(1)>"];
    const op = await login();
    const ids: string[] = [];
    for (const name of names.slice(0, 3)) {
      const r = await json(api("/api/pool/claim", { method: "POST", json: { agentName: name, instructions: name } }));
      expect(r.status).toBe(200);
      expect(r.body.agentName).toBe(name);
      ids.push(r.body.instanceId);
      tried++;
    }
    // The tables survived the SQL-looking names, and the names are what was sent.
    for (const [i, id] of ids.entries()) expect((await json(api(`/api/pool/instances/${id}`))).body.agentName).toBe(names[i]);
    const pages = [(await op.get("/admin")).html, ...(await Promise.all(ids.map(async (id) => (await op.get(`/admin/instances/${id}`)).html)))];
    for (const html of pages) {
      for (const name of names.slice(0, 3)) {
        if (/[<>"]/.test(name)) expect(html, `raw ${name} on an admin page`).not.toContain(name);
      }
      expect(html).not.toMatch(/<script>alert|<img src=x/);
    }
    expect(pages[0]).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });
});
