import { asc } from "drizzle-orm";
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { ClaimRequestSchema, CountRequestSchema, InstanceIdSchema, InstanceStatusSchema } from "../api/schemas";
import { claimAgent, coordinator, settled } from "../coordinator";
import { claimFailureHttp } from "../domain/claim-outcomes";
import { secretsEqual } from "../crypto/compare";
import { database } from "../db/client";
import { countByStatus, getEvents, getInstance, lastEvents, listByStatus } from "../db/instances";
import { templates } from "../db/schema";
import { PoolSettingsSchema } from "../domain/settings";
import { clearRateLimit, clientAddress, hitRateLimit } from "../http/rate-limit";
import { instanceView } from "../instances/view";
import { log } from "../lib/log";
import { openRouterFromEnv } from "../providers/openrouter";
import { qrSvg } from "../ui/qr";
import { ADMIN_CSS, ADMIN_JS } from "./assets";
import { type AdminContext, type AdminEnv, messagePage, pageContext, readForm, redirectWithFlash, takeFlash } from "./kit";
import type { Flash } from "./layout";
import { type FormState, providerLinks } from "./pages/common";
import { InstancePage, recheckFlash } from "./pages/instance";
import { fleetCredits, topUp } from "../instances/credits";
import { creditFailureStatus } from "../domain/credits";
import { LoginPage } from "./pages/login";
import { ConfirmPage, MessagePage } from "./pages/message";
import { type OverviewData, OverviewPage } from "./pages/overview";
import { SETTINGS_FIELDS, SettingsPage } from "./pages/settings";
import { rolloutAdminRoutes } from "./rollouts";
import { templateAdminRoutes } from "./templates";
import { csrfToken, csrfTokenValid, decodeSession, encodeSession, keyId, newSession, SESSION_COOKIE, SESSION_TTL_MS, sessionStanding } from "./session";
import { recordedRevocation, revokeAllSessions, revokeSession } from "./session-store";

/** Failed logins allowed per client address per window, before even a right key is refused. */
const LOGIN_LIMIT = 5;
const LOGIN_WINDOW_MS = 60_000;

/**
 * The operator dashboard at /admin: server-rendered pages, every action a plain form post.
 * Other sections (e.g. templates) mount here, before the catch-all: see kit.tsx.
 */
export const adminRoutes = new Hono<AdminEnv>();

adminRoutes.use(
  "*",
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: [NONCE],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    xFrameOptions: "DENY",
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form posts,
    // leaving the CSRF check to Sec-Fetch-Site alone. No URL of ours reaches another origin either way.
    referrerPolicy: "same-origin",
  }),
);

adminRoutes.get("/assets/admin.css", (c) => c.body(ADMIN_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=300" }));
adminRoutes.get("/assets/admin.js", (c) => c.body(ADMIN_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=300" }));

// Pages carry invite URLs and CSRF tokens: no cache may keep them.
adminRoutes.use("*", async (c, next) => {
  await next();
  if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
});

adminRoutes.use("*", async (c, next) => {
  const decoded = await decodeSession(c.env.SESSION_SECRET, getCookie(c, SESSION_COOKIE));
  // A signed, unexpired cookie is not enough: it may have been logged out, or opened with a pool key that has since changed.
  const standing = decoded ? sessionStanding(decoded, { currentKeyId: await keyId(c.env.SESSION_SECRET, c.env.POOL_API_KEY), ...(await recordedRevocation(c.env.DB, decoded)) }) : null;
  const session = standing === "ok" ? decoded : null;
  c.set("session", session);
  c.set("csrf", session ? await csrfToken(c.env.SESSION_SECRET, session) : null);
  await next();
});

const originCheck = csrf();

/**
 * Every post passes hono/csrf (Origin / Sec-Fetch-Site must be this site); every post of a
 * logged-in operator must also carry the session's own token, so a forged form fails even
 * from a same-site page.
 */
adminRoutes.use("*", async (c, next) => {
  if (c.req.method !== "POST") return next();
  try {
    await originCheck(c, async () => {});
  } catch (err) {
    if (err instanceof HTTPException) return csrfRejected(c, "the form was posted from another site");
    throw err;
  }
  const form = await readForm(c);
  c.set("form", form);
  const session = c.get("session");
  if (session && c.req.path !== "/admin/login") {
    if (!form._csrf || !(await csrfTokenValid(c.env.SESSION_SECRET, session, form._csrf))) return csrfRejected(c, "the form's security token is missing or belongs to another session");
  }
  await next();
});

// --- login ---------------------------------------------------------------------------------

adminRoutes.get("/login", async (c) => {
  if (c.get("session")) return c.redirect(safeNext(c.req.query("next")) ?? "/admin", 303);
  return c.html(<LoginPage ctx={pageContext(c)} next={safeNext(c.req.query("next"))} notice={c.req.query("loggedOut") === "1" ? "You are logged out." : undefined} />);
});

adminRoutes.post("/login", async (c) => {
  const key = c.get("form").key ?? "";
  const limiterKey = `admin-login:${clientAddress(c.req.raw.headers)}`;
  // Counted before the key is checked, and cleared by a success: a client with 5 failures
  // in the window is refused even the right key until the window ends.
  const limit = await hitRateLimit(c.env.DB, limiterKey, LOGIN_LIMIT, LOGIN_WINDOW_MS);
  if (!limit.allowed) {
    c.header("retry-after", String(limit.retryAfterSeconds));
    log.warn("admin login rate-limited", { client: clientAddress(c.req.raw.headers) });
    return c.html(<LoginPage ctx={pageContext(c)} next={safeNext(c.get("form").next)} error={`Too many failed attempts from your address. Try again in ${limit.retryAfterSeconds} seconds.`} />, 429);
  }
  if (!key || !(await secretsEqual(key, c.env.POOL_API_KEY))) {
    const left = limit.remaining;
    return c.html(
      <LoginPage
        ctx={pageContext(c)}
        next={safeNext(c.get("form").next)}
        error={key ? `Wrong pool key. ${left === 0 ? "No attempts" : left === 1 ? "1 attempt" : `${left} attempts`} left this minute.` : "Enter the pool key."}
      />,
      key ? 401 : 400,
    );
  }
  await clearRateLimit(c.env.DB, limiterKey);
  const session = newSession(await keyId(c.env.SESSION_SECRET, c.env.POOL_API_KEY));
  setCookie(c, SESSION_COOKIE, await encodeSession(c.env.SESSION_SECRET, session), {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  });
  return c.redirect(safeNext(c.get("form").next) ?? "/admin", 303);
});

// The cookie is ended server-side too: a copy of it (another tab, a stolen one) stops working now, not in 8 h.
adminRoutes.post("/logout", async (c) => {
  const session = c.get("session");
  if (session) await revokeSession(c.env.DB, session);
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, httpOnly: true, sameSite: "Strict" });
  return c.redirect("/admin/login?loggedOut=1", 303);
});

/** Every session, on every browser, this one included (after a leaked cookie, or a departed operator). */
adminRoutes.post("/logout-everywhere", async (c) => {
  if (!c.get("session")) return c.redirect("/admin/login", 303);
  await revokeAllSessions(c.env.DB);
  log.warn("admin: every session logged out", { client: clientAddress(c.req.raw.headers) });
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, httpOnly: true, sameSite: "Strict" });
  return c.redirect("/admin/login?loggedOut=1", 303);
});

// Everything below needs a session.
adminRoutes.use("*", async (c, next) => {
  if (c.get("session")) return next();
  if (c.req.method === "GET" || c.req.method === "HEAD") {
    const url = new URL(c.req.url);
    const next = safeNext(url.pathname + url.search);
    return c.redirect(next && next !== "/admin" ? `/admin/login?next=${encodeURIComponent(next)}` : "/admin/login", 303);
  }
  return c.html(
    <MessagePage ctx={pageContext(c)} title="Please log in again" back={{ href: "/admin/login", label: "Log in" }}>
      <p>Your session has expired or you are not logged in, so nothing was changed.</p>
    </MessagePage>,
    401,
  );
});

// --- overview and its actions --------------------------------------------------------------

adminRoutes.get("/", async (c) => {
  const raw = c.req.query("status");
  let filter: OverviewData["filter"] = null;
  if (raw !== undefined && raw !== "") {
    const parsed = InstanceStatusSchema.safeParse(raw === "ready" ? "idle" : raw);
    if (!parsed.success) return messagePage(c, 400, "Unknown status filter", `"${raw}" is not an instance status.`);
    filter = parsed.data;
  }
  return renderOverview(c, { filter }, 200, await takeFlash(c));
});

adminRoutes.get("/instances", (c) => c.redirect("/admin", 303));

adminRoutes.post("/launch", async (c) => {
  const form = c.get("form");
  const values = pick(form, ["agentName", "instructions", "template"]);
  return claimFromForm(c, "launch", values, form.idempotencyKey);
});

adminRoutes.post("/join", async (c) => {
  const form = c.get("form");
  const values = pick(form, ["joinUrl", "agentName", "instructions"]);
  if (!values.joinUrl) return renderOverview(c, { join: { values, errors: { joinUrl: "Enter the Convos invite URL to join." } } }, 400);
  return claimFromForm(c, "join", values, form.idempotencyKey);
});

adminRoutes.post("/replenish", async (c) => {
  const count = parseCount(c.get("form").count);
  if (!count.ok) return renderOverview(c, { actionErrors: { replenish: `Replenish: ${count.message}` } }, 400);
  const out = await coordinator(c.env).replenish(count.value);
  const limited = out.limitedBy === "maxTotal" ? " (limited by maxTotal)" : out.limitedBy === "breaker" ? " (the breaker is open)" : "";
  const failed = out.failed > 0 ? `; ${out.failed} failed` : "";
  return redirectWithFlash(c, "/admin", {
    kind: out.failed > 0 && out.created.length === 0 ? "error" : "ok",
    text: `Replenish: asked for ${out.requested}, created ${out.created.length}${failed}${limited}.`,
  });
});

adminRoutes.post("/drain", async (c) => {
  const count = parseCount(c.get("form").count);
  if (!count.ok) return renderOverview(c, { actionErrors: { drain: `Drain: ${count.message}` } }, 400);
  const out = await coordinator(c.env).drain(count.value);
  return redirectWithFlash(c, "/admin", {
    kind: "ok",
    text:
      out.drained.length === 0
        ? `Drain: nothing to drain (only ready, starting and creating instances are drained).`
        : `Drain: removing ${out.drained.length} of ${out.requested} requested (${out.drained.join(", ")}).`,
  });
});

adminRoutes.post("/reconcile", async (c) => {
  const t = await coordinator(c.env).reconcile();
  return redirectWithFlash(c, "/admin", {
    kind: t.listError ? "error" : "ok",
    text: `Reconciled in ${t.durationMs} ms: readied ${t.readied}, created ${t.created}, failed ${t.failed + t.createFailures}, crashed ${t.crashed}, torn down ${t.tornDown}${t.listError ? `; provider list failed: ${t.listError}` : ""}.`,
  });
});

// --- instances -----------------------------------------------------------------------------

adminRoutes.get("/instances/:id", async (c) => {
  const id = instanceId(c);
  if (!id) return messagePage(c, 400, "Not an instance id", "Instance ids are lowercase letters, digits and dashes.");
  await settled(c.env);
  const db = database(c.env.DB);
  const row = await getInstance(db, id);
  if (!row) return messagePage(c, 404, "No such instance", `Instance ${id} does not exist.`);
  const view = instanceView(row);
  const events = await getEvents(db, id);
  const invite = view.inviteUrl ?? row.joinUrl;
  return c.html(
    <InstancePage
      ctx={pageContext(c)}
      flash={await takeFlash(c)}
      data={{
        now: Date.now(),
        view,
        joinUrl: row.joinUrl,
        events: events.map((e) => ({ at: e.at, from: e.fromStatus, to: e.toStatus, reason: e.reason, actor: e.actor })),
        links: providerLinks(view, c.env),
        qr: invite ? qrSvg(invite) : null,
        openrouter: await openRouterSummary(c.env, row.openrouterKeyHash),
      }}
    />,
  );
});

adminRoutes.get("/instances/:id/qr.svg", async (c) => {
  const id = instanceId(c);
  const row = id ? await getInstance(database(c.env.DB), id) : null;
  const invite = row?.inviteUrl ?? row?.joinUrl;
  if (!invite) return c.text("no invite for this instance", 404);
  return c.body(qrSvg(invite), 200, { "content-type": "image/svg+xml" });
});

for (const action of ["kill", "dismiss"] as const) {
  adminRoutes.post(`/instances/:id/${action}`, async (c) => {
    const id = instanceId(c);
    if (!id) return messagePage(c, 400, "Not an instance id", "Instance ids are lowercase letters, digits and dashes.");
    const row = await getInstance(database(c.env.DB), id);
    if (!row || row.status === "deleted") return messagePage(c, 404, "No such instance", `Instance ${id} does not exist.`);
    if (c.get("form").confirmed !== "yes") return c.html(<ConfirmPage ctx={pageContext(c)} view={instanceView(row)} action={action} />);
    const stub = coordinator(c.env);
    const out = action === "kill" ? await stub.kill(id) : await stub.dismiss(id);
    if (!out.ok) return messagePage(c, out.code === "not_found" ? 404 : 409, action === "kill" ? "Could not kill" : "Could not dismiss", out.message);
    const name = row.agentName ? `${row.agentName} (${id})` : id;
    return redirectWithFlash(c, "/admin", { kind: "ok", text: `${action === "kill" ? "Killed" : "Dismissed"} ${name}: it is being deleted.` });
  });
}

// The tick's checks for this instance now (issue 15 §4); what they found comes back as the page's message.
adminRoutes.post("/instances/:id/recheck", async (c) => {
  const id = instanceId(c);
  if (!id) return messagePage(c, 400, "Not an instance id", "Instance ids are lowercase letters, digits and dashes.");
  const out = await coordinator(c.env).recheck(id);
  if (!out.ok) return messagePage(c, 404, "No such instance", out.message);
  return redirectWithFlash(c, `/admin/instances/${id}`, recheckFlash(out.report));
});

adminRoutes.post("/instances/:id/top-up", async (c) => {
  const id = instanceId(c);
  if (!id) return messagePage(c, 400, "Not an instance id", "Instance ids are lowercase letters, digits and dashes.");
  const row = await getInstance(database(c.env.DB), id);
  if (!row || row.status === "deleted") return messagePage(c, 404, "No such instance", `Instance ${id} does not exist.`);
  const raw = (c.get("form").addUsd ?? "").trim();
  const amount = Number(raw);
  const back = `/admin/instances/${id}`;
  if (!/^\d+(\.\d{1,2})?$/.test(raw) || !(amount > 0)) return redirectWithFlash(c, back, { kind: "error", text: `Top-up: "${raw}" is not an amount of dollars (like 10 or 2.50).` });
  const out = await topUp(c.env, row, { addUsd: amount }, "operator");
  if (!out.ok) {
    log.info("admin top-up refused", { instanceId: id, code: out.code, status: creditFailureStatus(out.code) });
    return redirectWithFlash(c, back, { kind: "error", text: `Top-up refused: ${out.message}.` });
  }
  return redirectWithFlash(c, back, { kind: "ok", text: `Topped up: monthly limit $${out.fromUsd.toFixed(2)} → $${out.toUsd.toFixed(2)}.` });
});

// --- settings ------------------------------------------------------------------------------

adminRoutes.get("/settings", async (c) => {
  const settings = await coordinator(c.env).getSettings();
  return c.html(<SettingsPage ctx={pageContext(c)} settings={settings} flash={await takeFlash(c)} />);
});

adminRoutes.post("/settings", async (c) => {
  const form = c.get("form");
  const stub = coordinator(c.env);
  const current = await stub.getSettings();
  const values: Record<string, string> = {};
  const errors: Record<string, string> = {};
  const patch: Record<string, number> = {};
  for (const f of SETTINGS_FIELDS) {
    const raw = (form[f.key] ?? "").trim();
    values[f.key] = raw;
    if (raw === "") {
      errors[f.key] = "Required.";
      continue;
    }
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) {
      errors[f.key] = "Must be a whole number.";
      continue;
    }
    const field = PoolSettingsSchema.shape[f.key].safeParse(n);
    if (!field.success) errors[f.key] = describe(field.error);
    else patch[f.key] = n;
  }
  if (Object.keys(errors).length > 0) {
    return c.html(<SettingsPage ctx={pageContext(c)} settings={current} form={{ values, errors, error: "Nothing was saved: fix the fields marked below." }} />, 400);
  }
  const out = await stub.putSettings(patch);
  if (!out.ok) {
    return c.html(<SettingsPage ctx={pageContext(c)} settings={current} form={{ values, errors: { [out.field]: out.message }, error: "Nothing was saved: fix the fields marked below." }} />, 400);
  }
  return redirectWithFlash(c, "/admin/settings", { kind: "ok", text: "Settings saved." });
});

adminRoutes.route("/templates", templateAdminRoutes);
adminRoutes.route("/rollouts", rolloutAdminRoutes);

adminRoutes.all("*", (c) => (c.req.path === "/admin/" ? c.redirect("/admin", 303) : null) ?? messagePage(c, 404, "Page not found", `There is no admin page at ${c.req.path}.`));

adminRoutes.onError((err, c) => {
  log.error("admin error", { path: c.req.path, error: err.message });
  return c.html(
    <MessagePage ctx={pageContext(c as AdminContext)} title="Something went wrong">
      <p>The request failed on our side and may not have been applied. Reload the overview to see the current state.</p>
    </MessagePage>,
    500,
  );
});

// --- helpers -------------------------------------------------------------------------------

/** Where to land after logging in: only a path of this dashboard, so the login cannot be an open redirect. */
function safeNext(raw: string | undefined): string | undefined {
  if (!raw || raw.length > 512) return undefined;
  return /^\/admin(?:[/?][A-Za-z0-9\-._~/?=&%]*)?$/.test(raw) && !raw.includes("//") && !raw.startsWith("/admin/login") ? raw : undefined;
}

/** The instance's OpenRouter spend, read live; a slow or failing OpenRouter must not break the page. */
async function openRouterSummary(env: Env, keyHash: string | null): Promise<string> {
  if (!keyHash) return "no key";
  const client = openRouterFromEnv(env, { timeoutMs: 3_000, retries: 0 });
  if (!client) return "key recorded; usage not known (OpenRouter is not configured)";
  try {
    const usage = await client.usage(keyHash);
    if (!usage) return "key recorded; OpenRouter no longer knows it";
    const limit = usage.limit === null ? "no limit" : `limit $${usage.limit.toFixed(2)}${usage.limitReset ? ` per ${usage.limitReset.replace(/ly$/, "")}` : ""}`;
    return `$${usage.usageMonthly.toFixed(2)} this month, $${usage.usageTotal.toFixed(2)} in total (${limit})${usage.disabled ? " · disabled" : ""}`;
  } catch (err) {
    log.warn("openrouter usage unavailable", { error: (err as Error).message });
    return "key recorded; usage unavailable right now";
  }
}

function csrfRejected(c: AdminContext, why: string) {
  return c.html(
    <MessagePage ctx={pageContext(c)} title="Form rejected">
      <p>Nothing was changed: {why}. Reload the page and submit the form again.</p>
    </MessagePage>,
    403,
  );
}

function instanceId(c: AdminContext): string | null {
  const parsed = InstanceIdSchema.safeParse(c.req.param("id"));
  return parsed.success ? parsed.data : null;
}

function pick(form: Record<string, string>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (form[k] !== undefined) out[k] = form[k];
  return out;
}

function parseCount(raw: string | undefined): { ok: true; value: number } | { ok: false; message: string } {
  const n = Number((raw ?? "").trim() || "1");
  const parsed = CountRequestSchema.safeParse({ count: n });
  if (!parsed.success || !/^\d*$/.test((raw ?? "").trim())) return { ok: false, message: "enter a whole number from 1 to 20." };
  return { ok: true, value: parsed.data.count };
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "Invalid value.";
  if (issue.code === "too_small") return `Must be at least ${String(issue.minimum)}.`;
  if (issue.code === "too_big") return `Must be at most ${String(issue.maximum)}.`;
  return issue.message;
}

/** Launch and join share one path: validate like the API, claim as "admin", show the invite. */
async function claimFromForm(c: AdminContext, which: "launch" | "join", values: Record<string, string>, idempotencyKey: string | undefined) {
  const request: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (v.trim() !== "") request[k] = v;
  const parsed = ClaimRequestSchema.safeParse(request);
  if (!parsed.success) {
    const errors: Record<string, string> = {};
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? "form");
      errors[field] ??= issue.code === "too_big" ? `At most ${String(issue.maximum)} characters.` : issue.message;
    }
    return renderOverview(c, { [which]: { values, errors } }, 400);
  }
  const key = idempotencyKey && /^[A-Za-z0-9-]{8,64}$/.test(idempotencyKey) ? `admin-${idempotencyKey}` : undefined;
  const outcome = await claimAgent(c.env, { request: parsed.data, idempotencyKey: key, actor: "admin" });
  if (outcome.ok) {
    const what = which === "join" ? (outcome.claim.status === "pending_acceptance" ? "is waiting to be accepted into" : "joined") : "created";
    const text = which === "join" ? `${outcome.claim.agentName} ${what} the conversation.` : `${outcome.claim.agentName} created a conversation: share the invite below.`;
    return redirectWithFlash(c, `/admin/instances/${outcome.claim.instanceId}`, { kind: "ok", text });
  }
  const { status, field } = claimFailureHttp(outcome);
  // A field's problem is shown next to the field; anything else above the form.
  const state: FormState = field ? { values, errors: { [field]: outcome.message } } : { values, errors: {}, error: outcome.message };
  return renderOverview(c, { [which]: state }, status);
}

/** How long the overview waits for OpenRouter before showing the lines it could not read yet as unknown. */
const FLEET_PAGE_BUDGET_MS = 2_000;

/** The request's waitUntil; none when the app runs without an execution context (app.request in tests). */
function backgroundWork(c: AdminContext): ((work: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (work) => ctx.waitUntil(work);
  } catch {
    return undefined;
  }
}

async function renderOverview(c: AdminContext, extra: Partial<OverviewData>, status: ContentfulStatusCode, flash: Flash | null = null) {
  const db = database(c.env.DB);
  const stub = coordinator(c.env);
  await stub.settle();
  const filter = extra.filter ?? null;
  const [counts, st, settings, rows, tpl, credits] = await Promise.all([
    countByStatus(db),
    stub.status(),
    stub.getSettings(),
    listByStatus(db, filter ?? undefined, 200),
    db.select({ slug: templates.slug, name: templates.name }).from(templates).orderBy(asc(templates.name)),
    // Spend is shown only where the pool manages keys; failures inside are per-instance "unknown".
    c.env.OPENROUTER_MANAGEMENT_KEY ? fleetCredits(c.env, db, { budgetMs: FLEET_PAGE_BUDGET_MS, waitUntil: backgroundWork(c) }) : null,
  ]);
  const last = await lastEvents(
    db,
    rows.map((r) => r.id),
  );
  const data: OverviewData = {
    now: Date.now(),
    counts,
    filter,
    instances: rows.map((row) => {
      const view = instanceView(row);
      const e = last.get(row.id);
      return {
        view,
        lastEvent: e ? { at: e.at, from: e.fromStatus, to: e.toStatus, reason: e.reason, actor: e.actor } : null,
        links: providerLinks(view, c.env),
      };
    }),
    breaker: st.breaker,
    lastTick: st.lastTick,
    nextTickAt: st.nextTickAt,
    settings,
    templates: tpl,
    idempotencyKey: crypto.randomUUID(),
    credits,
    ...extra,
  };
  return c.html(<OverviewPage ctx={pageContext(c)} data={data} flash={flash} />, status);
}
