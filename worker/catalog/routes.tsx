import { Hono, type Context, type MiddlewareHandler } from "hono";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { SlugSchema, type ClaimRequest } from "../api/schemas";
import { claimAgent } from "../coordinator";
import type { TemplateRow } from "../db/schema";
import { type ClaimResult, claimFailureHttp } from "../domain/claim-outcomes";
import { checkJoinUrl, INVITE_HOSTS, type InviteProblem, poolXmtpEnv } from "../domain/invite-url";
import { clientAddress, hitRateLimit } from "../http/rate-limit";
import { log } from "../lib/log";
import { challengeVerifier } from "./challenge";
import { catalogConfig, type RateRule } from "./config";
import { siteOg, templateOg } from "./og";
import { BusyPage, CatalogPage, categoryKey, JoinedPage, MessagePage, StartedPage, TemplatePage, type ClaimForms, type PageEnv, type RetryForm } from "./pages";
import { asAdvertised, findTemplate, publishedTemplates, reportedCapabilities } from "./store";
import { CATALOG_CSS } from "./style";

/**
 * The public face of the pool: the catalog (`/`), a page per template (`/a/:slug`) with its
 * Open Graph image, and the Start and Join forms. Claims are made here, server-side, by the
 * coordinator: the pool key never reaches a browser and no invite URL is ever cached.
 */
type Vars = { nonce: string };
type C = Context<{ Bindings: Env; Variables: Vars }>;

export const catalogRoutes = new Hono<{ Bindings: Env; Variables: Vars }>();

const cssHash = (async () => {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(CATALOG_CSS));
  return `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
})();

/** Security headers of every catalog page: a CSP that allows our stylesheet by hash and script only by nonce. */
const pageHeaders: MiddlewareHandler<{ Bindings: Env; Variables: Vars }> = async (c, next) => {
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(18))));
  c.set("nonce", nonce);
  const challenge = challengeVerifier(catalogConfig(c.env).challenge, c.env);
  const extra = (list: string[] | undefined) => (list?.length ? ` ${list.join(" ")}` : "");
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'${extra(challenge?.csp.scriptSrc)}`,
    `style-src ${await cssHash}`,
    "img-src 'self' data:",
    `connect-src 'self'${extra(challenge?.csp.connectSrc)}`,
    ...(challenge?.csp.frameSrc.length ? [`frame-src ${challenge.csp.frameSrc.join(" ")}`] : []),
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ];
  c.header("Content-Security-Policy", csp.join("; "));
  c.header("X-Content-Type-Options", "nosniff");
  c.header("X-Frame-Options", "DENY");
  // Not no-referrer: with it, browsers send `Origin: null` on form posts and the CSRF check fails.
  c.header("Referrer-Policy", "strict-origin-when-cross-origin");
  c.header("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
  c.header("Cross-Origin-Opener-Policy", "same-origin");
  if (new URL(c.req.url).protocol === "https:") c.header("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  await next();
};

// Middleware on exact paths: a "*" here would also wrap the JSON API once mounted at "/".
catalogRoutes.use("/", pageHeaders);
catalogRoutes.use("/a/:slug", pageHeaders);
catalogRoutes.use("/a/:slug/*", pageHeaders);
// Form posts must come from our own pages (Origin / Sec-Fetch-Site check).
catalogRoutes.use("/a/:slug/start", csrf());
catalogRoutes.use("/a/:slug/join", csrf());

function pageEnv(c: C): PageEnv {
  const xmtpEnv = poolXmtpEnv(c.env.XMTP_ENV);
  return {
    origin: new URL(c.req.url).origin,
    nonce: c.get("nonce") ?? "",
    environment: c.env.POOL_ENVIRONMENT,
    inviteHost: INVITE_HOSTS[xmtpEnv],
    xmtpEnv,
    challenge: challengeVerifier(catalogConfig(c.env).challenge, c.env),
  };
}

function page(c: C, body: unknown, status: ContentfulStatusCode = 200, headers: Record<string, string> = {}) {
  // Pages that carry form attempts or invite URLs are per-visitor: never cached anywhere.
  return c.html(body as string, status, { "Cache-Control": "no-store", ...headers });
}

catalogRoutes.get("/", async (c) => {
  const fleet = await reportedCapabilities(c.env.DB);
  const all = (await publishedTemplates(c.env.DB)).map((t) => asAdvertised(t, fleet));
  const category = c.req.query("category")?.trim().toLowerCase().slice(0, 64) || null;
  const skill = c.req.query("skill")?.trim().slice(0, 64) || null;
  const shown = all.filter((t) => (category === null || categoryKey(t.category) === category) && (skill === null || t.skills.includes(skill)));
  // The catalog itself holds nothing per-visitor: let browsers and the edge keep it briefly.
  return c.html(<CatalogPage env={pageEnv(c)} all={all} shown={shown} filters={{ category, skill }} />, 200, {
    "Cache-Control": "public, max-age=30",
  });
});

catalogRoutes.get("/og.svg", async (c) => {
  const all = await publishedTemplates(c.env.DB);
  return svg(siteOg(all.length));
});

catalogRoutes.get("/a/:slug", async (c) => {
  const t = await publishedBySlug(c);
  if (!t) return notFound(c);
  return page(c, <TemplatePage env={pageEnv(c)} t={t} forms={{ startAttempt: newAttempt(), joinAttempt: newAttempt() }} />);
});

catalogRoutes.get("/a/:slug/og.svg", async (c) => {
  const t = await publishedBySlug(c);
  if (!t) return c.text("no such agent", 404, { "Cache-Control": "no-store" });
  return svg(templateOg(t));
});

// A bookmarked or reloaded result URL has nothing to show without its form: back to the agent.
catalogRoutes.get("/a/:slug/start", (c) => c.redirect(`/a/${encodeURIComponent(c.req.param("slug"))}`, 303));
catalogRoutes.get("/a/:slug/join", (c) => c.redirect(`/a/${encodeURIComponent(c.req.param("slug"))}`, 303));

catalogRoutes.post("/a/:slug/start", (c) => claimFromForm(c, "start"));
catalogRoutes.post("/a/:slug/join", (c) => claimFromForm(c, "join"));

catalogRoutes.onError((err, c) => {
  const env = pageEnv(c as C);
  if (err instanceof HTTPException && err.status === 403) {
    return page(
      c as C,
      <MessagePage env={env} title="This form has expired" emoji="🔒">
        <p>For your safety we only accept forms sent from this site. Go back to the agent's page and try again.</p>
      </MessagePage>,
      403,
    );
  }
  log.error("catalog page failed", { path: new URL(c.req.url).pathname, error: err.message });
  return page(
    c as C,
    <MessagePage env={env} title="Something went wrong" emoji="🛠️">
      <p>That's on us. Please try again in a moment.</p>
    </MessagePage>,
    500,
  );
});

async function publishedBySlug(c: C): Promise<TemplateRow | null> {
  const parsed = SlugSchema.safeParse(c.req.param("slug"));
  if (!parsed.success) return null;
  const t = await findTemplate(c.env.DB, parsed.data, { publishedOnly: true });
  return t && asAdvertised(t, await reportedCapabilities(c.env.DB));
}

function notFound(c: C) {
  return page(
    c,
    <MessagePage env={pageEnv(c)} title="We couldn't find that agent" emoji="🔎">
      <p>It may have been renamed or retired. Have a look at the others.</p>
    </MessagePage>,
    404,
  );
}

function svg(body: string): Response {
  return new Response(body, {
    headers: {
      "Content-Type": "image/svg+xml; charset=utf-8",
      "Cache-Control": "public, max-age=3600",
      // An SVG opened directly is a document: it gets no script and no outside resources.
      "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

const ATTEMPT = /^[A-Za-z0-9_-]{16,64}$/;

/** One id per rendered form: a resubmitted form (reload, double tap) replays the same claim instead of taking a second agent. */
function newAttempt(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function sha256Short(value: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * IPv6 clients usually own a whole /64: counting per address would let one of them rotate
 * through billions of "clients".
 */
export function clientBucket(address: string): string {
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::") ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

type RateVerdict = { ok: true } | { ok: false; scope: "client" | "global" | "closed"; retryAfterSeconds: number };

async function checkRateLimits(c: C, perClient: RateRule, global: RateRule): Promise<RateVerdict> {
  if (perClient.limit === 0 || global.limit === 0) return { ok: false, scope: "closed", retryAfterSeconds: 3600 };
  // The client first: a client over its limit must not also use up everyone's global budget.
  const mine = await hitRateLimit(c.env.DB, `catalog:client:${clientBucket(clientAddress(c.req.raw.headers))}`, perClient.limit, perClient.windowMs);
  if (!mine.allowed) return { ok: false, scope: "client", retryAfterSeconds: mine.retryAfterSeconds };
  const all = await hitRateLimit(c.env.DB, "catalog:global", global.limit, global.windowMs);
  if (!all.allowed) return { ok: false, scope: "global", retryAfterSeconds: all.retryAfterSeconds };
  if (Math.random() < 0.02) background(c, forgetOldClients(c.env.DB, perClient.windowMs));
  return { ok: true };
}

/** One counter row per visitor address would grow forever; rows of finished windows are dead weight. */
export async function forgetOldClients(d1: D1Database, windowMs: number, now = Date.now()): Promise<number> {
  const res = await d1
    .prepare("DELETE FROM rate_limits WHERE key LIKE 'catalog:client:%' AND window_start < ?")
    .bind(now - windowMs)
    .run();
  return res.meta.changes ?? 0;
}

function background(c: C, work: Promise<unknown>): void {
  const done = work.catch((err) => log.warn("catalog background work failed", { error: (err as Error).message }));
  try {
    c.executionCtx.waitUntil(done);
  } catch {
    // No execution context (called outside a request): the promise still runs to completion.
  }
}

function minutes(seconds: number): string {
  if (seconds < 90) return "a minute";
  return `${Math.ceil(seconds / 60)} minutes`;
}

async function claimFromForm(c: C, kind: "start" | "join"): Promise<Response> {
  const t = await publishedBySlug(c);
  if (!t) return notFound(c);
  const env = pageEnv(c);
  const form = await formFields(c);
  const attempt = ATTEMPT.test(form.attempt ?? "") ? form.attempt! : newAttempt();
  const pasted = kind === "join" ? (form.joinUrl ?? "").trim() : undefined;
  let joinUrl = pasted;
  const freshForms = (): ClaimForms => ({ startAttempt: newAttempt(), joinAttempt: newAttempt() });
  const errorOnForm = (message: string, status: ContentfulStatusCode) =>
    page(c, <TemplatePage env={env} t={t} forms={{ ...freshForms(), ...(kind === "join" ? { joinError: message, joinValue: pasted } : { startError: message }) }} />, status);

  if (kind === "join") {
    if (!pasted) return errorOnForm("Paste the invite link of your conversation first.", 400);
    // Checked before the rate limit: a mistyped link should not cost the visitor a claim.
    const check = checkJoinUrl(pasted, c.env.XMTP_ENV);
    if (!check.ok) return errorOnForm(friendlyJoinError(check.problem, env.inviteHost), 400);
    joinUrl = check.url;
  }

  const config = catalogConfig(c.env);
  const verdict = await checkRateLimits(c, config.perClient, config.global);
  if (!verdict.ok) {
    const retryAfter = { "Retry-After": String(verdict.retryAfterSeconds) };
    if (verdict.scope === "closed") {
      return page(
        c,
        <MessagePage env={env} t={t} title="Starting agents is paused" emoji="⏸️">
          <p>Agents can't be started from this page right now. Please check back later.</p>
        </MessagePage>,
        503,
        retryAfter,
      );
    }
    return page(
      c,
      <MessagePage env={env} t={t} title={verdict.scope === "client" ? "Slow down a little" : "Lots of people are starting agents"} emoji="🚦">
        <p>
          {verdict.scope === "client"
            ? `You've started several agents in a short time. You can start another in ${minutes(verdict.retryAfterSeconds)}.`
            : `So many agents were started in the last few minutes that we're pausing new ones briefly. Please try again in ${minutes(verdict.retryAfterSeconds)}.`}
        </p>
      </MessagePage>,
      429,
      retryAfter,
    );
  }

  if (env.challenge) {
    const check = await env.challenge.verify({ form, clientIp: clientAddress(c.req.raw.headers), attemptId: attempt });
    if (!check.ok) return errorOnForm(check.message, check.reason === "failed" ? 403 : 503);
  }

  // The template's instructions (inline or Notion) are resolved by claimAgent, as for the API and the dashboard.
  const request: ClaimRequest = { template: t.slug, ...(joinUrl ? { joinUrl } : {}) };
  // The join URL is part of the key: correcting a pasted link on the same page is a new claim.
  const idempotencyKey = `catalog-${kind}-${attempt}${joinUrl ? `-${await sha256Short(joinUrl)}` : ""}`;
  const outcome = await claimAgent(c.env, { request, idempotencyKey, actor: "catalog" });
  return claimPage(c, env, t, kind, outcome, { action: `/a/${t.slug}/${kind}`, fields: { attempt, ...(joinUrl ? { joinUrl } : {}) } });
}

function claimPage(c: C, env: PageEnv, t: TemplateRow, kind: "start" | "join", outcome: ClaimResult, retry: Omit<RetryForm, "label">): Response {
  if (outcome.ok) {
    log.info("catalog claim", { template: t.slug, kind, instanceId: outcome.claim.instanceId, replayed: outcome.replayed });
    return kind === "start" ? page(c, <StartedPage env={env} t={t} claim={outcome.claim} />) : page(c, <JoinedPage env={env} t={t} claim={outcome.claim} />);
  }
  const label = kind === "start" ? `Start ${t.name} now` : `Add ${t.name} now`;
  const { status, retryAfterSeconds } = claimFailureHttp(outcome);
  const retryAfter: Record<string, string> = retryAfterSeconds === null ? {} : { "Retry-After": String(retryAfterSeconds) };
  switch (outcome.code) {
    // An interrupted claim is retried like a busy pool: the same form key gets the same agent.
    case "pool_empty":
    case "claim_interrupted":
      return page(c, <BusyPage env={env} t={t} retry={{ ...retry, label }} retryAfterSeconds={outcome.retryAfterSeconds} />, status, retryAfter);
    case "template_unavailable":
      return page(
        c,
        <MessagePage env={env} t={t} title="This agent isn't available right now" emoji="🛠️">
          <p>{outcome.message}</p>
        </MessagePage>,
        status,
        retryAfter,
      );
    case "invalid_join_url":
      return page(
        c,
        <TemplatePage
          env={env}
          t={t}
          forms={{ startAttempt: newAttempt(), joinAttempt: newAttempt(), joinError: friendlyJoinError(outcome.problem, env.inviteHost), joinValue: retry.fields.joinUrl }}
        />,
        status,
      );
    case "join_in_progress":
      return page(
        c,
        <MessagePage env={env} t={t} title="An agent is already on its way" emoji="🚶">
          <p>An agent is joining this conversation right now. Give it a minute, then check the conversation in Convos.</p>
        </MessagePage>,
        status,
      );
    case "idempotency_conflict":
      return page(
        c,
        <MessagePage env={env} t={t} title="This form was already used" emoji="↩️">
          <p>That form already started an agent. Go back to the agent's page to start a new one.</p>
        </MessagePage>,
        status,
      );
    case "template_not_found":
      return notFound(c);
    case "provision_failed":
      return page(
        c,
        <MessagePage env={env} t={t} title="We couldn't set up your agent" emoji="🛠️" retry={{ action: retry.action, fields: { ...retry.fields, attempt: newAttempt() }, label: "Try again" }}>
          <p>Something went wrong while the agent was getting ready. Trying again usually works.</p>
        </MessagePage>,
        status,
      );
  }
}

/** What a person can act on, from the contract's reading of the link. */
function friendlyJoinError(problem: InviteProblem, inviteHost: string): string {
  if (problem === "unreadable") return "We couldn't read that invite: it may be incomplete or expired. Ask for a fresh link from the conversation in Convos.";
  if (problem === "other_network") {
    return `That invite is for a different Convos network. Agents here can join conversations whose links start with https://${inviteHost}/.`;
  }
  return `That doesn't look like a Convos invite link. It should look like https://${inviteHost}/v2?i=…`;
}

async function formFields(c: C): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let body: Record<string, unknown> = {};
  try {
    body = await c.req.parseBody();
  } catch {
    return out;
  }
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v.slice(0, 4096);
  return out;
}
