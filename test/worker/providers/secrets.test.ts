import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createInstance } from "../../../durable-objects/pool-coordinator/create-instance";
import { teardownMany } from "../../../durable-objects/pool-coordinator/teardown";
import { runTick } from "../../../durable-objects/pool-coordinator/tick";
import { app } from "../../../worker/app";
import { database } from "../../../worker/db/client";
import { FAKE_CREDENTIALS as C } from "../../support/fakes/credentials";
import { POOL_KEY, providerState, setProviderFaults } from "../helpers";
import { providerContext, providerEnv, settings } from "./support";

const captured: string[] = [];

beforeEach(() => {
  captured.length = 0;
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      captured.push(args.map((a) => (typeof a === "string" ? a : a instanceof Error ? `${a.message} ${a.stack}` : JSON.stringify(a))).join(" "));
    });
  }
});
afterEach(() => vi.restoreAllMocks());

const STATIC_SECRETS = [C.RAILWAY_API_TOKEN, C.OPENROUTER_MANAGEMENT_KEY, C.AGENTMAIL_API_KEY, C.TELNYX_API_KEY, C.BANKR_API_KEY, C.NOTION_API_KEY];

describe("secrets during provider failures", () => {
  it("never appear in a log line, a stored error or an API response, even when providers echo them", async () => {
    const ctx = providerContext();
    const s = settings();
    // One instance that works, so minted keys and gateway tokens exist to leak.
    const ok = await createInstance(ctx, s, "test", "test", new Set());
    expect(ok.ok).toBe(true);

    // Providers that echo the credentials back in their error bodies.
    const failures = [
      async () => setProviderFaults("railway", [{ op: "serviceCreate", status: 200, body: { data: null, errors: [{ message: `Not Authorized: token ${C.RAILWAY_API_TOKEN} is invalid` }] } }]),
      async () => setProviderFaults("openrouter", [{ op: "POST /api/v1/keys", status: 500, body: { error: { code: 500, message: `upstream rejected Bearer ${C.OPENROUTER_MANAGEMENT_KEY}` } } }]),
      async () =>
        setProviderFaults("agentmail", [{ op: "POST /v0/inboxes", status: 400, body: { name: "ValidationError", message: `api key ${C.AGENTMAIL_API_KEY} cannot create inboxes`, errors: [] } }]),
      async () =>
        setProviderFaults("telnyx", [{ op: "POST /v2/number_orders", status: 401, body: { errors: [{ code: "10009", title: "Authentication failed", detail: `Key ${C.TELNYX_API_KEY} rejected` }] } }]),
    ];
    for (const inject of failures) {
      await inject();
      const r = await createInstance(ctx, s, "test", "test", new Set());
      expect(r.ok).toBe(false);
      for (const p of ["railway", "openrouter", "agentmail", "telnyx"] as const) await setProviderFaults(p, []);
    }
    // A tick with a failing list and a failing teardown, both echoing secrets.
    await setProviderFaults("railway", [{ op: "project", status: 503, body: { errors: [{ message: `overloaded for ${C.RAILWAY_API_TOKEN}` }] } }]);
    await setProviderFaults("openrouter", [{ op: "DELETE /api/v1/keys/{hash}", status: 500, body: { error: { code: 500, message: `cannot delete with ${C.OPENROUTER_MANAGEMENT_KEY}` } } }]);
    await runTick(
      {
        ctx,
        settings: s,
        inFlightClaims: new Set(),
        creatingNow: new Set(),
        replenish: async () => ({ created: 0, failed: 0 }),
        teardown: async (rows) => (await teardownMany(ctx, rows, s, "tick")).deleted.length,
      },
      "test",
    );

    const state = await providerState();
    const minted = state.openrouter.keys.map((k: { key: string }) => k.key);
    const gatewayTokens = state.railway.services.map((svc: { bootVariables: Record<string, string> }) => svc.bootVariables.GATEWAY_TOKEN);
    const secrets = [...STATIC_SECRETS, ...minted, ...gatewayTokens];
    expect(minted.length).toBeGreaterThan(0);
    expect(gatewayTokens.length).toBeGreaterThan(0);

    const rows = await database(env.DB).query.instances.findMany();
    const stored = rows.map((r) => `${r.lastError ?? ""} ${r.statusReason ?? ""}`);
    const events = await database(env.DB).query.instanceEvents.findMany();

    const auth = { authorization: `Bearer ${POOL_KEY}` };
    const responses: string[] = [];
    for (const path of ["/api/pool/agents", "/api/pool/info", "/api/pool/counts", ...rows.map((r) => `/api/pool/instances/${r.id}`)]) {
      const res = await app.request(path, { headers: auth }, providerEnv);
      expect(res.status).toBe(200);
      responses.push(await res.text());
    }

    expect(captured.length).toBeGreaterThan(0);
    const haystacks = { logs: captured.join("\n"), stored: stored.join("\n"), events: JSON.stringify(events), responses: responses.join("\n") };
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of secrets) expect(text.includes(secret), `a secret appeared in ${where}`).toBe(false);
    }
    // The failures themselves are still explained to the operator, just without the secret.
    expect(haystacks.stored).toMatch(/\[redacted\]/);
  });
});
