import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_CLAIMED_CHECKS_PER_TICK } from "../../durable-objects/pool-coordinator/tick";
import { STREAM_DOWN_LIMIT_MS } from "../../worker/domain/claimed-health";
import { login } from "./admin/helpers";
import { api, coordinatorStub, fillPool, json, POOL_KEY, setFaults, supervisorControl, supervisorState, tick } from "./helpers";
import { checkInvariants } from "./reliability/support";

/** SPEC §2: the tick watches claimed agents, slowly and without touching them. */
const claim = (body: unknown = {}) => json(api("/api/pool/claim", { method: "POST", json: body }));
const detail = async (id: string) => (await json(api(`/api/pool/instances/${id}`))).body;
const serviceOf = async (instanceId: string) => {
  const svc = (await supervisorState()).services.find((s) => s.instanceId === instanceId)!;
  return { ...svc, gatewayToken: svc.gatewayToken! };
};
/** Time passes: every claimed instance's slow check is due. */
const checksDue = () => env.DB.prepare("UPDATE instances SET last_health_at = 0 WHERE status = 'claimed'").run();
const lastTick = async () => (await coordinatorStub().status()).lastTick!;

async function claimed(body: unknown = {}): Promise<{ id: string; svc: string; conversationId: string | null }> {
  const res = await claim(body);
  expect(res.status).toBe(200);
  return { id: res.body.instanceId, svc: (await serviceOf(res.body.instanceId)).id, conversationId: res.body.conversationId };
}

describe("claimed instances across ticks", () => {
  it("a stream that goes down shows as degraded in the API and the dashboard, recovers, and past the bound is crashed with the reason", async () => {
    await fillPool(2);
    const a = await claimed();
    const callsBefore = (await supervisorState()).calls.provision;

    await supervisorControl(`/services/${a.svc}/stream`, { up: false });
    await checksDue();
    await tick();
    const degraded = await detail(a.id);
    expect(degraded.status).toBe("claimed");
    expect(degraded.degraded).toMatchObject({ reason: "conversation stream down" });
    const op = await login();
    expect((await op.get(`/admin/instances/${a.id}`)).html).toContain("conversation stream down");
    expect((await op.get("/admin")).html).toMatch(new RegExp(`data-instance="${a.id}"[\\s\\S]*?data-degraded`));
    expect(await (await api("/metrics")).text()).toContain("pool_claimed_degraded 1");

    await supervisorControl(`/services/${a.svc}/stream`, { up: true });
    await checksDue();
    await tick();
    expect((await detail(a.id)).degraded).toBeNull();

    await supervisorControl(`/services/${a.svc}/stream`, { up: false });
    await checksDue();
    await tick();
    expect((await detail(a.id)).status).toBe("claimed");
    // The stream has now been down for longer than the bound.
    await env.DB.prepare("UPDATE instances SET degraded_since = ? WHERE id = ?")
      .bind(Date.now() - STREAM_DOWN_LIMIT_MS - 1, a.id)
      .run();
    await checksDue();
    await tick();
    const dead = await detail(a.id);
    expect(dead.status).toBe("crashed");
    expect(dead.degraded).toBeNull();
    expect(dead.events.at(-1)).toMatchObject({ from: "claimed", to: "crashed", actor: "tick" });
    expect(dead.events.at(-1).reason).toMatch(/degraded for more than 10 minutes: conversation stream down/);

    // Side-effect-free: no check ever provisioned anything.
    expect((await supervisorState()).calls.provision).toBe(callsBefore);
    const metrics = await (await api("/metrics")).text();
    expect(metrics).toContain('pool_claimed_checks_total{verdict="degraded"} 2');
    expect(metrics).toContain('pool_claimed_checks_total{verdict="crashed"} 1');
    await checkInvariants();
  });

  it("a restart with its volume is degraded while it boots, then healthy with the same conversation; without it, crashed: lost its conversation", async () => {
    await fillPool(3);
    const kept = await claimed();
    const blank = await claimed();
    await supervisorControl(`/services/${kept.svc}/fault`, { fault: "not_ready" });
    await supervisorControl(`/services/${blank.svc}/restart`, { keepVolume: false });
    await checksDue();
    await tick();
    expect((await detail(kept.id)).degraded?.reason).toMatch(/not answering/);
    const lost = await detail(blank.id);
    expect(lost.status).toBe("crashed");
    expect(lost.events.at(-1).reason).toMatch(/lost its conversation: the instance came back unbound/);

    await supervisorControl(`/services/${kept.svc}/restart`, { keepVolume: true });
    await checksDue();
    await tick();
    const back = await detail(kept.id);
    expect(back).toMatchObject({ status: "claimed", degraded: null, conversationId: kept.conversationId });
    await checkInvariants();
  });

  it("an instance bound to another conversation than the recorded one is crashed", async () => {
    await fillPool(1);
    const a = await claimed();
    await supervisorControl(`/services/${a.svc}/bind`, { conversationId: "conv-someone-else" });
    await checksDue();
    await tick();
    const row = await detail(a.id);
    expect(row.status).toBe("crashed");
    expect(row.events.at(-1).reason).toMatch(/bound to another conversation \(conv-someone-else\)/);
  });

  it(`checks at most ${MAX_CLAIMED_CHECKS_PER_TICK} claimed instances per tick and the rest on the next`, { timeout: 30_000 }, async () => {
    const n = MAX_CLAIMED_CHECKS_PER_TICK + 5;
    await fillPool(n);
    for (let i = 0; i < n; i++) await claimed();
    await checksDue();
    await tick();
    const first = (await lastTick()).claimedChecks;
    expect(first.healthy).toBe(MAX_CLAIMED_CHECKS_PER_TICK);
    await tick();
    expect((await lastTick()).claimedChecks.healthy).toBe(5);
    // Everyone was checked once; nothing is due until the slow interval has passed.
    await tick();
    expect((await lastTick()).claimedChecks.healthy).toBe(0);
  });
});

describe("a pending join", () => {
  const joinUrl = "https://dev.convos.org/v2?i=pendingInvite0001";
  const report = (id: string, body: unknown, token: string | false) => json(api(`/api/pool/instances/${id}/join-resolution`, { method: "POST", json: body, auth: token }));

  it("accepted: the instance tells the pool with its own token, and the row records the conversation", async () => {
    await fillPool(2);
    await setFaults({ joinPending: true });
    const res = await claim({ joinUrl });
    expect(res).toMatchObject({ status: 200, body: { status: "pending_acceptance", conversationId: null, joined: false } });
    const id = res.body.instanceId;
    const { gatewayToken } = await serviceOf(id);

    expect((await report(id, { outcome: "accepted", conversationId: "conv-accepted" }, false)).status).toBe(401);
    expect((await report(id, { outcome: "accepted", conversationId: "conv-accepted" }, POOL_KEY)).status).toBe(401);
    const other = (await json(api("/api/pool/agents?status=idle"))).body.agents[0].id;
    expect((await report(other, { outcome: "accepted", conversationId: "conv-accepted" }, gatewayToken)).status).toBe(401);
    const bad = await report(id, { outcome: "maybe" }, gatewayToken);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBeTruthy();
    expect((await detail(id)).claimStatus).toBe("pending_acceptance");

    const ok = await report(id, { outcome: "accepted", conversationId: "conv-accepted" }, gatewayToken);
    expect(ok).toMatchObject({ status: 200, body: { ok: true, status: "claimed" } });
    expect(await detail(id)).toMatchObject({ status: "claimed", claimStatus: "joined", joined: true, conversationId: "conv-accepted" });
    // A retry of the same report is harmless; a different story is refused.
    expect((await report(id, { outcome: "accepted", conversationId: "conv-accepted" }, gatewayToken)).status).toBe(200);
    expect((await report(id, { outcome: "refused" }, gatewayToken)).status).toBe(409);
    await checkInvariants();
  });

  it("refused: the instance's report makes it crashed with the reason in its history", async () => {
    await fillPool(1);
    await setFaults({ joinPending: true });
    const res = await claim({ joinUrl });
    const id = res.body.instanceId;
    const { gatewayToken } = await serviceOf(id);
    expect((await report(id, { outcome: "refused", reason: "the creator declined" }, gatewayToken)).status).toBe(200);
    const row = await detail(id);
    expect(row.status).toBe("crashed");
    expect(row.events.at(-1)).toMatchObject({ to: "crashed", actor: "instance", reason: "the conversation's creator refused the join: the creator declined" });
  });

  it("the tick reconciles what the instance did not report: an accepted join is recorded, a refused one is crashed", async () => {
    await fillPool(2);
    await setFaults({ joinPending: true });
    const accepted = (await claim({ joinUrl })).body.instanceId as string;
    const refused = (await claim({ joinUrl: "https://dev.convos.org/v2?i=pendingInvite0002" })).body.instanceId as string;
    // Still waiting: a check changes nothing.
    await checksDue();
    await tick();
    expect((await detail(accepted)).claimStatus).toBe("pending_acceptance");

    await supervisorControl(`/services/${(await serviceOf(accepted)).id}/join`, { accept: true });
    await supervisorControl(`/services/${(await serviceOf(refused)).id}/join`, { accept: false });
    await checksDue();
    await tick();
    expect(await detail(accepted)).toMatchObject({ status: "claimed", claimStatus: "joined", joined: true, conversationId: (await serviceOf(accepted)).conversationId });
    const gone = await detail(refused);
    expect(gone.status).toBe("crashed");
    expect(gone.events.at(-1).reason).toMatch(/pending join ended without a conversation/);
    expect((await lastTick()).claimedChecks.join_accepted).toBe(1);
  });
});
