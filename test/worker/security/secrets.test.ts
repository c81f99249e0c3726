/// <reference types="vite/client" />
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { open } from "../../../worker/crypto/sealed";
import { FAKE_CREDENTIALS } from "../../support/fakes/credentials";
import { TEST_SUPERVISOR_TOKEN } from "../../support/fake-cloud";
import { admin, login, ORIGIN } from "../admin/helpers";
import { api, coordinatorStub, fillPool, POOL_KEY, providerState, setFaults, setProviderFaults, tick } from "../helpers";
import { rows, rowsIn, settle, useRailway } from "../reliability/support";

/**
 * No secret leaves the pool: every response (bodies and headers), every page and every log
 * line of a run through the whole product is captured and searched for every configured
 * secret and every per-instance secret (gateway tokens, minted OpenRouter keys).
 */

const CONFIGURED = {
  POOL_API_KEY: POOL_KEY,
  POOL_ENCRYPTION_KEY: "test-encryption-key-0123456789abcdef",
  SESSION_SECRET: "test-session-secret-0123456789abcdef",
  LOCAL_SUPERVISOR_TOKEN: TEST_SUPERVISOR_TOKEN,
  RAILWAY_API_TOKEN: FAKE_CREDENTIALS.RAILWAY_API_TOKEN,
  OPENROUTER_MANAGEMENT_KEY: FAKE_CREDENTIALS.OPENROUTER_MANAGEMENT_KEY,
  AGENTMAIL_API_KEY: FAKE_CREDENTIALS.AGENTMAIL_API_KEY,
  TELNYX_API_KEY: FAKE_CREDENTIALS.TELNYX_API_KEY,
  BANKR_API_KEY: FAKE_CREDENTIALS.BANKR_API_KEY,
  NOTION_API_KEY: FAKE_CREDENTIALS.NOTION_API_KEY,
};

describe("secrets never appear in responses, pages or logs", () => {
  const captured: string[] = [];
  const perInstance = new Map<string, string>();

  beforeEach(() => {
    captured.length = 0;
    perInstance.clear();
    // The coordinator runs in this isolate: its console is this console.
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        captured.push(`console.${level}: ${args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")}`);
      });
    }
  });
  afterEach(() => vi.restoreAllMocks());

  async function keep(res: Response | Promise<Response>): Promise<Response> {
    const r = await res;
    const text = await r.clone().text();
    captured.push(`${r.status} ${[...r.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${text}`);
    return r;
  }
  const get = (path: string, init: Parameters<typeof api>[1] = {}) => keep(api(path, init));

  /** Reads every live instance's gateway token (and minted keys) before teardown forgets them. */
  async function harvest() {
    for (const r of await env.DB.prepare("SELECT id, gateway_token_sealed AS s FROM instances WHERE gateway_token_sealed IS NOT NULL")
      .all<{ id: string; s: string }>()
      .then((x) => x.results)) {
      perInstance.set(`gateway token of ${r.id}`, await open(CONFIGURED.POOL_ENCRYPTION_KEY, r.s, r.id));
    }
    const state = await providerState();
    for (const k of state.openrouter.keys as { key: string; name: string }[]) perInstance.set(`OpenRouter key of ${k.name}`, k.key);
    for (const s of state.railway.services as { name: string; bootVariables: Record<string, string> | null }[]) {
      if (s.bootVariables?.GATEWAY_TOKEN) perInstance.set(`boot GATEWAY_TOKEN of ${s.name}`, s.bootVariables.GATEWAY_TOKEN);
    }
  }

  it("through claims, failures, operator actions, the dashboard, the catalog and every provider", { timeout: 60_000 }, async () => {
    // --- the pool on the local host: claims, failures, operator routes --------------------
    await fillPool(4);
    await harvest();
    await get("/api/pool/claim", { method: "POST", json: { agentName: "Ada", instructions: "be nice" }, headers: { "idempotency-key": "secret-scan-1" } });
    await get("/api/pool/claim", { method: "POST", json: { agentName: "Ada", instructions: "be nice" }, headers: { "idempotency-key": "secret-scan-1" } });
    await get("/api/pool/claim", { method: "POST", json: { joinUrl: "https://dev.convos.org/v2?i=secretscan123" } });
    await setFaults({ provisionStatus: 500, dirtyAfterFailedProvision: true });
    await get("/api/pool/claim", { method: "POST", json: {} });
    await setFaults({ provisionStatus: 409 });
    await get("/api/pool/claim", { method: "POST", json: {} });
    await setFaults({});
    await get("/api/pool/claim", { method: "POST", json: {} }); // empty pool: 503
    for (const path of [
      "/healthz",
      "/api/pool/counts",
      "/api/pool/info",
      "/api/openapi.json",
      "/api/pool/templates",
      "/api/pool/agents",
      "/api/pool/settings",
      "/metrics",
      "/api/pool/catalog/templates",
    ]) {
      await get(path, path.startsWith("/api/pool/counts") || path === "/healthz" ? { auth: false } : {});
    }
    for (const r of await rows()) await get(`/api/pool/instances/${r.id}`);
    await get("/api/pool/reconcile", { method: "POST" });
    // Refusals must not echo what was sent either.
    await get("/api/pool/agents", { auth: "not-the-key" });
    await get(`/api/pool/instances/${(await rows())[0]!.id}/self-destruct`, { method: "POST", auth: POOL_KEY });

    // --- the dashboard and the catalog ---------------------------------------------------
    await keep(admin("/admin/login", { form: { key: "wrong key" }, ip: "10.1.1.1" }));
    await keep(admin("/admin/login"));
    const op = await login("10.1.1.2");
    for (const page of ["/admin", "/admin/settings", ...(await rows()).map((r) => `/admin/instances/${r.id}`)]) {
      const { res, html } = await op.get(page);
      captured.push(`${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${html}`);
    }
    await keep(admin("/admin/launch", { cookie: op.cookie, form: { _csrf: op.csrf, agentName: "From the dashboard" } }));
    for (const path of ["/", "/a/study-buddy", "/a/study-buddy/og.svg", "/og.svg"]) await keep(exports.default.fetch(new Request(`${ORIGIN}${path}`)));
    await keep(
      exports.default.fetch(
        new Request(`${ORIGIN}/a/study-buddy/start`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, "cf-connecting-ip": "10.2.2.2" },
          body: "attempt=abcdefghijklmnopqrstuv",
        }),
      ),
    );
    await harvest();
    for (const r of await rowsIn("claimed")) await get(`/api/pool/instances/${r.id}`, { method: "DELETE" });
    await settle();
    await tick();

    // --- every provider, including ones that echo our credentials back in errors ---------
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 2, maxCreatesPerTick: 2 } });
    await useRailway();
    await tick();
    await harvest();
    await useRailway();
    await tick();
    await setProviderFaults("openrouter", [{ op: "POST /api/v1/keys", status: 500, body: { error: { message: `invalid key ${FAKE_CREDENTIALS.OPENROUTER_MANAGEMENT_KEY}` } } }]);
    await setProviderFaults("railway", [{ op: "serviceCreate", status: 400, body: { errors: [{ message: `token ${FAKE_CREDENTIALS.RAILWAY_API_TOKEN} not allowed` }] } }]);
    await setProviderFaults("agentmail", [{ op: "POST /v0/inboxes", status: 500, body: { message: `Bearer ${FAKE_CREDENTIALS.AGENTMAIL_API_KEY}` } }]);
    await api("/api/pool/drain", { method: "POST", json: { count: 1 } });
    await settle();
    for (let i = 0; i < 2; i++) {
      await useRailway();
      await tick();
    }
    await setProviderFaults("openrouter", []);
    await setProviderFaults("railway", []);
    await useRailway();
    await tick();
    await harvest();
    for (const r of await rows()) await get(`/api/pool/instances/${r.id}`);
    await get("/api/pool/agents");
    await get("/api/pool/info", { auth: false });
    await get("/metrics");
    captured.push(JSON.stringify(await coordinatorStub().status()));
    for (const page of ["/admin", ...(await rows()).map((r) => `/admin/instances/${r.id}`)]) captured.push((await op.get(page)).html);

    // --- the search --------------------------------------------------------------------------
    const secrets: [string, string][] = [...Object.entries(CONFIGURED), ...perInstance];
    expect(perInstance.size, "per-instance secrets were collected").toBeGreaterThanOrEqual(10);
    expect(captured.length).toBeGreaterThan(50);
    // The provider errors above really happened and were recorded somewhere visible.
    expect(captured.join("\n")).toMatch(/\[redacted\]|answered 500|answered 400/);
    const leaks: string[] = [];
    for (const text of captured) {
      for (const [name, value] of secrets) {
        if (value && text.includes(value)) leaks.push(`${name} in: ${text.slice(Math.max(0, text.indexOf(value) - 80), text.indexOf(value) + 20)}`);
      }
    }
    vi.restoreAllMocks();
    console.log(JSON.stringify({ secretsSearched: secrets.length, capturedTexts: captured.length, capturedChars: captured.reduce((a, t) => a + t.length, 0) }));
    expect(leaks).toEqual([]);
  });
});

describe("every secret comparison is constant-time", () => {
  // The deployed code (Worker, coordinator) and the instance's own front server and plugin.
  const sources = import.meta.glob(
    ["../../../worker/**/*.{ts,tsx}", "../../../durable-objects/**/*.ts", "../../../runtime-container/src/**/*.ts", "../../../runtime-container/plugins/convos/src/**/*.ts"],
    {
      query: "?raw",
      import: "default",
      eager: true,
    },
  ) as Record<string, string>;
  // "No === / !== with a secret-named operand" is a lint rule now (lint/secret-comparison.grit,
  // run by `npm run lint` and test/build/lint.test.ts), which reads expressions rather than lines.

  it("the helpers that do compare secrets use a constant-time primitive", () => {
    const find = (suffix: string) => Object.entries(sources).find(([f]) => f.endsWith(suffix))?.[1] ?? "";
    expect(find("worker/crypto/compare.ts")).toMatch(/timingSafeEqual/);
    expect(find("worker/admin/session.ts")).toMatch(/crypto\.subtle\.verify/);
    expect(find("plugins/convos/src/bearer.ts")).toMatch(/timingSafeEqual/);
    // And every place that checks a bearer or a key goes through them.
    for (const [file, text] of Object.entries(sources)) {
      if (/authorization/i.test(text) && /POOL_API_KEY|gatewayToken|GATEWAY_TOKEN/.test(text) && /\.header\(|headers\.authorization/.test(text)) {
        expect(text, file).toMatch(/secretsEqual|bearerMatches|requirePoolKey|timingSafeEqual|Bearer \$\{/);
      }
    }
  });
});
