import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ClaimOutcome } from "../../../durable-objects/pool-coordinator/outcomes";
import { challengeVerifier } from "../../../worker/catalog/challenge";
import { catalogConfig } from "../../../worker/catalog/config";
import { clientBucket, forgetOldClients } from "../../../worker/catalog/routes";
import { hitRateLimit } from "../../../worker/http/rate-limit";
import { counts, fillPool } from "../helpers";
import { CLAIMED, getPage, postForm, recordingCoordinator } from "./helpers";

const attempt = (n: number) => `attempt-${String(n).padStart(12, "0")}`;

async function text(res: Response | Promise<Response>) {
  const r = await res;
  return { status: r.status, headers: r.headers, text: (await r.text()).replace(/&#39;/g, "'") };
}

afterEach(() => vi.restoreAllMocks());

describe("rate limits", () => {
  it("limits public claims per client (5 per window by default), with Retry-After, without affecting other clients", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await postForm("/a/trip-planner/start", { attempt: attempt(i) }, { ip: "203.0.113.7" });
      expect(res.status).toBe(503); // empty pool, but allowed through
    }
    const limited = await text(postForm("/a/trip-planner/start", { attempt: attempt(9) }, { ip: "203.0.113.7" }));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.text).toContain("Slow down a little");
    expect(limited.text).toMatch(/You can start another in (a minute|\d+ minutes)/);

    const other = await postForm("/a/trip-planner/start", { attempt: attempt(10) }, { ip: "198.51.100.1" });
    expect(other.status).toBe(503);
  });

  it("a limited client takes no agent even when some are idle", async () => {
    await fillPool(2);
    const vars = { PUBLIC_CLAIM_CLIENT_LIMIT: "1" };
    expect((await postForm("/a/trip-planner/start", { attempt: attempt(1) }, { ip: "203.0.113.8", env: vars })).status).toBe(200);
    expect((await postForm("/a/trip-planner/start", { attempt: attempt(2) }, { ip: "203.0.113.8", env: vars })).status).toBe(429);
    expect((await counts()).claimed).toBe(1);
    expect((await counts()).idle).toBe(1);
  });

  it("counts an IPv6 /64 as one client", async () => {
    const vars = { PUBLIC_CLAIM_CLIENT_LIMIT: "2" };
    expect((await postForm("/a/trip-planner/start", { attempt: attempt(1) }, { ip: "2001:db8:1:2::1", env: vars })).status).toBe(503);
    expect((await postForm("/a/trip-planner/start", { attempt: attempt(2) }, { ip: "2001:db8:1:2:ffff::9", env: vars })).status).toBe(503);
    expect((await postForm("/a/trip-planner/start", { attempt: attempt(3) }, { ip: "2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd", env: vars })).status).toBe(429);
    expect(clientBucket("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(clientBucket("::1")).toBe("0:0:0:0::/64");
    expect(clientBucket("192.0.2.1")).toBe("192.0.2.1");
  });

  it("limits public claims globally across clients (configurable)", async () => {
    const vars = { PUBLIC_CLAIM_GLOBAL_LIMIT: "3", PUBLIC_CLAIM_GLOBAL_WINDOW_SECONDS: "60" };
    for (let i = 0; i < 3; i++) {
      expect((await postForm("/a/trip-planner/start", { attempt: attempt(i) }, { ip: `192.0.2.${i + 1}`, env: vars })).status).toBe(503);
    }
    const res = await text(postForm("/a/trip-planner/start", { attempt: attempt(7) }, { ip: "192.0.2.99", env: vars }));
    expect(res.status).toBe(429);
    expect(res.text).toContain("Lots of people are starting agents");
    expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(60);
  });

  it("a limit of 0 pauses public claims", async () => {
    await fillPool(1);
    const res = await text(postForm("/a/trip-planner/start", { attempt: attempt(1) }, { env: { PUBLIC_CLAIM_GLOBAL_LIMIT: "0" } }));
    expect(res.status).toBe(503);
    expect(res.text).toContain("Starting agents is paused");
    expect((await counts()).claimed).toBe(0);
  });

  it("forgets the counters of clients whose window is over, keeping current ones", async () => {
    const now = Date.now();
    await hitRateLimit(env.DB, "catalog:client:198.51.100.20", 5, 600_000, now - 3_600_000);
    await hitRateLimit(env.DB, "catalog:client:198.51.100.21", 5, 600_000, now);
    await hitRateLimit(env.DB, "catalog:global", 60, 600_000, now - 3_600_000);
    await hitRateLimit(env.DB, "admin-login:198.51.100.20", 5, 60_000, now - 3_600_000);
    expect(await forgetOldClients(env.DB, 600_000, now)).toBe(1);
    const keys = (await env.DB.prepare("SELECT key FROM rate_limits ORDER BY key").all<{ key: string }>()).results.map((r) => r.key);
    expect(keys).toEqual(["admin-login:198.51.100.20", "catalog:client:198.51.100.21", "catalog:global"]);
  });

  it("reads its configuration with safe defaults", () => {
    expect(catalogConfig({})).toEqual({ perClient: { limit: 5, windowMs: 600_000 }, global: { limit: 60, windowMs: 600_000 }, challenge: "off" });
    expect(catalogConfig({ PUBLIC_CLAIM_CLIENT_LIMIT: "-3", PUBLIC_CLAIM_GLOBAL_WINDOW_SECONDS: "0", PUBLIC_CLAIM_CHALLENGE: " Turnstile " })).toEqual({
      perClient: { limit: 5, windowMs: 600_000 },
      global: { limit: 60, windowMs: 600_000 },
      challenge: "turnstile",
    });
    expect(catalogConfig({ PUBLIC_CLAIM_CLIENT_LIMIT: env.PUBLIC_CLAIM_CLIENT_LIMIT }).perClient.limit).toBe(5);
  });
});

describe("challenge hook", () => {
  const TURNSTILE = { PUBLIC_CLAIM_CHALLENGE: "turnstile", TURNSTILE_SITE_KEY: "1x00000000000000000000AA", TURNSTILE_SECRET_KEY: "1x0000000000000000000000000000000AA" };

  it("is off by default: no widget, no third-party script allowed", async () => {
    const res = await getPage("/a/trip-planner");
    expect(await res.text()).not.toContain("cf-turnstile");
    expect(res.headers.get("content-security-policy")).not.toContain("challenges.cloudflare.com");
    expect(challengeVerifier("off", {})).toBeNull();
  });

  it("with Turnstile on, the forms carry the widget and the CSP allows exactly its origin", async () => {
    const res = await getPage("/a/trip-planner", { env: TURNSTILE });
    const html = await res.text();
    expect(html.match(/class="cf-turnstile challenge" data-sitekey="1x00000000000000000000AA"/g)).toHaveLength(2);
    const nonce = /script-src 'nonce-([^']+)'/.exec(res.headers.get("content-security-policy")!)![1];
    expect(html).toContain(`<script src="https://challenges.cloudflare.com/turnstile/v0/api.js" nonce="${nonce}"`);
    expect(res.headers.get("content-security-policy")).toContain("frame-src https://challenges.cloudflare.com");
    expect(html).not.toContain(TURNSTILE.TURNSTILE_SECRET_KEY);
  });

  it("refuses a claim without a passing token before any agent is reserved", async () => {
    await fillPool(1);
    const siteverify = vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json({ success: false, "error-codes": ["invalid-input-response"] }));
    const missing = await text(postForm("/a/trip-planner/start", { attempt: attempt(1) }, { env: TURNSTILE }));
    expect(missing.status).toBe(403);
    expect(missing.text).toContain("Please complete the human check");
    expect(siteverify).not.toHaveBeenCalled();

    const bad = await text(postForm("/a/trip-planner/start", { attempt: attempt(2), "cf-turnstile-response": "bad-token" }, { env: TURNSTILE }));
    expect(bad.status).toBe(403);
    expect(bad.text).toContain("The human check did not pass");
    expect((await counts()).claimed).toBe(0);
  });

  it("verifies the token server-side with the secret and the client address, then claims", async () => {
    const coordinator = recordingCoordinator(CLAIMED);
    const siteverify = vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json({ success: true }));
    const res = await postForm(
      "/a/trip-planner/start",
      { attempt: attempt(3), "cf-turnstile-response": "good-token" },
      { ip: "203.0.113.50", env: { ...TURNSTILE, POOL_COORDINATOR: coordinator.binding } },
    );
    expect(res.status).toBe(200);
    expect(coordinator.calls).toHaveLength(1);
    const [url, init] = siteverify.mock.calls[0]!;
    expect(String(url)).toBe("https://challenges.cloudflare.com/turnstile/v0/siteverify");
    const body = init!.body as FormData;
    expect(body.get("secret")).toBe(TURNSTILE.TURNSTILE_SECRET_KEY);
    expect(body.get("response")).toBe("good-token");
    expect(body.get("remoteip")).toBe("203.0.113.50");
  });

  it("fails closed when switched on but not configured, or when the verifier is unreachable", async () => {
    await fillPool(1);
    const unconfigured = await text(postForm("/a/trip-planner/start", { attempt: attempt(4) }, { env: { PUBLIC_CLAIM_CHALLENGE: "turnstile" } }));
    expect(unconfigured.status).toBe(503);
    expect(unconfigured.text).toContain("temporarily unavailable");
    const unknown = await text(postForm("/a/trip-planner/start", { attempt: attempt(5) }, { env: { PUBLIC_CLAIM_CHALLENGE: "captcha-9000" } }));
    expect(unknown.status).toBe(503);

    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      throw new Error("network down");
    });
    const down = await text(postForm("/a/trip-planner/start", { attempt: attempt(6), "cf-turnstile-response": "t" }, { env: TURNSTILE }));
    expect(down.status).toBe(503);
    expect(down.text).toContain("We could not check that you are human right now");
    expect((await counts()).claimed).toBe(0);
  });
});

describe("claim outcomes the catalog explains", () => {
  it.each([
    [{ ok: false, code: "provision_failed", message: "boom", instanceId: "i1" }, 502, "We couldn't set up your agent"],
    [{ ok: false, code: "join_in_progress", message: "busy" }, 409, "An agent is already on its way"],
    [{ ok: false, code: "idempotency_conflict", message: "x" }, 422, "This form was already used"],
    [{ ok: false, code: "template_not_found", message: "x" }, 404, "We couldn't find that agent"],
  ] as [ClaimOutcome, number, string][])("%o → %i", async (outcome, status, phrase) => {
    const coordinator = recordingCoordinator(outcome);
    const res = await text(postForm("/a/trip-planner/start", { attempt: attempt(1) }, { env: { POOL_COORDINATOR: coordinator.binding } }));
    expect(res.status).toBe(status);
    expect(res.text).toContain(phrase);
    expect(res.text).not.toContain("boom");
  });

  it("a join that waits for the conversation's approval says so and what to do", async () => {
    const coordinator = recordingCoordinator({
      ok: true,
      replayed: false,
      claim: { instanceId: "i-test", conversationId: "conv-2", inviteUrl: null, joined: false, status: "pending_acceptance", agentName: "Study Buddy" },
    });
    const res = await text(postForm("/a/study-buddy/join", { attempt: attempt(1), joinUrl: "https://dev.convos.org/v2?i=abcdefgh12345" }, { env: { POOL_COORDINATOR: coordinator.binding } }));
    expect(res.status).toBe(200);
    expect(res.text).toContain("Study Buddy asked to join your chat");
    expect(res.text).toContain("Approve Study Buddy's request to join");
  });

  it("never turns a non-https invite from an agent into a link", async () => {
    const coordinator = recordingCoordinator({
      ok: true,
      replayed: false,
      claim: { instanceId: "i-test", conversationId: "conv-3", inviteUrl: "javascript:alert(1)", joined: false, status: "created", agentName: "Trip Planner" },
    });
    const res = await text(postForm("/a/trip-planner/start", { attempt: attempt(2) }, { env: { POOL_COORDINATOR: coordinator.binding } }));
    expect(res.status).toBe(200);
    expect(res.text).not.toContain("javascript:");
    expect(res.text).toContain("no invite link came back");
  });

  it("asks the coordinator for the template, as the catalog, with an idempotency key per form", async () => {
    const coordinator = recordingCoordinator(CLAIMED);
    await postForm("/a/trip-planner/start", { attempt: attempt(1) }, { env: { POOL_COORDINATOR: coordinator.binding } });
    await postForm("/a/trip-planner/join", { attempt: attempt(1), joinUrl: "https://dev.convos.org/v2?i=abcdefgh12345" }, { env: { POOL_COORDINATOR: coordinator.binding } });
    const [start, join] = coordinator.calls;
    expect(start).toMatchObject({ actor: "catalog", request: { template: "trip-planner" } });
    expect(start!.request.instructions).toBeUndefined();
    expect(start!.idempotencyKey).toBe(`catalog-start-${attempt(1)}`);
    expect(join).toMatchObject({ actor: "catalog", request: { template: "trip-planner", joinUrl: "https://dev.convos.org/v2?i=abcdefgh12345" } });
    expect(join!.idempotencyKey).toMatch(new RegExp(`^catalog-join-${attempt(1)}-[0-9a-f]{16}$`));
  });
});
