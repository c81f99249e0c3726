import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, coordinatorStub, counts, fillPool, json, setFaults, supervisorControl, supervisorState, tick } from "../helpers";
import { checkInvariants, expireAllDeadlines, rowsIn, sleep, until, useInstanceClient } from "./support";

/** Instances that hang, talk nonsense, take too long or are not what we recorded. */

const detail = async (id: string) => (await json(api(`/api/pool/instances/${id}`))).body;
const serviceOf = async (instanceId: string) => (await supervisorState()).services.find((s) => s.instanceId === instanceId);

describe("health checks that hang or answer garbage", () => {
  it("a hanging health endpoint is cut by the pool's own timeout (5 s), the tick finishes and the instance is not made ready", { timeout: 30_000 }, async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 2 } });
    await tick();
    expect((await counts()).starting).toBe(2);
    await setFaults({ healthHang: true });
    const started = Date.now();
    await tick();
    const took = Date.now() - started;
    // Both checks run side by side and are cut at 5 s: not forever, not 10 s one after the other.
    expect(took).toBeGreaterThanOrEqual(4_500);
    expect(took).toBeLessThan(9_000);
    expect((await counts()).starting).toBe(2);
    expect((await coordinatorStub().status()).lastTick!.healthChecks).toBe(2);
    await setFaults({});
    await tick();
    expect((await counts()).idle).toBe(2);
    await checkInvariants();
  });

  it("garbage health answers never make an instance ready; past its deadline it is destroyed and replaced", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 1 } });
    await setFaults({ healthGarbage: true });
    await tick();
    await tick();
    await tick();
    const [stuck] = await rowsIn("starting");
    expect(stuck).toBeDefined();
    expect((await counts()).idle).toBe(0);
    await expireAllDeadlines();
    await setFaults({});
    await tick();
    const gone = await detail(stuck!.id);
    expect(gone.status).toBe("deleted");
    expect(gone.events.find((e: { to: string }) => e.to === "dead").reason).toMatch(/deadline/);
    expect(await serviceOf(stuck!.id)).toBeUndefined();
    await tick();
    expect((await counts()).idle).toBe(1);
    await checkInvariants();
  });
});

describe("provisioning that takes too long", () => {
  it("a claim deadline passing while this coordinator is still provisioning does not take the agent from its user", async () => {
    await fillPool(1);
    await setFaults({ provisionDelayMs: 400 });
    const claim = json(api("/api/pool/claim", { method: "POST", json: { agentName: "Patient" } }));
    await until("reserved", async () => (await rowsIn("claiming")).length === 1);
    await expireAllDeadlines();
    await tick();
    const res = await claim;
    expect(res.status).toBe(200);
    expect((await detail(res.body.instanceId)).status).toBe("claimed");
    await checkInvariants();
  });

  it("a provision that times out leaves the instance reserved, and the next claim gets a clean instance, not one bound behind our back", async () => {
    await fillPool(2);
    // A short wait so the test is quick; production waits 75 s (provisionTimeoutMs).
    await useInstanceClient({ provisionTimeoutMs: 300 });
    await setFaults({ provisionDelayMs: 700 });
    const slow = await json(api("/api/pool/claim", { method: "POST", json: { agentName: "Slow" } }));
    expect(slow.status).toBe(502);
    expect(slow.body.error.message).toMatch(/too long/);
    const first = slow.body.error.details.instanceId as string;
    expect((await detail(first)).status).toBe("claiming");

    await setFaults({});
    const next = await json(api("/api/pool/claim", { method: "POST", json: { agentName: "Next" } }));
    expect(next.status).toBe(200);
    expect(next.body.instanceId).not.toBe(first);

    // The slow provision lands after all: the instance is bound to a conversation nobody was told about.
    await until("the late provision lands", async () => Boolean((await serviceOf(first))?.conversationId));
    await expireAllDeadlines();
    await tick();
    const stranded = await detail(first);
    expect(stranded.status).toBe("crashed");
    expect(stranded.events.at(-1).reason).toMatch(/instance bound/);
    await checkInvariants();
  });

  it("a timed-out provision that never landed returns the instance to the pool at its deadline", async () => {
    await fillPool(1);
    await useInstanceClient({ provisionTimeoutMs: 200 });
    await setFaults({ provisionDelayMs: 400, provisionStatus: 503 });
    const slow = await json(api("/api/pool/claim", { method: "POST", json: {} }));
    expect(slow.status).toBe(502);
    await sleep(450);
    await setFaults({});
    await expireAllDeadlines();
    await tick();
    expect((await counts()).idle).toBe(1);
    expect((await json(api("/api/pool/claim", { method: "POST", json: {} }))).status).toBe(200);
    await checkInvariants();
  });
});

describe("tainted instances", () => {
  it("an idle instance that is bound to a conversation we never recorded is taken out of the pool and replaced, never handed out", async () => {
    await fillPool(2);
    const [tainted, clean] = await rowsIn("idle");
    await supervisorControl(`/services/${(await serviceOf(tainted!.id))!.id}/bind`, { conversationId: "conv-not-ours" });
    // Its slower idle re-check is due.
    await env.DB.prepare("UPDATE instances SET last_health_at = 0 WHERE id = ?").bind(tainted!.id).run();
    await tick();
    const gone = await detail(tainted!.id);
    expect(gone.status).toBe("deleted");
    expect(gone.events.find((e: { to: string }) => e.to === "dead").reason).toMatch(/tainted/);
    expect(await serviceOf(tainted!.id)).toBeUndefined();
    const claim = await json(api("/api/pool/claim", { method: "POST", json: {} }));
    expect(claim.status).toBe(200);
    expect(claim.body.instanceId).toBe(clean!.id);
    await tick();
    await tick();
    expect((await counts()).idle).toBe(2);
    await checkInvariants();
  });

  it("a starting instance that comes up already bound is never made ready", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 1 } });
    await tick();
    const [starting] = await rowsIn("starting");
    await supervisorControl(`/services/${(await serviceOf(starting!.id))!.id}/bind`, { conversationId: "conv-preloaded" });
    await tick();
    expect((await detail(starting!.id)).status).toBe("deleted");
    expect((await counts()).idle).toBe(0);
    await checkInvariants();
  });
});
