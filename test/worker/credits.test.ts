import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createInstance } from "../../durable-objects/pool-coordinator/create-instance";
import { InstanceCreditSchema } from "../../runtime-container/contract/pool-runtime";
import { app } from "../../worker/app";
import { open } from "../../worker/crypto/sealed";
import type { InstanceRow } from "../../worker/db/schema";
import { FAKE_CREDENTIALS as C } from "../support/fakes/credentials";
import { decideTopUp, fleetTotals, markOutlived, topUpCeilingUsd } from "../../worker/domain/credits";
import { POOL_KEY, providerControl, providerState, setProviderFaults } from "./helpers";
import { providerContext, providerEnv, settings } from "./providers/support";

/**
 * Credits against the OpenRouter fake: an instance's spend and limit, the fleet total, the
 * operator's top-up within the ceiling (OPENROUTER_TOPUP_CEILING_USD = 50 in wrangler.toml,
 * keys start at 20), and the instance's own calls with its gateway token.
 */
type Init = { method?: string; json?: unknown; auth?: string | null };
async function call(path: string, init: Init = {}) {
  const headers: Record<string, string> = {};
  if (init.auth !== null) headers.authorization = `Bearer ${init.auth ?? POOL_KEY}`;
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const res = await app.request(path, { method: init.method ?? "GET", headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) }, providerEnv);
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

async function newInstance(): Promise<{ row: InstanceRow; token: string }> {
  const created = await createInstance(providerContext(), settings(), "test", "test", new Set());
  if (!created.ok) throw new Error(created.error);
  const token = await open(env.POOL_ENCRYPTION_KEY, created.row.gatewayTokenSealed!, created.row.id);
  return { row: created.row, token };
}

const keyOf = async (row: InstanceRow) => (await providerState()).openrouter.keys.find((k: { hash: string }) => k.hash === row.openrouterKeyHash);
const events = async (id: string) => (await call(`/api/pool/instances/${id}`)).body.events as { from: string; to: string; reason: string; actor: string }[];
const keyReads = async () => (await providerState()).openrouter.calls.filter((c: { op: string }) => c.op === "GET /api/v1/keys/{hash}").length;

describe("credit decisions", () => {
  it("a top-up raises within the ceiling, names the ceiling when it would pass it, and refuses a lower limit", () => {
    expect(decideTopUp(20, { addUsd: 10 }, 50)).toEqual({ ok: true, fromUsd: 20, toUsd: 30 });
    expect(decideTopUp(20.1, { addUsd: 0.2 }, 50)).toEqual({ ok: true, fromUsd: 20.1, toUsd: 20.3 });
    expect(decideTopUp(20, { limitUsd: 50 }, 50)).toEqual({ ok: true, fromUsd: 20, toUsd: 50 });
    const over = decideTopUp(45, { addUsd: 10 }, 50);
    expect(over).toMatchObject({ ok: false, code: "over_ceiling", field: "addUsd", ceilingUsd: 50 });
    expect(!over.ok && over.message).toContain("ceiling of $50.00");
    expect(decideTopUp(30, { limitUsd: 25 }, 50)).toMatchObject({ ok: false, code: "not_a_raise", field: "limitUsd" });
    expect(decideTopUp(null, { addUsd: 5 }, 50)).toMatchObject({ ok: false, code: "no_limit" });
  });

  it("the ceiling defaults to twice the key limit and a bad value is named", () => {
    expect(topUpCeilingUsd(undefined, 20)).toEqual({ ok: true, usd: 40 });
    expect(topUpCeilingUsd("75", 20)).toEqual({ ok: true, usd: 75 });
    expect(topUpCeilingUsd("lots", 20)).toMatchObject({ ok: false, message: expect.stringContaining("OPENROUTER_TOPUP_CEILING_USD") });
  });

  it("an exhausted mark outlives its month only when credit remains after the reset", () => {
    const dec31 = Date.UTC(2026, 11, 31, 23, 0);
    const jan1 = Date.UTC(2027, 0, 1, 0, 5);
    const left = { usageMonthlyUsd: 0, limitUsd: 20, limitRemainingUsd: 20 };
    expect(markOutlived(dec31, left, jan1)).toBe(true);
    expect(markOutlived(dec31, { ...left, limitRemainingUsd: 0 }, jan1)).toBe(false);
    // Within the month a balance left does not clear it: a request can cost more than what is left.
    expect(markOutlived(Date.UTC(2026, 11, 2), { ...left, limitRemainingUsd: 0.02 }, dec31)).toBe(false);
    expect(markOutlived(null, left, jan1)).toBe(false);
  });

  it("fleet totals add the known figures and count the unknown ones apart", () => {
    const t = fleetTotals([
      { id: "a", exhaustedAt: null, known: true, figures: { usageMonthlyUsd: 1.1, limitUsd: 20, limitRemainingUsd: 18.9 } },
      { id: "b", exhaustedAt: 5, known: true, figures: { usageMonthlyUsd: 2.2, limitUsd: null, limitRemainingUsd: null } },
      { id: "c", exhaustedAt: null, known: false, reason: "down" },
    ]);
    expect(t).toEqual({ instances: 3, known: 2, unknown: 1, exhausted: 1, usageMonthlyUsd: 3.3, limitUsd: 20, unlimited: 1 });
  });
});

describe("an instance's credits in the API", () => {
  it("GET /api/pool/instances/:id/credits shows spend and limit, and unknown (not 500) when OpenRouter fails", async () => {
    const { row } = await newInstance();
    await providerControl("/openrouter/usage", { hash: row.openrouterKeyHash, usd: 4.25 });
    const res = await call(`/api/pool/instances/${row.id}/credits`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: row.id,
      exhaustedAt: null,
      usage: { known: true, usageMonthlyUsd: 4.25, usageTotalUsd: 4.25, limitUsd: 20, limitRemainingUsd: 15.75, limitReset: "monthly", disabled: false },
    });
    expect(JSON.stringify(res.body)).not.toContain(row.openrouterKeyHash!);

    await setProviderFaults("openrouter", [{ op: "GET /api/v1/keys/{hash}", status: 503 }]);
    const down = await call(`/api/pool/instances/${row.id}/credits`);
    expect(down.status).toBe(200);
    expect(down.body.usage).toEqual({ known: false, reason: "OpenRouter usage could not be read right now" });
    expect((await call(`/api/pool/instances/${row.id}/credits`, { auth: null })).status).toBe(401);
    expect((await call("/api/pool/instances/nope-0000/credits")).status).toBe(404);
  });

  it("GET /api/pool/credits totals the fleet, shows a failing key as unknown, and reuses fresh figures", async () => {
    const a = await newInstance();
    const b = await newInstance();
    const c = await newInstance();
    await providerControl("/openrouter/usage", { hash: a.row.openrouterKeyHash, usd: 1.5 });
    await providerControl("/openrouter/usage", { hash: b.row.openrouterKeyHash, usd: 2.25 });
    // OpenRouter down: every line is unknown, the view still answers.
    await setProviderFaults("openrouter", [{ op: "GET /api/v1/keys/{hash}", status: 500 }]);
    const down = await call("/api/pool/credits");
    expect(down.status).toBe(200);
    expect(down.body.totals).toMatchObject({ instances: 3, known: 0, unknown: 3, usageMonthlyUsd: 0 });
    expect(down.body.instances[0].reason).toBe("OpenRouter usage could not be read right now");
    await setProviderFaults("openrouter", []);
    const second = await call("/api/pool/credits");
    expect(second.body.totals).toMatchObject({ instances: 3, known: 3, unknown: 0, limitUsd: 60 });
    expect(second.body.totals.usageMonthlyUsd).toBeCloseTo(3.75, 5);
    // Within the cache window a third view reads nothing more from OpenRouter.
    const before = await keyReads();
    const third = await call("/api/pool/credits");
    expect(third.body.totals).toEqual(second.body.totals);
    expect(await keyReads()).toBe(before);
    expect(third.body.instances.map((e: { id: string }) => e.id).sort()).toEqual([a.row.id, b.row.id, c.row.id].sort());

    // A key OpenRouter no longer knows is unknown on its own line, fresh on the instance's page.
    await fetch(`https://openrouter.ai/api/v1/keys/${c.row.openrouterKeyHash}`, { method: "DELETE", headers: { authorization: `Bearer ${C.OPENROUTER_MANAGEMENT_KEY}` } });
    expect((await call(`/api/pool/instances/${c.row.id}/credits`)).body.usage).toEqual({ known: false, reason: "the key no longer exists at OpenRouter" });
  });
});

describe("top-up", () => {
  it("raises the key's limit at OpenRouter and records it in the instance's history", async () => {
    const { row } = await newInstance();
    const res = await call(`/api/pool/instances/${row.id}/credits/top-up`, { method: "POST", json: { addUsd: 10 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: row.id, fromUsd: 20, toUsd: 30, credits: { exhaustedAt: null, usage: { limitUsd: 30, limitRemainingUsd: 30 } } });
    expect((await keyOf(row)).limit).toBe(30);
    // An absolute limit is idempotent: sent twice, the second is not a raise and changes nothing.
    expect((await call(`/api/pool/instances/${row.id}/credits/top-up`, { method: "POST", json: { limitUsd: 40 } })).status).toBe(200);
    const again = await call(`/api/pool/instances/${row.id}/credits/top-up`, { method: "POST", json: { limitUsd: 40 } });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe("not_a_raise");
    expect((await keyOf(row)).limit).toBe(40);
    const history = (await events(row.id)).filter((e) => e.reason?.startsWith("credits topped up"));
    expect(history.map((e) => [e.reason, e.actor])).toEqual([
      ["credits topped up: monthly limit $20.00 → $30.00", "operator"],
      ["credits topped up: monthly limit $30.00 → $40.00", "operator"],
    ]);
    expect(history[0]!.from).toBe(history[0]!.to);
  });

  it("a raise beyond the ceiling is a 400 naming the ceiling, and the limit stays", async () => {
    const { row } = await newInstance();
    const res = await call(`/api/pool/instances/${row.id}/credits/top-up`, { method: "POST", json: { limitUsd: 60 } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "over_ceiling", details: [{ path: "limitUsd" }] });
    expect(res.body.error.message).toContain("$50.00");
    expect(res.body.error.message).toContain("OPENROUTER_TOPUP_CEILING_USD");
    expect((await keyOf(row)).limit).toBe(20);
    expect((await events(row.id)).some((e) => e.reason?.startsWith("credits"))).toBe(false);
  });

  it("bad bodies, missing auth and an instance token are refused before anything changes", async () => {
    const { row, token } = await newInstance();
    const path = `/api/pool/instances/${row.id}/credits/top-up`;
    const both = await call(path, { method: "POST", json: { addUsd: 5, limitUsd: 30 } });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toContain("exactly one of limitUsd");
    expect((await call(path, { method: "POST", json: { addUsd: -5 } })).status).toBe(400);
    expect((await call(path, { method: "POST", json: { addUsd: "5" } })).body.error.code).toBe("invalid_body");
    expect((await call(path, { method: "POST", json: { addUsd: 5 }, auth: null })).status).toBe(401);
    expect((await call(path, { method: "POST", json: { addUsd: 5 }, auth: token })).status).toBe(401);
    expect((await keyOf(row)).limit).toBe(20);
  });

  it("an instance without a key has nothing to top up or read: 409 naming why", async () => {
    const { row, token } = await newInstance();
    await env.DB.prepare("UPDATE instances SET openrouter_key_hash = NULL WHERE id = ?").bind(row.id).run();
    const topUp = await call(`/api/pool/instances/${row.id}/credits/top-up`, { method: "POST", json: { addUsd: 5 } });
    expect(topUp.status).toBe(409);
    expect(topUp.body.error).toMatchObject({ code: "no_key", message: expect.stringContaining("no OpenRouter key") });
    expect((await call(`/api/pool/instances/${row.id}/credits`)).body).toEqual({ id: row.id, exhaustedAt: null, usage: null });
    expect((await call(`/api/pool/instances/${row.id}/credits/remaining`, { auth: token })).body.error.code).toBe("no_key");
  });

  it("an OpenRouter failure during the top-up is a 502 and nothing is recorded", async () => {
    const { row } = await newInstance();
    // An OpenRouter that echoes our management key in its error: it reaches no answer.
    await setProviderFaults("openrouter", [{ op: "PATCH /api/v1/keys/{hash}", status: 500, body: { error: { code: 500, message: `bad key ${C.OPENROUTER_MANAGEMENT_KEY}` } } }]);
    const res = await call(`/api/pool/instances/${row.id}/credits/top-up`, { method: "POST", json: { addUsd: 5 } });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("openrouter_unavailable");
    expect(JSON.stringify(res.body)).not.toContain(C.OPENROUTER_MANAGEMENT_KEY);
    expect(JSON.stringify(res.body)).not.toContain(row.openrouterKeyHash!);
    expect((await keyOf(row)).limit).toBe(20);
    expect((await events(row.id)).some((e) => e.reason?.startsWith("credits"))).toBe(false);
  });
});

describe("the instance's own credit calls (its gateway token)", () => {
  it("GET …/credits/remaining answers the contract's shape to the instance only", async () => {
    const { row, token } = await newInstance();
    const other = await newInstance();
    await providerControl("/openrouter/usage", { hash: row.openrouterKeyHash, usd: 12 });
    const res = await call(`/api/pool/instances/${row.id}/credits/remaining`, { auth: token });
    expect(res.status).toBe(200);
    expect(InstanceCreditSchema.parse(res.body)).toEqual({ limitUsd: 20, usageMonthlyUsd: 12, remainingUsd: 8, limitReset: "monthly", exhausted: false });
    // Another instance's token, the pool key, or none: the same 401.
    for (const auth of [other.token, POOL_KEY, null]) expect((await call(`/api/pool/instances/${row.id}/credits/remaining`, { auth })).status).toBe(401);

    await providerControl("/openrouter/usage", { hash: row.openrouterKeyHash, usd: 20 });
    expect((await call(`/api/pool/instances/${row.id}/credits/remaining`, { auth: token })).body).toMatchObject({ remainingUsd: 0, exhausted: true });
  });

  it("an exhaustion report marks the instance once; the view, the dashboard count and /metrics show it; a top-up clears it", async () => {
    const { row, token } = await newInstance();
    const path = `/api/pool/instances/${row.id}/credits/exhausted`;
    expect((await call(path, { method: "POST", json: { status: 402 }, auth: POOL_KEY })).status).toBe(401);
    expect((await call(path, { method: "POST", json: { status: "402" }, auth: token })).status).toBe(400);

    const first = await call(path, { method: "POST", json: { status: 402, detail: "Insufficient credits" }, auth: token });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: row.id, newlyMarked: true });
    const repeat = await call(path, { method: "POST", json: { status: 402 }, auth: token });
    expect(repeat.body).toEqual({ id: row.id, exhaustedAt: first.body.exhaustedAt, newlyMarked: false });

    const view = await call(`/api/pool/instances/${row.id}`);
    expect(view.body.creditsExhaustedAt).toBe(first.body.exhaustedAt);
    expect(view.body.events.filter((e: { reason: string }) => e.reason?.startsWith("credits exhausted")).map((e: { reason: string; actor: string }) => [e.reason, e.actor])).toEqual([
      ["credits exhausted: the model API answered 402 (Insufficient credits)", "instance"],
    ]);
    expect((await call("/api/pool/credits")).body.totals.exhausted).toBe(1);
    expect((await call("/metrics")).body).toContain("pool_instances_credits_exhausted 1");

    expect((await call(`/api/pool/instances/${row.id}/credits/top-up`, { method: "POST", json: { addUsd: 5 } })).status).toBe(200);
    expect((await call(`/api/pool/instances/${row.id}`)).body.creditsExhaustedAt).toBeNull();
    expect((await call("/metrics")).body).toContain("pool_instances_credits_exhausted 0");
    // Exhausted again after the top-up: a new period, a new mark.
    expect((await call(path, { method: "POST", json: { status: 403, detail: "Key limit exceeded" }, auth: token })).body.newlyMarked).toBe(true);
  });
});

describe("credits on the dashboard", () => {
  const ORIGIN = "https://pool.test";
  async function page(path: string, init: { cookie: string; form?: Record<string, string> }) {
    const headers: Record<string, string> = { cookie: init.cookie };
    if (init.form) Object.assign(headers, { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN });
    const res = await app.request(
      `${ORIGIN}${path}`,
      { method: init.form ? "POST" : "GET", headers, body: init.form ? new URLSearchParams(init.form).toString() : undefined, redirect: "manual" },
      providerEnv,
    );
    return { status: res.status, html: await res.text(), res };
  }
  async function operator() {
    const res = await app.request(
      `${ORIGIN}/admin/login`,
      { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN }, body: new URLSearchParams({ key: POOL_KEY }).toString() },
      providerEnv,
    );
    const cookie = res.headers
      .getSetCookie()
      .find((c) => c.startsWith("__Host-pool_admin="))!
      .split(";")[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec((await page("/admin", { cookie })).html)![1]!;
    // The flash of a redirect travels in its own cookie, as a browser would carry it.
    const follow = async (r: Response) => {
      const flash = r.headers
        .getSetCookie()
        .find((c) => c.startsWith("__Host-pool_admin_flash="))
        ?.split(";")[0];
      return (await page(r.headers.get("location")!, { cookie: flash ? `${cookie}; ${flash}` : cookie })).html;
    };
    return { cookie, csrf, follow };
  }

  it("the overview shows the fleet's spend and the exhausted badge; the instance page tops up within the ceiling", async () => {
    const { row, token } = await newInstance();
    await providerControl("/openrouter/usage", { hash: row.openrouterKeyHash, usd: 7.5 });
    await call(`/api/pool/instances/${row.id}/credits/exhausted`, { method: "POST", json: { status: 402 }, auth: token });
    const op = await operator();
    const overview = (await page("/admin", { cookie: op.cookie })).html;
    expect(overview).toMatch(/data-testid="fleet-spend">\$7\.50 of \$20\.00/u);
    expect(overview).toMatch(/data-testid="fleet-exhausted">1</u);
    expect(overview).toMatch(new RegExp(`<tr data-instance="${row.id}"[^>]*>[\\s\\S]*?data-credits-exhausted[\\s\\S]*?</tr>`, "u"));
    expect((await page(`/admin/instances/${row.id}`, { cookie: op.cookie })).html).toContain('data-testid="credits-exhausted"');

    const over = await page(`/admin/instances/${row.id}/top-up`, { cookie: op.cookie, form: { _csrf: op.csrf, addUsd: "45" } });
    expect(over.status).toBe(303);
    expect(await op.follow(over.res)).toContain("ceiling of $50.00");
    expect((await keyOf(row)).limit).toBe(20);

    const ok = await page(`/admin/instances/${row.id}/top-up`, { cookie: op.cookie, form: { _csrf: op.csrf, addUsd: "10" } });
    const after = await op.follow(ok.res);
    expect(after).toContain("monthly limit $20.00 → $30.00");
    expect(after).not.toContain('data-testid="credits-exhausted"');
    expect((await keyOf(row)).limit).toBe(30);
    // Without the form's token nothing changes.
    const forged = await page(`/admin/instances/${row.id}/top-up`, { cookie: op.cookie, form: { addUsd: "5" } });
    expect(forged.status).toBe(403);
    expect((await keyOf(row)).limit).toBe(30);
  });
  it("a slow OpenRouter does not hold the overview: lines not read in time are unknown, the next view has them", async () => {
    // Logged in before the instances exist, so nothing of their keys is cached yet.
    const op = await operator();
    await newInstance();
    await newInstance();
    // Slower than the page's 2 s budget, well within the client's 5 s timeout: a page that
    // waited would show the figures, not unknowns.
    await setProviderFaults("openrouter", [{ op: "GET /api/v1/keys/{hash}", delayMs: 3_500 }]);
    const slow = await page("/admin", { cookie: op.cookie });
    expect(slow.status).toBe(200);
    expect(slow.html).toMatch(/data-testid="fleet-unknown"> · 2 unknown/u);
    await setProviderFaults("openrouter", []);
    const next = (await page("/admin", { cookie: op.cookie })).html;
    expect(next).not.toContain('data-testid="fleet-unknown"');
    expect(next).toMatch(/data-testid="fleet-spend">\$0\.00 of \$40\.00/u);
  }, 30_000);
});

describe("an exhausted mark after OpenRouter's monthly reset", () => {
  it("is cleared on the next read once a new month has credit, with a line in the history; an empty key stays marked", async () => {
    const fresh = await newInstance();
    const empty = await newInstance();
    const lastMonth = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1) - 86_400_000;
    for (const { token, row } of [fresh, empty]) await call(`/api/pool/instances/${row.id}/credits/exhausted`, { method: "POST", json: { status: 402 }, auth: token });
    await env.DB.prepare("UPDATE instances SET credits_exhausted_at = ?").bind(lastMonth).run();
    await providerControl("/openrouter/usage", { hash: empty.row.openrouterKeyHash, usd: 20 });

    const fleet = await call("/api/pool/credits");
    expect(fleet.body.totals.exhausted).toBe(1);
    expect((await call(`/api/pool/instances/${fresh.row.id}/credits`)).body.exhaustedAt).toBeNull();
    expect((await call(`/api/pool/instances/${empty.row.id}/credits`)).body.exhaustedAt).toBe(lastMonth);
    expect((await events(fresh.row.id)).filter((e) => e.reason === "credits available again: the monthly limit reset").map((e) => e.actor)).toEqual(["pool"]);
    expect((await call("/metrics")).body).toContain("pool_instances_credits_exhausted 1");
  });
});
