import { describe, expect, it } from "vitest";
import { type DeploymentEvent, foreignEvent, normalizeEvent, orderEvent, type ServiceEventMemory } from "../../worker/domain/deployment-events";
import { type CheckedRow, hostVerdict, IDLE_HEALTH_FAILURES, probeVerdict } from "../../worker/domain/instance-check";
import { railwayState } from "../../worker/providers/compute/railway";
import { LegacyRailwayEventSchema, RailwayEventSchema, railwayEventSchema } from "../../worker/providers/railway/webhook";

/** Issue 15 §3–4 as plain decisions: what an event says, whether it may be applied, and what the tick's checks conclude. */

const T = Date.parse("2026-01-01T00:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

function current(type: string, extra: { status?: string; deployment?: string; at?: number; env?: string } = {}) {
  return RailwayEventSchema.parse({
    type,
    details: extra.status ? { id: extra.deployment ?? "d1", status: extra.status } : { id: extra.deployment ?? "d1" },
    resource: { project: { id: "p" }, environment: { id: extra.env ?? "e" }, service: { id: "s1", name: "convos-agent-iabc" }, deployment: { id: extra.deployment ?? "d1" } },
    timestamp: iso(extra.at ?? T),
  });
}

const ev = (status: string, at: number, deploymentId: string | null = "d1"): DeploymentEvent => ({
  type: "DEPLOY",
  status,
  serviceId: "s1",
  serviceName: "convos-agent-iabc",
  deploymentId,
  projectId: null,
  environmentId: null,
  at,
});

describe("Railway's two webhook shapes → one deployment event", () => {
  it("the legacy DEPLOY shape carries its status beside the service and the deployment", () => {
    const body = LegacyRailwayEventSchema.parse({
      type: "DEPLOY",
      status: "crashed",
      timestamp: iso(T),
      service: { id: "s1", name: "convos-agent-iabc" },
      deployment: { id: "d1", creator: { id: "u" }, meta: {} },
      environment: { id: "e", name: "production" },
    });
    expect(normalizeEvent(body)).toEqual({
      ok: true,
      event: { type: "DEPLOY", status: "CRASHED", serviceId: "s1", serviceName: "convos-agent-iabc", deploymentId: "d1", projectId: null, environmentId: "e", at: T },
    });
  });

  it("the current shape's type names the status, and wins over details.status (Railway's own example pairs Deployment.failed with SUCCESS)", () => {
    const cases: [string, string | undefined, string][] = [
      ["Deployment.crashed", undefined, "CRASHED"],
      ["Deployment.failed", "SUCCESS", "FAILED"],
      ["Deployment.removed", undefined, "REMOVED"],
      ["Deployment.slept", undefined, "SLEEPING"],
      ["Deployment.resumed", "SLEEPING", "SUCCESS"],
      ["Deployment.deployed", undefined, "SUCCESS"],
      ["Deployment.building", undefined, "BUILDING"],
      // A name the pool does not know: details.status says what happened.
      ["Deployment.statusChanged", "crashed", "CRASHED"],
    ];
    for (const [type, status, expected] of cases) {
      const out = normalizeEvent(current(type, { status }));
      expect(out.ok && out.event.status, type).toBe(expected);
    }
    const out = normalizeEvent(current("Deployment.crashed"));
    expect(out.ok && out.event).toMatchObject({ serviceId: "s1", deploymentId: "d1", projectId: "p", environmentId: "e", at: T });
  });

  it("events that are not about a deployment, or say nothing the pool can use, are ignored with the reason", () => {
    expect(normalizeEvent(current("VolumeAlert.triggered"))).toEqual({ ok: false, ignored: "VolumeAlert.triggered is not a deployment event" });
    expect(normalizeEvent(current("Deployment.statusChanged"))).toMatchObject({ ok: false, ignored: expect.stringMatching(/no deployment status/) });
    const noService = RailwayEventSchema.parse({ type: "Deployment.crashed", resource: {}, timestamp: iso(T) });
    expect(normalizeEvent(noService)).toMatchObject({ ok: false, ignored: expect.stringMatching(/names no service/) });
  });

  it("the body picks its schema by type", () => {
    expect(railwayEventSchema({ type: "DEPLOY" })).toBe(LegacyRailwayEventSchema);
    expect(railwayEventSchema({ type: "Deployment.crashed" })).toBe(RailwayEventSchema);
    expect(railwayEventSchema("DEPLOY")).toBe(RailwayEventSchema);
  });

  it("an event of another project or environment is not this pool's", () => {
    const e = { ...ev("CRASHED", T), projectId: "p", environmentId: "e" };
    expect(foreignEvent(e, { projectId: "p", environmentId: "e" })).toBeNull();
    expect(foreignEvent(e, { projectId: "p", environmentId: "other" })).toMatch(/another Railway environment/);
    expect(foreignEvent(e, { projectId: "other", environmentId: "e" })).toMatch(/another Railway project/);
    // Unset on either side: nothing to compare, the service lookup decides.
    expect(foreignEvent(e, {})).toBeNull();
    expect(foreignEvent({ ...e, environmentId: null }, { environmentId: "other" })).toBeNull();
  });
});

describe("event order: replays and late events change nothing", () => {
  const applied = (e: DeploymentEvent, m?: ServiceEventMemory) => {
    const o = orderEvent(e, m);
    if (!o.apply) throw new Error(`expected ${e.status}@${e.at} to apply, got ${o.reason}`);
    return o.remember;
  };

  it("the first event applies and is remembered with its deployment", () => {
    expect(applied(ev("SUCCESS", T))).toEqual({ at: T, status: "SUCCESS", deploymentId: "d1", deployments: ["d1"] });
  });

  it("the same event again is a duplicate; an older one is out of order; a newer one applies", () => {
    const m = applied(ev("SUCCESS", T + 10));
    expect(orderEvent(ev("SUCCESS", T + 10), m)).toMatchObject({ apply: false, reason: "duplicate" });
    expect(orderEvent(ev("CRASHED", T + 9), m)).toMatchObject({ apply: false, reason: "out_of_order" });
    // The same instant with another status is another event (Railway's timestamps are per event).
    expect(orderEvent(ev("CRASHED", T + 10), m)).toMatchObject({ apply: true });
    expect(orderEvent(ev("CRASHED", T + 11), m)).toMatchObject({ apply: true, remember: { at: T + 11, status: "CRASHED" } });
  });

  it("after a redeploy, events of the previous deployment are superseded, whatever their timestamp", () => {
    let m = applied(ev("SUCCESS", T, "d1"));
    m = applied(ev("DEPLOYING", T + 10, "d2"), m);
    expect(m.deployments).toEqual(["d1", "d2"]);
    m = applied(ev("SUCCESS", T + 20, "d2"), m);
    for (const status of ["REMOVING", "REMOVED", "CRASHED", "SUCCESS"]) expect(orderEvent(ev(status, T + 30, "d1"), m), status).toMatchObject({ apply: false, reason: "superseded" });
    // The live deployment's crash still applies.
    expect(orderEvent(ev("CRASHED", T + 30, "d2"), m)).toMatchObject({ apply: true });
  });

  it("a removal never starts a deployment: one of a deployment the pool has not seen is not applied", () => {
    expect(orderEvent(ev("REMOVED", T, "d9"), undefined)).toMatchObject({ apply: false, reason: "superseded", message: expect.stringMatching(/no deployment of this service was seen yet/) });
    const m = applied(ev("SUCCESS", T, "d1"));
    expect(orderEvent(ev("REMOVED", T + 1, "d9"), m)).toMatchObject({ apply: false, reason: "superseded" });
    expect(orderEvent(ev("REMOVED", T + 1, "d1"), m)).toMatchObject({ apply: true });
    // Without a deployment id there is nothing to compare: the event is taken as the service's.
    expect(orderEvent(ev("REMOVED", T + 1, null), m)).toMatchObject({ apply: true, remember: { deployments: ["d1"] } });
  });

  it("remembers a bounded number of deployments", () => {
    let m: ServiceEventMemory | undefined;
    for (let i = 0; i < 20; i++) m = applied(ev("SUCCESS", T + i, `d${i}`), m);
    expect(m!.deployments).toHaveLength(8);
    expect(m!.deployments.at(-1)).toBe("d19");
  });
});

describe("an event as the tick's observation: the same transitions the tick makes", () => {
  const row = (status: string, extra: Partial<CheckedRow> = {}): CheckedRow => ({
    status,
    serviceId: "s1",
    url: "https://x.up.railway.app",
    deadlineAt: null,
    createdAt: T,
    lastHealthAt: T,
    healthFailures: 0,
    claimedAt: T,
    degradedSince: null,
    conversationId: "c1",
    claimStatus: "created",
    ...extra,
  });
  const seen = (status: string) => ({ listed: true, service: { state: railwayState(status), rawStatus: status } });

  it("crashed, failed and removed are deaths: dead when unclaimed, crashed (for the operator) when a user has it", () => {
    for (const status of ["CRASHED", "FAILED", "REMOVED", "REMOVING"]) {
      for (const s of ["starting", "idle", "claimed"]) expect(hostVerdict(row(s), seen(status), T + 1), `${s} ${status}`).toEqual({ action: "fail", reason: `deployment ${status}` });
      expect(hostVerdict(row("claiming"), seen(status), T + 1)).toEqual({ action: "fail", reason: `deployment ${status} during claim` });
    }
  });

  it("an idle instance a claim holds (D1 not told yet) is the claim's to judge, whatever the host says", () => {
    for (const status of ["CRASHED", "FAILED", "REMOVED"]) {
      expect(hostVerdict(row("idle"), { ...seen(status), claimInFlight: true }, T + 1)).toEqual({ action: "none", reason: "a claim is provisioning it" });
    }
    expect(hostVerdict(row("idle"), { listed: true, service: undefined, claimInFlight: true }, T + 1)).toMatchObject({ action: "none" });
  });

  it("sleeping is never a death: a claimed one is left asleep, an idle one waits for its cadence", () => {
    expect(hostVerdict(row("claimed"), seen("SLEEPING"), T + 1)).toMatchObject({ action: "none", reason: expect.stringMatching(/sleeping/) });
    expect(hostVerdict(row("idle"), seen("SLEEPING"), T + 1)).toEqual({ action: "probe", kind: "idle", due: false });
    expect(hostVerdict(row("starting"), seen("SLEEPING"), T + 1)).toEqual({ action: "probe", kind: "starting", due: true });
  });

  it("success or a redeploy in progress kills nothing; a starting instance is asked for readiness", () => {
    expect(hostVerdict(row("starting"), seen("SUCCESS"), T + 1)).toEqual({ action: "probe", kind: "starting", due: true });
    expect(hostVerdict(row("starting"), seen("BUILDING"), T + 1)).toMatchObject({ action: "none" });
    expect(hostVerdict(row("idle"), seen("DEPLOYING"), T + 1)).toMatchObject({ action: "probe", kind: "idle" });
    expect(hostVerdict(row("claimed"), seen("SUCCESS"), T + 1)).toEqual({ action: "probe", kind: "claimed", due: false });
    // An unknown future status word reads as deploying, never as a death.
    expect(hostVerdict(row("claimed"), seen("EXPLODED_GENTLY"), T + 1).action).not.toBe("fail");
  });

  it("instances the tick leaves alone are left alone by an event too", () => {
    for (const s of ["crashed", "dead", "deleting", "deleted"]) expect(hostVerdict(row(s), seen("CRASHED"), T + 1).action, s).toBe("none");
    expect(hostVerdict(row("claiming"), { ...seen("CRASHED"), claimInFlight: true }, T + 1).action).toBe("none");
    expect(hostVerdict(row("creating", { serviceId: null }), { ...seen("CRASHED"), createInFlight: true }, T + 1).action).toBe("none");
  });

  it("a health answer: ready, healthy, counted failures, then given up; bound while unclaimed is tainted", () => {
    const ok = { ok: true as const, health: { bound: false, version: "1.2.3" } };
    const down = { ok: false as const, reason: "timed out" };
    expect(probeVerdict(row("starting"), ok)).toEqual({ action: "ready", version: "1.2.3", capabilities: null });
    // What the instance says it can do is kept with its readiness (the catalog's tags come from it).
    const reporting = { ok: true as const, health: { bound: false, version: "1.2.3", capabilities: ["files", "scheduling"] } };
    expect(probeVerdict(row("starting"), reporting)).toEqual({ action: "ready", version: "1.2.3", capabilities: ["files", "scheduling"] });
    expect(probeVerdict(row("starting"), down)).toEqual({ action: "not_ready", reason: "timed out" });
    expect(probeVerdict(row("idle"), ok)).toEqual({ action: "healthy" });
    expect(probeVerdict(row("idle", { healthFailures: 0 }), down)).toEqual({ action: "unhealthy", failures: 1, reason: "timed out" });
    expect(probeVerdict(row("idle", { healthFailures: IDLE_HEALTH_FAILURES - 1 }), down)).toMatchObject({ action: "fail" });
    expect(probeVerdict(row("idle"), { ok: true, health: { bound: true } })).toEqual({ action: "fail", reason: "tainted: bound to a conversation while unclaimed" });
  });
});
