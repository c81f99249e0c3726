import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, counts, fillPool, json, POOL_KEY, tick } from "./helpers";

const PRIVATE_ROUTES: [string, string, unknown?][] = [
  ["POST", "/api/pool/claim", {}],
  ["POST", "/api/pool/replenish", { count: 1 }],
  ["POST", "/api/pool/drain", { count: 1 }],
  ["POST", "/api/pool/reconcile"],
  ["GET", "/api/pool/agents"],
  ["GET", "/api/pool/instances/i123"],
  ["DELETE", "/api/pool/instances/i123"],
  ["DELETE", "/api/pool/crashed/i123"],
  ["GET", "/api/pool/settings"],
  ["PUT", "/api/pool/settings", { minIdle: 1 }],
  ["GET", "/metrics"],
  ["GET", "/api/pool/credits"],
  ["GET", "/api/pool/instances/i123/credits"],
  ["POST", "/api/pool/instances/i123/credits/top-up", { addUsd: 1 }],
];

describe("authentication", () => {
  it.each(PRIVATE_ROUTES)("%s %s refuses a missing, wrong or wrong-length key", async (method, path, body) => {
    for (const auth of [false, "wrong-key-of-the-same-length-xx", "short", `${POOL_KEY}x`] as const) {
      const res = await json(api(path, { method, auth, ...(body ? { json: body } : {}) }));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
  });

  it("a refused request changes nothing", async () => {
    await api("/api/pool/replenish", { method: "POST", auth: "nope", json: { count: 5 } });
    expect((await counts()).creating + (await counts()).starting).toBe(0);
  });
});

describe("public routes", () => {
  it("GET /healthz", async () => {
    const res = await json(api("/healthz", { auth: false }));
    expect(res).toMatchObject({ status: 200, body: { ok: true } });
  });

  it("GET /api/pool/info names the environment and providers and holds no secret", async () => {
    const res = await api("/api/pool/info", { auth: false });
    const text = await res.text();
    expect(res.status).toBe(200);
    const body = JSON.parse(text);
    expect(body).toMatchObject({ environment: "local", xmtpEnv: "dev", providers: { compute: "local" }, breaker: { phase: "closed" } });
    for (const secret of [env.POOL_API_KEY, env.POOL_ENCRYPTION_KEY, env.LOCAL_SUPERVISOR_TOKEN]) expect(text).not.toContain(secret);
  });

  it("GET /api/pool/counts reports every status", async () => {
    await fillPool(2);
    const res = await json(api("/api/pool/counts", { auth: false }));
    // The original pool API's flat shape: clients read `data.idle`.
    expect(res.body).toEqual({ creating: 0, starting: 0, idle: 2, claiming: 0, claimed: 0, upgrading: 0, crashed: 0, dead: 0, deleting: 0, deleted: 0, breaker: "closed" });
  });

  it("templates are listed, featured first, and fetched by slug", async () => {
    const list = await json(api("/api/pool/templates", { auth: false }));
    expect(list.body.templates.length).toBeGreaterThanOrEqual(5);
    expect(list.body.templates[0].featured).toBe(true);
    const one = await json(api(`/api/pool/templates/${list.body.templates[0].slug}`, { auth: false }));
    expect(one.body).toMatchObject({ slug: list.body.templates[0].slug, skills: expect.any(Array) });
    expect((await json(api("/api/pool/templates/no-such-template", { auth: false }))).status).toBe(404);
    expect((await json(api("/api/pool/templates/Bad%20Slug", { auth: false }))).status).toBe(400);
  });

  it("GET /api/openapi.json documents every route with its body schema", async () => {
    const doc = (await json(api("/api/openapi.json", { auth: false }))).body;
    expect(doc.openapi).toBe("3.1.0");
    for (const [method, path] of PRIVATE_ROUTES) {
      const docPath = path.replace(/\/i123(?=\/|$)/, "/{id}");
      expect(doc.paths[docPath]?.[method.toLowerCase()], `${method} ${docPath}`).toBeDefined();
    }
    const claimSchema = doc.paths["/api/pool/claim"].post.requestBody.content["application/json"].schema;
    expect(Object.keys(claimSchema.properties)).toEqual(expect.arrayContaining(["agentName", "instructions", "joinUrl", "template"]));
  });

  it("unknown routes are JSON 404s", async () => {
    const res = await json(api("/api/pool/nope", { auth: false }));
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: "not_found" });
  });
});

describe("bad input", () => {
  it("malformed JSON is a 400 naming the problem", async () => {
    const res = await json(api("/api/pool/claim", { method: "POST", body: "{nope", headers: { "content-type": "application/json" } }));
    expect(res).toMatchObject({ status: 400, body: { error: { code: "invalid_json" } } });
  });

  it("a non-JSON content type is a 415", async () => {
    const res = await json(api("/api/pool/claim", { method: "POST", body: "agentName=x", headers: { "content-type": "application/x-www-form-urlencoded" } }));
    expect(res.status).toBe(415);
  });

  it.each([
    [{ agentName: 42 }, "agentName"],
    [{ agentName: "x".repeat(65) }, "agentName"],
    [{ instructions: "x".repeat(32 * 1024 + 1) }, "instructions"],
    [{ profileImage: "javascript:alert(1)" }, "profileImage"],
    [{ template: "../etc/passwd" }, "template"],
    [{ metadata: { a: { deep: true } } }, "metadata"],
    [{ surprise: true }, "surprise"],
    [[], "(body)"],
  ])("claim body %j is refused naming %s", async (body, field) => {
    const res = await json(api("/api/pool/claim", { method: "POST", json: body }));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(field);
  });

  it("an invite of the other XMTP network is a 400 that says so", async () => {
    await fillPool(1);
    const res = await json(api("/api/pool/claim", { method: "POST", json: { joinUrl: "https://popup.convos.org/v2?i=abcdefghijk" } }));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_join_url");
    expect(res.body.error.message).toMatch(/production invite/);
    expect((await counts()).idle).toBe(1);
  });

  it("bodies over 64 KiB are 413", async () => {
    const res = await json(api("/api/pool/claim", { method: "POST", json: { instructions: "x".repeat(70_000) } }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
  });

  it.each([[{ count: 0 }], [{ count: 21 }], [{ count: -1 }], [{ count: 1.5 }], [{ count: "3" }], [{ count: 2, extra: 1 }]])("replenish and drain refuse %j", async (body) => {
    for (const path of ["/api/pool/replenish", "/api/pool/drain"]) {
      const res = await json(api(path, { method: "POST", json: body }));
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/count|extra/);
    }
  });

  it("ids that are not instance ids are 400, unknown ones 404", async () => {
    expect((await json(api("/api/pool/instances/..%2F..%2Fetc", {}))).status).toBe(400);
    expect((await json(api("/api/pool/instances/DROP%20TABLE", {}))).status).toBe(400);
    expect((await json(api("/api/pool/instances/i0000000000", {}))).status).toBe(404);
    expect((await json(api("/api/pool/instances/i0000000000", { method: "DELETE" }))).status).toBe(404);
  });

  it("agents filter must be a known status", async () => {
    const res = await json(api("/api/pool/agents?status=sleeping"));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain("status");
  });

  it("settings refuse wrong types, unknown fields and minIdle above maxTotal", async () => {
    for (const body of [{ minIdle: "3" }, { minIdle: -1 }, { color: "blue" }, { tickIntervalMs: 5 }]) {
      expect((await json(api("/api/pool/settings", { method: "PUT", json: body }))).status).toBe(400);
    }
    const res = await json(api("/api/pool/settings", { method: "PUT", json: { minIdle: 50, maxTotal: 10 } }));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/minIdle.*maxTotal/);
    expect((await json(api("/api/pool/settings"))).body.minIdle).toBe(3);
  });

  it("a bad Idempotency-Key header is a 400", async () => {
    const res = await json(api("/api/pool/claim", { method: "POST", json: {}, headers: { "idempotency-key": "has spaces in it" } }));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_idempotency_key");
  });
});

describe("operator routes", () => {
  it("settings round-trip and drive the pool size", async () => {
    const put = await json(api("/api/pool/settings", { method: "PUT", json: { minIdle: 2, maxTotal: 4 } }));
    expect(put.body).toMatchObject({ minIdle: 2, maxTotal: 4 });
    expect((await json(api("/api/pool/settings"))).body).toMatchObject({ minIdle: 2, maxTotal: 4 });
    await tick();
    await tick();
    expect((await counts()).idle).toBe(2);
  });

  it("replenish creates now; drain removes idle instances and never claimed ones", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0, maxTotal: 10 } });
    const rep = await json(api("/api/pool/replenish", { method: "POST", json: { count: 3 } }));
    expect(rep.body.created).toHaveLength(3);
    await tick();
    expect((await counts()).idle).toBe(3);
    const claim = await json(api("/api/pool/claim", { method: "POST", json: {} }));
    expect(claim.status).toBe(200);
    const drained = await json(api("/api/pool/drain", { method: "POST", json: { count: 20 } }));
    expect(drained.body.drained).toHaveLength(2);
    expect(drained.body.drained).not.toContain(claim.body.instanceId);
    await tick();
    const c = await counts();
    expect(c).toMatchObject({ idle: 0, claimed: 1 });
    expect(c.deleted).toBe(2);
  });

  it("replenish respects maxTotal", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0, maxTotal: 2 } });
    const rep = await json(api("/api/pool/replenish", { method: "POST", json: { count: 5 } }));
    expect(rep.body).toMatchObject({ requested: 5, limitedBy: "maxTotal" });
    expect(rep.body.created).toHaveLength(2);
  });

  it("agents and instance detail show history but no secrets", async () => {
    await fillPool(1);
    const claim = await json(api("/api/pool/claim", { method: "POST", json: { agentName: "Ada" } }));
    const agents = await json(api("/api/pool/agents?status=claimed"));
    expect(agents.body.agents).toHaveLength(1);
    expect(agents.body.agents[0]).toMatchObject({ id: claim.body.instanceId, agentName: "Ada", inviteUrl: claim.body.inviteUrl, lastEvent: { to: "claimed" } });
    const res = await api(`/api/pool/instances/${claim.body.instanceId}`);
    const text = await res.text();
    const detail = JSON.parse(text);
    expect(detail.events.map((e: { to: string }) => e.to)).toEqual(["creating", "starting", "idle", "claiming", "claimed"]);
    expect(detail.events[0]).toMatchObject({ from: null, actor: "pool" });
    expect(text).not.toMatch(/gateway_?token|sealed/i);
  });

  it("kill removes a claimed instance; dismiss only takes crashed ones", async () => {
    await fillPool(1);
    const claim = await json(api("/api/pool/claim", { method: "POST", json: {} }));
    const dismiss = await json(api(`/api/pool/crashed/${claim.body.instanceId}`, { method: "DELETE" }));
    expect(dismiss.status).toBe(409);
    expect(dismiss.body.error.message).toContain("claimed");
    const kill = await json(api(`/api/pool/instances/${claim.body.instanceId}`, { method: "DELETE" }));
    expect(kill).toMatchObject({ status: 202, body: { status: "deleting" } });
    await tick();
    const detail = await json(api(`/api/pool/instances/${claim.body.instanceId}`));
    expect(detail.body.status).toBe("deleted");
  });

  it("GET /metrics speaks Prometheus text", async () => {
    await fillPool(1);
    await api("/api/pool/claim", { method: "POST", json: {} });
    await api("/api/pool/claim", { method: "POST", json: {} });
    const res = await api("/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain('pool_instances{status="claimed"} 1');
    expect(text).toContain('pool_claims_total{outcome="success"} 1');
    expect(text).toContain('pool_claims_total{outcome="pool_empty"} 1');
    expect(text).toMatch(/pool_claim_pool_seconds_count 1/);
    expect(text).toMatch(/pool_tick_seconds_count \d+/);
    expect(text).toContain("pool_breaker_open 0");
  });
});
