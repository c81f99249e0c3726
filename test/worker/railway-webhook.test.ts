import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createInstance } from "../../durable-objects/pool-coordinator/create-instance";
import { WebhookAnswerSchema } from "../../worker/api/schemas";
import { app } from "../../worker/app";
import { ErrorBodySchema } from "../../worker/http/errors";
import { WEBHOOK_CLIENT_LIMIT, WEBHOOK_WINDOW_MS } from "../../worker/routes/webhooks";
import { FAKE_CREDENTIALS as C } from "../support/fakes/credentials";
import { api, json, POOL_KEY, providerControl } from "./helpers";
import { providerContext, providerEnv, settings, tickWith } from "./providers/support";

/**
 * Issue 15 §3: Railway's deployment webhooks speed up what the tick observes. The pool runs on
 * the Railway fake (real GraphQL client, services with domains answering /pool/health); events
 * are posted in Railway's documented shapes to the Worker, which applies them through the
 * coordinator with the tick's own checks.
 */

const SECRET = "whsec-railway-0123456789abcdef0123";
const hookEnv = { ...providerEnv, RAILWAY_WEBHOOK_SECRET: SECRET } as Env;

interface Delivery {
  secret?: string;
  raw?: string;
  headers?: Record<string, string>;
  env?: Env;
}

function deliver(body: unknown, opts: Delivery = {}) {
  return json(
    app.request(
      `/api/webhooks/railway/${opts.secret ?? SECRET}`,
      { method: "POST", headers: { "content-type": "application/json", ...opts.headers }, body: opts.raw ?? JSON.stringify(body) },
      opts.env ?? hookEnv,
    ),
  );
}

const base = Date.now() - 10 * 60_000;
const at = (step: number) => new Date(base + step * 1_000).toISOString();

interface Svc {
  id: string;
  name: string;
  instanceId: string;
}

/** The current shape (docs.railway.com/observability/webhooks). */
function event(type: string, svc: Svc, deploymentId: string, step: number, status = "SUCCESS") {
  return {
    type,
    details: { id: deploymentId, source: "Docker Image", status, branch: "", commitHash: "", commitAuthor: "", commitMessage: "" },
    resource: {
      workspace: { id: "ws-1", name: "Convos" },
      project: { id: C.RAILWAY_PROJECT_ID, name: "agent-pool" },
      environment: { id: C.RAILWAY_ENVIRONMENT_ID, name: "production", isEphemeral: false },
      service: { id: svc.id, name: svc.name },
      deployment: { id: deploymentId },
    },
    severity: "WARNING",
    timestamp: at(step),
  };
}

/** The legacy shape (`type: "DEPLOY"` with the status beside it). */
function legacy(status: string, svc: Svc, deploymentId: string, step: number) {
  return {
    type: "DEPLOY",
    timestamp: at(step),
    project: { id: C.RAILWAY_PROJECT_ID, name: "agent-pool", description: "", createdAt: at(0) },
    environment: { id: C.RAILWAY_ENVIRONMENT_ID, name: "production" },
    deployment: { id: deploymentId, creator: { id: "u1", name: "Ops", avatar: "" }, meta: {} },
    status,
    service: { id: svc.id, name: svc.name },
  };
}

interface RowState {
  status: string;
  deployment_status: string | null;
  status_actor: string | null;
  status_reason: string | null;
}
const rowOf = (id: string) => env.DB.prepare("SELECT status, deployment_status, status_actor, status_reason FROM instances WHERE id = ?").bind(id).first<RowState>();
const eventsOf = async (id: string) =>
  (
    await env.DB.prepare("SELECT from_status, to_status, reason, actor FROM instance_events WHERE instance_id = ? ORDER BY id")
      .bind(id)
      .all<{ from_status: string | null; to_status: string; reason: string; actor: string }>()
  ).results;
const failures = async (id: string) => (await eventsOf(id)).filter((e) => e.to_status === "dead" || e.to_status === "crashed");

/** `n` idle instances on the Railway fake, as the tick makes them. */
async function railwayPool(n: number): Promise<{ svcs: Svc[]; ctx: ReturnType<typeof providerContext>; s: ReturnType<typeof settings> }> {
  const ctx = providerContext();
  const s = { ...settings(), minIdle: n, maxCreatesPerTick: n };
  await tickWith(ctx, s);
  await tickWith(ctx, s);
  const rows = (await env.DB.prepare("SELECT id, service_id, service_name FROM instances WHERE status = 'idle' ORDER BY id").all<{ id: string; service_id: string; service_name: string }>()).results;
  expect(rows).toHaveLength(n);
  return { svcs: rows.map((r) => ({ id: r.service_id, name: r.service_name, instanceId: r.id })), ctx, s: { ...s, minIdle: 0 } };
}

/** A user's agent: the Railway fake's front server does not provision, so the claim is recorded as a finished claim would leave it. */
async function makeClaimed(id: string) {
  await env.DB.prepare(
    "UPDATE instances SET status = 'claimed', status_reason = 'claimed', status_actor = 'api', conversation_id = 'conv-1', claim_status = 'created', claimed_at = ?, last_health_at = ? WHERE id = ?",
  )
    .bind(Date.now(), Date.now(), id)
    .run();
}

describe("a Railway deployment event moves the instance within the request", () => {
  it("Deployment.crashed of a claimed agent: crashed now, with Railway's word as the reason, not at the next tick", async () => {
    const { svcs } = await railwayPool(2);
    const [a] = svcs;
    await makeClaimed(a!.instanceId);
    const res = await deliver(event("Deployment.crashed", a!, "dep-a1", 10, "CRASHED"));
    expect(res.status).toBe(200);
    const answer = WebhookAnswerSchema.parse(res.body);
    expect(answer).toMatchObject({ outcome: "applied", instanceId: a!.instanceId });
    expect(answer.report).toMatchObject({ actor: "railway-webhook", before: "claimed", after: "crashed", outcome: "transitioned", host: { source: "event", state: "failed", rawStatus: "CRASHED" } });
    expect(await rowOf(a!.instanceId)).toMatchObject({ status: "crashed", deployment_status: "CRASHED", status_actor: "railway-webhook", status_reason: "deployment CRASHED" });
    // The other instance is untouched.
    expect((await rowOf(svcs[1]!.instanceId))!.status).toBe("idle");
  });

  it("the legacy DEPLOY shape: a FAILED idle instance is dead, and the tick then tears it down with its resources", async () => {
    const { svcs, ctx, s } = await railwayPool(1);
    const [a] = svcs;
    await providerControl("/railway/status", { service: a!.id, status: "FAILED" });
    const res = await deliver(legacy("FAILED", a!, "dep-a1", 10));
    expect(res.status).toBe(200);
    expect(res.body.report).toMatchObject({ before: "idle", after: "dead", transition: { from: "idle", to: "dead", reason: "deployment FAILED" } });
    const summary = await tickWith(ctx, s);
    expect(summary.failed).toBe(0); // already dead: the tick only finishes the cleanup
    expect(summary.tornDown).toBe(1);
    expect((await rowOf(a!.instanceId))!.status).toBe("deleted");
    expect(await failures(a!.instanceId)).toHaveLength(1);
  });

  it("a starting instance whose deployment succeeded is asked at once and becomes ready", async () => {
    const ctx = providerContext();
    const made = await createInstance(ctx, settings(), "tick", "replenish", new Set());
    expect(made.ok).toBe(true);
    const row = (await env.DB.prepare("SELECT id, service_id, service_name, status FROM instances").first<{ id: string; service_id: string; service_name: string; status: string }>())!;
    expect(row.status).toBe("starting");
    const res = await deliver(event("Deployment.deployed", { id: row.service_id, name: row.service_name, instanceId: row.id }, "dep-1", 5));
    expect(res.body.report).toMatchObject({ before: "starting", after: "idle", health: { ok: true, verdict: "ready" }, transition: { to: "idle", reason: "health check ready" } });
  });
});

describe("no false deaths", () => {
  it("a sleeping service, idle or claimed, stays alive; its status is recorded; waking up changes nothing either", async () => {
    const { svcs, ctx, s } = await railwayPool(2);
    const [idle, claimed] = svcs;
    await makeClaimed(claimed!.instanceId);
    const before = [await eventsOf(idle!.instanceId), await eventsOf(claimed!.instanceId)];

    // One in each shape; the current one with a type the pool has no name for falls back to details.status.
    const slept = [await deliver(legacy("SLEEPING", idle!, "dep-i", 10)), await deliver(event("Deployment.statusChanged", claimed!, "dep-c", 10, "SLEEPING"))];
    for (const r of slept) {
      expect(r.status).toBe(200);
      expect(r.body.report).toMatchObject({ outcome: "updated", transition: null, host: { state: "sleeping" } });
    }
    expect(await rowOf(idle!.instanceId)).toMatchObject({ status: "idle", deployment_status: "SLEEPING" });
    expect(await rowOf(claimed!.instanceId)).toMatchObject({ status: "claimed", deployment_status: "SLEEPING" });
    // The tick, seeing the same on Railway, agrees.
    for (const v of svcs) await providerControl("/railway/status", { service: v.id, status: "SLEEPING" });
    await tickWith(ctx, s);

    const woke = await deliver(event("Deployment.resumed", claimed!, "dep-c", 20));
    expect(woke.body.report).toMatchObject({ before: "claimed", after: "claimed", transition: null });
    expect(await eventsOf(idle!.instanceId)).toEqual(before[0]);
    expect(await eventsOf(claimed!.instanceId)).toEqual(before[1]);
  });

  it("replayed and out-of-order events change nothing; a removal of the previous deployment after a redeploy is not a death", async () => {
    const { svcs } = await railwayPool(1);
    const [a] = svcs;
    const id = a!.instanceId;

    expect((await deliver(event("Deployment.deployed", a!, "dep-1", 10))).body.outcome).toBe("applied");
    // A crash stamped before the success already applied: old news.
    const late = await deliver(event("Deployment.crashed", a!, "dep-1", 5, "CRASHED"));
    expect(late.status).toBe(202);
    expect(late.body).toMatchObject({ outcome: "ignored", reason: "out_of_order", instanceId: id });
    // The same delivery twice.
    const replay = await deliver(event("Deployment.deployed", a!, "dep-1", 10));
    expect(replay.status).toBe(202);
    expect(replay.body.reason).toBe("duplicate");

    // A redeploy: the new deployment goes live, then Railway removes the old one.
    expect((await deliver(legacy("DEPLOYING", a!, "dep-2", 20))).body.outcome).toBe("applied");
    expect((await deliver(legacy("SUCCESS", a!, "dep-2", 30))).body.outcome).toBe("applied");
    const removal = await deliver(event("Deployment.removed", a!, "dep-1", 40, "REMOVED"));
    expect(removal.body).toMatchObject({ outcome: "ignored", reason: "superseded" });
    // And a late event of the old deployment, newer than anything applied, is superseded too.
    expect((await deliver(legacy("CRASHED", a!, "dep-1", 45))).body.reason).toBe("superseded");
    expect((await rowOf(id))!.status).toBe("idle");
    expect(await failures(id)).toHaveLength(0);

    // The live deployment crashing is a death, once, however often it is delivered.
    expect((await deliver(event("Deployment.crashed", a!, "dep-2", 50, "CRASHED"))).body.report.transition).toMatchObject({ from: "idle", to: "dead" });
    for (let i = 0; i < 3; i++) expect((await deliver(event("Deployment.crashed", a!, "dep-2", 50, "CRASHED"))).body.reason).toBe("duplicate");
    expect(await failures(id)).toHaveLength(1);
  });

  it("what survives a coordinator restart: the order of applied events is kept in its storage", async () => {
    const { svcs } = await railwayPool(1);
    const [a] = svcs;
    expect((await deliver(event("Deployment.deployed", a!, "dep-1", 10))).body.outcome).toBe("applied");
    const { abortAllDurableObjects } = await import("cloudflare:test");
    await abortAllDurableObjects();
    expect((await deliver(event("Deployment.crashed", a!, "dep-1", 5, "CRASHED"))).body.reason).toBe("out_of_order");
    expect((await rowOf(a!.instanceId))!.status).toBe("idle");
  });
});

describe("the tick and the webhook never fight", () => {
  it("racing on the same crashed services, each instance is moved once, by one of them", async () => {
    const { svcs, ctx, s } = await railwayPool(3);
    for (const v of svcs) await providerControl("/railway/status", { service: v.id, status: "CRASHED" });
    const [summary, ...answers] = await Promise.all([tickWith(ctx, s), ...svcs.map((v) => deliver(event("Deployment.crashed", v, `dep-${v.id}`, 10, "CRASHED")))]);
    for (const v of svcs) expect(await failures(v.instanceId), v.instanceId).toHaveLength(1);
    const byWebhook = answers.filter((a) => a.body.report?.transition).length;
    expect(summary.failed + byWebhook).toBe(3);
    // A webhook that lost the race reports the move it found instead of making one.
    for (const a of answers) if (!a.body.report?.transition) expect(a.body.report.after).not.toBe("idle");
  });
});

describe("who may call it and what it accepts", () => {
  const snapshot = async () => JSON.stringify((await env.DB.batch(["instances", "instance_events"].map((t) => env.DB.prepare(`SELECT * FROM "${t}" ORDER BY rowid`)))).map((r) => r.results));

  it("a wrong or missing secret, or an unconfigured webhook, is the same 404, and nothing changes", async () => {
    const { svcs } = await railwayPool(1);
    const crash = event("Deployment.crashed", svcs[0]!, "dep-1", 10, "CRASHED");
    const before = await snapshot();
    const refusals = [
      await deliver(crash, { secret: "x".repeat(SECRET.length) }),
      await deliver(crash, { secret: SECRET.slice(0, -1) }),
      await deliver(crash, { secret: `${SECRET}0` }),
      await deliver(crash, { secret: SECRET.toUpperCase() }),
      await deliver(crash, { secret: POOL_KEY }),
      await deliver(crash, { secret: "%20" }),
      await deliver(crash, { env: { ...providerEnv, RAILWAY_WEBHOOK_SECRET: "" } as Env }),
      await deliver(crash, { env: providerEnv }),
      // The pool key as a bearer does not stand in for the secret.
      await deliver(crash, { secret: "wrong", headers: { authorization: `Bearer ${POOL_KEY}` } }),
    ];
    for (const r of refusals) {
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: { code: "not_found", message: "no such webhook" } });
    }
    // Without the secret segment there is no route at all.
    expect((await json(app.request("/api/webhooks/railway", { method: "POST", body: "{}" }, hookEnv))).status).toBe(404);
    expect(await snapshot()).toBe(before);
  });

  it("bad bodies are a 4xx naming the problem; nothing changes", async () => {
    const { svcs } = await railwayPool(1);
    const svc = svcs[0]!;
    const good = event("Deployment.crashed", svc, "dep-1", 10, "CRASHED");
    const before = await snapshot();
    const cases: [string, Delivery & { body?: unknown }, number, RegExp][] = [
      ["malformed JSON", { raw: "{nope" }, 400, /not valid JSON/],
      ["an array", { body: [good] }, 400, /object/],
      ["empty body", { raw: "" }, 400, /type/],
      ["form encoded", { raw: "type=DEPLOY", headers: { "content-type": "application/x-www-form-urlencoded" } }, 415, /JSON/],
      ["no timestamp", { body: { ...good, timestamp: undefined } }, 400, /timestamp/],
      ["a timestamp that is not a date", { body: { ...good, timestamp: "yesterday" } }, 400, /timestamp: must be an ISO 8601/],
      ["a timestamp in the future", { body: { ...good, timestamp: new Date(Date.now() + 3_600_000).toISOString() } }, 400, /timestamp .* in the future/],
      ["no resource", { body: { ...good, resource: undefined } }, 400, /resource/],
      ["a service without an id", { body: { ...good, resource: { ...good.resource, service: { name: svc.name } } } }, 400, /resource\.service\.id/],
      ["a type that is not an event type", { body: { ...good, type: "crash!" } }, 400, /type: must be a Railway event type/],
      ["legacy without a status", { body: { ...legacy("CRASHED", svc, "dep-1", 10), status: undefined } }, 400, /status/],
      ["legacy with a status that is not a word", { body: legacy("CRASHED; DROP TABLE instances", svc, "dep-1", 10) }, 400, /status: must be a Railway deployment status/],
      ["legacy without a service", { body: { ...legacy("CRASHED", svc, "dep-1", 10), service: undefined } }, 400, /service/],
      ["a service id of 10 KB", { body: { ...good, resource: { ...good.resource, service: { id: "s".repeat(10_000) } } } }, 400, /resource\.service\.id/],
      ["over 16 KiB", { body: { ...good, details: { ...good.details, commitMessage: "m".repeat(17_000) } } }, 413, /exceeds 16384 bytes/],
    ];
    for (const [label, c, status, message] of cases) {
      const res = await deliver(c.body, c);
      expect(res.status, label).toBe(status);
      const body = ErrorBodySchema.parse(res.body);
      expect(body.error.message, label).toMatch(message);
    }
    expect(await snapshot()).toBe(before);
  });

  it("events that are not ours are accepted and ignored (202), saying why", async () => {
    const { svcs } = await railwayPool(1);
    const svc = svcs[0]!;
    const before = await snapshot();
    const stranger = await deliver(event("Deployment.crashed", { id: "svc-postgres", name: "postgres", instanceId: "" }, "dep-x", 10, "CRASHED"));
    expect(stranger).toMatchObject({ status: 202, body: { outcome: "ignored", reason: "unknown_service", instanceId: null } });
    const mine = event("Deployment.crashed", svc, "dep-1", 10, "CRASHED");
    const otherEnv = { ...mine, resource: { ...mine.resource, environment: { ...mine.resource.environment, id: "another-environment" } } };
    expect((await deliver(otherEnv)).body).toMatchObject({ outcome: "ignored", reason: "foreign", message: /another Railway environment/ });
    const alert = { type: "VolumeAlert.triggered", resource: { service: { id: svc.id } }, severity: "WARNING", timestamp: at(11) };
    expect(await deliver(alert)).toMatchObject({ status: 202, body: { outcome: "ignored", reason: "not_deployment" } });
    expect(await snapshot()).toBe(before);
  });

  it("a failure inside the route is a plain 500 and its log line leaves the secret out of the path", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const broken = { ...hookEnv, DB: undefined } as unknown as Env;
      const res = await deliver(legacy("CRASHED", { id: "s", name: "n", instanceId: "" }, "d", 1), { env: broken });
      expect(res.status).toBe(500);
      expect(JSON.stringify(res.body)).not.toContain(SECRET);
      const lines = spy.mock.calls.map((args) => args.join(" "));
      expect(lines.some((l) => l.includes("/api/webhooks/railway/[redacted]"))).toBe(true);
      expect(lines.join("\n")).not.toContain(SECRET);
    } finally {
      spy.mockRestore();
    }
  });

  it("deliveries are rate-limited per client address before the secret is looked at", async () => {
    const now = Date.now();
    await env.DB.prepare("INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, ?)")
      .bind("webhook:railway:203.0.113.9", now - (now % WEBHOOK_WINDOW_MS), WEBHOOK_CLIENT_LIMIT)
      .run();
    const limited = await deliver({}, { headers: { "cf-connecting-ip": "203.0.113.9" } });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("rate_limited");
    // Another address is not affected.
    expect((await deliver({}, { headers: { "cf-connecting-ip": "203.0.113.10" } })).status).toBe(400);
  });

  it("is in the OpenAPI document with both payload shapes and no pool-key security", async () => {
    const doc = (await json(api("/api/openapi.json", { auth: false }))).body;
    const op = doc.paths["/api/webhooks/railway/{secret}"].post;
    expect(op.security).toBeUndefined();
    expect(op.parameters).toEqual([{ name: "secret", in: "path", required: true, schema: { type: "string" } }]);
    const shapes = op.requestBody.content["application/json"].schema.anyOf;
    expect(shapes).toHaveLength(2);
    expect(shapes[0].properties.type).toMatchObject({ const: "DEPLOY" });
    expect(Object.keys(shapes[1].properties)).toEqual(expect.arrayContaining(["type", "details", "resource", "timestamp"]));
  });

  it("every event is counted in /metrics by type and result", async () => {
    const { svcs } = await railwayPool(1);
    const a = svcs[0]!;
    await deliver(event("Deployment.crashed", a, "dep-1", 10, "CRASHED"));
    await deliver(event("Deployment.crashed", a, "dep-1", 10, "CRASHED"));
    await deliver(legacy("SUCCESS", { id: "svc-other", name: "postgres", instanceId: "" }, "dep-x", 10));
    await deliver({ type: "VolumeAlert.triggered", resource: {}, timestamp: at(12) });
    const metrics = await (await api("/metrics")).text();
    expect(metrics).toContain('pool_webhook_events_total{type="Deployment.crashed",result="applied"} 1');
    expect(metrics).toContain('pool_webhook_events_total{type="Deployment.crashed",result="duplicate"} 1');
    expect(metrics).toContain('pool_webhook_events_total{type="DEPLOY",result="unknown_service"} 1');
    expect(metrics).toContain('pool_webhook_events_total{type="VolumeAlert.triggered",result="not_deployment"} 1');
  });
});
