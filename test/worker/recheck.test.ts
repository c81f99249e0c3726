import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CheckReportSchema } from "../../worker/api/schemas";
import { ErrorBodySchema } from "../../worker/http/errors";
import { login, text as textOf } from "./admin/helpers";
import { api, fillPool, json, setFaults, supervisorControl, supervisorState, tick } from "./helpers";
import { checkInvariants } from "./reliability/support";

/** Issue 15 §4: the tick's checks for one instance, on an operator's request, answering what they found. */
const recheck = (id: string) => json(api(`/api/pool/instances/${id}/recheck`, { method: "POST" }));
const detail = async (id: string) => (await json(api(`/api/pool/instances/${id}`))).body;
const idsIn = async (status: string) => ((await json(api(`/api/pool/agents?status=${status}`))).body.agents as { id: string }[]).map((a) => a.id);
const serviceOf = async (instanceId: string) => (await supervisorState()).services.find((s) => s.instanceId === instanceId)!;
const toDead = (events: { to: string; actor?: string }[]) => events.filter((e) => e.to === "dead" || e.to === "crashed");

describe("POST /api/pool/instances/:id/recheck", () => {
  it("a healthy idle instance: the host's status and the health answer are reported, its check recorded, no change of state", async () => {
    await fillPool(1);
    const [id] = await idsIn("idle");
    await env.DB.prepare("UPDATE instances SET last_health_at = 1, health_failures = 2 WHERE id = ?").bind(id).run();
    const res = await recheck(id!);
    expect(res.status).toBe(200);
    const report = CheckReportSchema.parse(res.body);
    expect(report).toMatchObject({ id, actor: "recheck", before: "idle", after: "idle", outcome: "updated", transition: null });
    expect(report.host).toMatchObject({ source: "list", listed: true, found: true, state: "running", error: null });
    expect(report.health).toEqual({ ok: true, reason: null, verdict: "healthy" });
    expect(report.reasons).toContain("healthy");
    // The check counts as the idle re-check: its failures are cleared, as a tick's would be.
    const row = await env.DB.prepare("SELECT last_health_at, health_failures FROM instances WHERE id = ?").bind(id).first<{ last_health_at: number; health_failures: number }>();
    expect(row!.health_failures).toBe(0);
    expect(row!.last_health_at).toBeGreaterThan(1);
  });

  it("an idle instance whose service crashed is dead at once, with the host's word as the reason, without waiting for a tick", async () => {
    await fillPool(2);
    const [id] = await idsIn("idle");
    await supervisorControl(`/services/${(await serviceOf(id!)).id}/crash`);
    const res = await recheck(id!);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ before: "idle", after: "dead", outcome: "transitioned", transition: { from: "idle", to: "dead" }, health: null });
    expect(res.body.host).toMatchObject({ found: true, state: "failed" });
    expect(res.body.transition.reason).toMatch(/^deployment /);
    const events = (await detail(id!)).events;
    expect(events.at(-1)).toMatchObject({ from: "idle", to: "dead", actor: "recheck" });
    // Asked again, nothing more happens: a dead instance is the tick's cleanup to finish.
    const again = await recheck(id!);
    expect(again.body).toMatchObject({ before: "dead", after: "dead", outcome: "no_change", transition: null });
    expect(toDead((await detail(id!)).events)).toHaveLength(1);
    await tick();
    expect((await detail(id!)).status).toBe("deleted");
    await checkInvariants();
  });

  it("a claimed instance is asked now (not on its 2-minute cadence): a lost conversation is crashed, a stream down is degraded", async () => {
    await fillPool(2);
    const a = (await json(api("/api/pool/claim", { method: "POST", json: {} }))).body.instanceId as string;
    const b = (await json(api("/api/pool/claim", { method: "POST", json: {} }))).body.instanceId as string;
    await supervisorControl(`/services/${(await serviceOf(a)).id}/stream`, { up: false });
    await supervisorControl(`/services/${(await serviceOf(b)).id}/restart`, { keepVolume: false });

    const degraded = await recheck(a);
    expect(degraded.body).toMatchObject({ before: "claimed", after: "claimed", outcome: "updated", health: { ok: true, verdict: "degraded" }, transition: null });
    expect(degraded.body.reasons).toContain("conversation stream down");
    expect((await detail(a)).degraded).toMatchObject({ reason: "conversation stream down" });

    // Restarted without its volume: it first boots (not answering → degraded), then comes back blank.
    let lost = await recheck(b);
    for (let i = 0; i < 20 && lost.body.after === "claimed"; i++) lost = await recheck(b);
    expect(lost.body).toMatchObject({ before: "claimed", after: "crashed", outcome: "transitioned", health: { verdict: "crash" } });
    expect(lost.body.transition.reason).toMatch(/lost its conversation/);
    expect((await detail(b)).events.at(-1)).toMatchObject({ to: "crashed", actor: "recheck" });
    // Checks never provision: the only provisions are the two claims.
    expect((await supervisorState()).calls.provision).toBe(2);
  });

  it("a starting instance that is ready becomes idle on the spot", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 1 } });
    await tick();
    const [id] = await idsIn("starting");
    const res = await recheck(id!);
    expect(res.body).toMatchObject({ before: "starting", after: "idle", outcome: "transitioned", transition: { from: "starting", to: "idle", reason: "health check ready" } });
  });

  it("when the host cannot be listed it says so and still asks the instance, concluding nothing from the missing list", async () => {
    await fillPool(1);
    const [id] = await idsIn("idle");
    await setFaults({ listFails: true });
    const res = await recheck(id!);
    expect(res.status).toBe(200);
    expect(res.body.host).toMatchObject({ source: "none", listed: false, found: false });
    expect(res.body.host.error).toBeTruthy();
    expect(res.body).toMatchObject({ after: "idle", health: { ok: true, verdict: "healthy" } });
  });

  it("an unknown id is a 404 and a malformed one a 400, in the error shape; a body with fields is refused", async () => {
    const unknown = await recheck("inope");
    expect(unknown.status).toBe(404);
    expect(ErrorBodySchema.parse(unknown.body).error).toMatchObject({ code: "not_found", message: "instance inope does not exist" });
    const bad = await recheck("NOT_AN_ID");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_id");
    await fillPool(1);
    const [id] = await idsIn("idle");
    const extra = await json(api(`/api/pool/instances/${id}/recheck`, { method: "POST", json: { force: true } }));
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toMatch(/force/);
  });

  it("a recheck racing the tick on a crashed service moves the instance once", async () => {
    await fillPool(3);
    const ids = await idsIn("idle");
    for (const id of ids) await supervisorControl(`/services/${(await serviceOf(id)).id}/crash`);
    const results = await Promise.all([...ids.map((id) => recheck(id)), tick().then(() => null)]);
    for (const id of ids) expect(toDead((await detail(id)).events), id).toHaveLength(1);
    const byRecheck = results.filter((r) => r?.body.transition).length;
    const byTick = (await Promise.all(ids.map(detail))).filter((d) => toDead(d.events)[0]?.actor === "tick").length;
    expect(byRecheck + byTick).toBe(ids.length);
    // The rechecks that lost the race say why nothing happened.
    for (const r of results) if (r && !r.body.transition) expect(r.body.outcome).toBe("no_change");
  });

  it("is in the OpenAPI document, behind the pool key, with its answer's schema", async () => {
    const doc = (await json(api("/api/openapi.json", { auth: false }))).body;
    const op = doc.paths["/api/pool/instances/{id}/recheck"].post;
    expect(op.security).toEqual([{ poolKey: [] }]);
    expect(Object.keys(op.responses["200"].content["application/json"].schema.properties)).toEqual(expect.arrayContaining(["before", "after", "host", "health", "outcome", "transition", "reasons"]));
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["401", "404"]));
  });

  it("is counted in /metrics by outcome", async () => {
    await fillPool(1);
    const [id] = await idsIn("idle");
    await recheck(id!);
    await recheck("inope");
    const metrics = await (await api("/metrics")).text();
    expect(metrics).toContain('pool_rechecks_total{outcome="updated"} 1');
    expect(metrics).not.toMatch(/pool_rechecks_total\{outcome="no_change"\}/);
  });
});

describe("the dashboard's Recheck button", () => {
  it("runs the checks from the instance page and shows what they found; it carries the session's CSRF token", async () => {
    await fillPool(2);
    const [id] = await idsIn("idle");
    const op = await login();
    const page = await op.get(`/admin/instances/${id}`);
    const form = /<form[^>]*action="\/admin\/instances\/[^"]+\/recheck"[\s\S]*?<\/form>/.exec(page.html)?.[0];
    expect(form).toBeTruthy();
    expect(form).toContain(`value="${op.csrf}"`);

    await supervisorControl(`/services/${(await serviceOf(id!)).id}/crash`);
    const posted = await op.post(`/admin/instances/${id}/recheck`);
    expect(posted.status).toBe(303);
    expect(posted.res.headers.get("location")).toBe(`/admin/instances/${id}`);
    const after = textOf((await op.get(`/admin/instances/${id}`)).html);
    expect(after).toMatch(/Recheck: ready → dead/);
    expect(after).toMatch(/deployment /);
    expect((await detail(id!)).status).toBe("dead");

    const missing = await op.post("/admin/instances/inope/recheck");
    expect(missing.status).toBe(404);
  });
});
