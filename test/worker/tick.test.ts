import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, coordinatorStub, counts, fillPool, json, setFaults, supervisorControl, supervisorState, tick } from "./helpers";

const detail = async (id: string) => (await json(api(`/api/pool/instances/${id}`))).body;
const idsIn = async (status: string) => ((await json(api(`/api/pool/agents?status=${status}`))).body.agents as { id: string }[]).map((a) => a.id);
const serviceOf = async (instanceId: string) => (await supervisorState()).services.find((s) => s.instanceId === instanceId);
/** Time passes for one instance: its deadline is now behind us. */
const expireDeadline = (id: string) => env.DB.prepare("UPDATE instances SET deadline_at = 1 WHERE id = ?").bind(id).run();

describe("the tick, driven by the Durable Object alarm", () => {
  it("is armed by first use and re-armed after every run", async () => {
    const stub = coordinatorStub();
    await api("/api/pool/reconcile", { method: "POST" });
    const armed = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(armed).toBeGreaterThan(Date.now());
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const rearmed = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(rearmed).toBeGreaterThan(Date.now() + 20_000);
  });

  it("replenishes to minIdle and moves starting instances to idle once healthy", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 3 } });
    await tick();
    expect(await counts()).toMatchObject({ starting: 3, idle: 0 });
    await tick();
    expect(await counts()).toMatchObject({ starting: 0, idle: 3 });
    await tick();
    expect((await counts()).idle).toBe(3); // nothing more once the target is met
  });

  it("counts instances on the way and never exceeds maxCreatesPerTick or maxTotal", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 6, maxTotal: 6, maxCreatesPerTick: 4 } });
    await setFaults({ stickInStarting: true });
    await tick();
    expect((await counts()).starting).toBe(4);
    await tick();
    expect((await counts()).starting).toBe(6);
    await tick();
    expect((await counts()).starting).toBe(6);
  });

  it("an instance stuck in starting past its deadline becomes dead and is destroyed", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 1 } });
    await setFaults({ stickInStarting: true });
    await tick();
    const [id] = await idsIn("starting");
    await expireDeadline(id!);
    await tick();
    const row = await detail(id!);
    expect(row.status).toBe("deleted");
    expect(row.events.map((e: { to: string }) => e.to)).toEqual(["creating", "starting", "dead", "deleting", "deleted"]);
    expect(row.events.find((e: { to: string }) => e.to === "dead").reason).toMatch(/deadline/);
    expect(await serviceOf(id!)).toBeUndefined();
  });

  it("a claimed instance whose service crashes is kept as crashed until dismissed", async () => {
    await fillPool(1);
    const claim = (await json(api("/api/pool/claim", { method: "POST", json: {} }))).body;
    const svc = await serviceOf(claim.instanceId);
    await supervisorControl(`/services/${svc!.id}/crash`);
    await tick();
    await tick();
    await tick();
    expect((await detail(claim.instanceId)).status).toBe("crashed");
    expect((await counts()).crashed).toBe(1);
    await api(`/api/pool/crashed/${claim.instanceId}`, { method: "DELETE" });
    await tick();
    expect((await detail(claim.instanceId)).status).toBe("deleted");
  });

  it("an idle instance whose service vanished is dead and replaced", async () => {
    await fillPool(1);
    const [id] = await idsIn("idle");
    await supervisorControl(`/services/${(await serviceOf(id!))!.id}/vanish`);
    await tick();
    expect((await detail(id!)).status).toBe("deleted");
    await tick();
    expect((await counts()).idle).toBe(1);
  });

  it("deletes orphan services with the pool's prefix, and only those", async () => {
    await supervisorControl("/orphans", { name: `${env.SERVICE_PREFIX}-ileftbehind01` });
    await supervisorControl("/orphans", { name: "someone-elses-service" });
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0 } });
    await tick();
    const names = (await supervisorState()).services.map((s) => s.name);
    expect(names).toEqual(["someone-elses-service"]);
    expect((await json(api("/api/pool/info", { auth: false }))).body.lastTick.orphansDeleted).toBe(1);
  });

  it("adopts a service created by a create that died before recording it", async () => {
    const now = Date.now();
    await env.DB.prepare("INSERT INTO instances (id, status, status_changed_at, created_at, provider, service_name, deadline_at) VALUES ('iadopted0001', 'creating', ?, ?, 'local', ?, ?)")
      .bind(now, now, `${env.SERVICE_PREFIX}-iadopted0001`, now + 600_000)
      .run();
    await supervisorControl("/orphans", { name: `${env.SERVICE_PREFIX}-iadopted0001` });
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0 } });
    await tick();
    const row = await detail("iadopted0001");
    expect(row.status).not.toBe("creating");
    expect(row.serviceId).toMatch(/^sim-/);
    expect((await supervisorState()).services).toHaveLength(1);
  });

  it("a create that died with a previous coordinator is given up after a grace period, not after the stuck timeout", async () => {
    const now = Date.now();
    const insert = (id: string, createdAt: number) =>
      env.DB.prepare("INSERT INTO instances (id, status, status_changed_at, created_at, provider, service_name, deadline_at) VALUES (?, 'creating', ?, ?, 'local', ?, ?)")
        .bind(id, createdAt, createdAt, `${env.SERVICE_PREFIX}-${id}`, now + 600_000)
        .run();
    await insert("iinterrupted1", now - 120_000);
    await insert("ijustcreated1", now);
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0 } });
    await tick();
    const lost = await detail("iinterrupted1");
    expect(lost.status).toBe("deleted");
    expect(lost.events.find((e: { to: string }) => e.to === "dead").reason).toMatch(/create interrupted/);
    expect((await detail("ijustcreated1")).status).toBe("creating");
  });

  it("idle instances failing their slower health re-check are given up after three failures", async () => {
    await fillPool(1);
    const [id] = await idsIn("idle");
    await setFaults({ healthGarbage: true });
    for (let i = 0; i < 3; i++) {
      await env.DB.prepare("UPDATE instances SET last_health_at = 0 WHERE id = ?").bind(id!).run();
      await tick();
    }
    const row = await detail(id!);
    expect(row.status).toBe("deleted");
    expect(row.events.find((e: { to: string }) => e.to === "dead").reason).toMatch(/health failed 3 times/);
  });
});

describe("half-done claims", () => {
  async function strandClaim(bound: boolean) {
    await fillPool(1);
    const [id] = await idsIn("idle");
    // What a coordinator restart mid-claim leaves behind: reserved, never finished.
    await env.DB.prepare("UPDATE instances SET status = 'claiming', status_reason = 'reserved', status_actor = 'api', claim_id = 'lost', deadline_at = 1 WHERE id = ?").bind(id!).run();
    if (bound) await supervisorControl(`/services/${(await serviceOf(id!))!.id}/bind`, { conversationId: "conv-orphaned" });
    await tick();
    return detail(id!);
  }

  it("a clean instance goes back to idle", async () => {
    const row = await strandClaim(false);
    expect(row.status).toBe("idle");
    expect(row.events.at(-1).reason).toMatch(/claim deadline passed, instance clean/);
  });

  it("an instance that got bound is crashed", async () => {
    const row = await strandClaim(true);
    expect(row.status).toBe("crashed");
  });
});

describe("circuit breaker", () => {
  it("opens after consecutive create failures, shows why, and closes after a successful probe", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 3, maxCreatesPerTick: 3, breakerThreshold: 3, breakerBackoffMs: 1_000 } });
    await setFaults({ failCreates: 100 });
    await tick();
    let info = (await json(api("/api/pool/info", { auth: false }))).body;
    expect(info.breaker).toMatchObject({ phase: "open", consecutiveFailures: 3 });
    expect(info.breaker.lastError).toMatch(/create answered 500/);
    expect((await json(api("/api/pool/counts", { auth: false }))).body.breaker).toBe("open");
    const callsBefore = (await supervisorState()).calls.create;
    await tick();
    expect((await supervisorState()).calls.create).toBe(callsBefore); // open: no create attempted

    await setFaults({});
    await new Promise((r) => setTimeout(r, 1_100));
    await tick(); // half-open: one probe, which succeeds
    info = (await json(api("/api/pool/info", { auth: false }))).body;
    expect(info.breaker.phase).toBe("closed");
    await tick();
    await tick();
    expect((await counts()).idle).toBe(3);
    const metrics = await (await api("/metrics")).text();
    expect(metrics).toContain('pool_instance_creates_total{result="failed"} 3');
  });
});

describe("one tick at a time", () => {
  it("concurrent reconciles share one run", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 2 } });
    const [a, b] = await Promise.all([json(api("/api/pool/reconcile", { method: "POST" })), json(api("/api/pool/reconcile", { method: "POST" }))]);
    expect(a.body.startedAt).toBe(b.body.startedAt);
    expect((await counts()).starting).toBe(2);
  });

  it("a provider outage during observation skips provider-based verdicts instead of killing instances", async () => {
    await fillPool(2);
    await setFaults({ listFails: true });
    await tick();
    expect((await counts()).idle).toBe(2);
    expect((await json(api("/api/pool/info", { auth: false }))).body.lastTick.listError).toMatch(/503/);
  });
});
