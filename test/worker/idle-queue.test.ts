import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, coordinatorStub, counts, fillPool, json, setFaults, supervisorControl, supervisorState, tick } from "./helpers";
import { checkInvariants, expireAllDeadlines, rowsIn, sleep, until } from "./reliability/support";
import { GroupCommit } from "../../durable-objects/pool-coordinator/group-commit";
import type { IdleQueue } from "../../durable-objects/pool-coordinator/idle-queue";

/**
 * Claims take idle instances from the coordinator's own queue (durable-objects/pool-coordinator/
 * idle-queue.ts), not from D1. D1 stays the record: the queue is loaded from it, compared with
 * it on every tick, and repaired from it.
 */

const claim = (body: unknown = {}, key?: string) => json(api("/api/pool/claim", { method: "POST", json: body, headers: key ? { "idempotency-key": key } : {} }));
const queued = () =>
  runInDurableObject(coordinatorStub(), (_i, state) =>
    state.storage.sql
      .exec("SELECT id FROM idle_queue ORDER BY id")
      .toArray()
      .map((r) => r.id as string),
  );
const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(await (await api("/metrics")).text())?.[1] ?? Number.NaN);

describe("the coordinator's queue of idle instances", () => {
  it("upgrading a running pool: a coordinator with an empty store loads D1's idle instances and leaves the claimed ones alone", async () => {
    await fillPool(3);
    const taken = await claim({ agentName: "Before" });
    expect(taken.status).toBe(200);
    const idleBefore = (await rowsIn("idle")).map((r) => r.id).sort();
    expect(idleBefore).toHaveLength(2);

    // What the deploy that brings the queue in does: a coordinator whose store has none of it.
    await runInDurableObject(coordinatorStub(), (_i, state) => state.storage.deleteAll());
    await abortAllDurableObjects();

    const after = await claim({ agentName: "After" });
    expect(after.status).toBe(200);
    expect(idleBefore).toContain(after.body.instanceId);
    expect(await queued()).toEqual(idleBefore.filter((id) => id !== after.body.instanceId));
    const first = (await json(api(`/api/pool/instances/${taken.body.instanceId}`))).body;
    expect(first).toMatchObject({ status: "claimed", agentName: "Before", conversationId: taken.body.conversationId });
    await checkInvariants();
  });

  it("an instance moved behind the coordinator's back is dropped from the queue by the next tick, counted as drift in /metrics", async () => {
    await fillPool(2);
    const [a, b] = (await queued()).sort();
    expect(a && b).toBeTruthy();
    const driftBefore = await metric("pool_idle_queue_drift_total");
    // No pool code does this; a hand-edited D1 row does.
    await env.DB.prepare("UPDATE instances SET status = 'dead', status_reason = 'edited by hand', status_changed_at = ? WHERE id = ?").bind(Date.now(), a).run();
    await tick();
    expect(await queued()).not.toContain(a);
    expect(await metric("pool_idle_queue_drift_total")).toBe(driftBefore + 1);
    expect(await metric("pool_idle_queue_size")).toBe((await counts()).idle);
    const next = await claim();
    expect(next.status).toBe(200);
    expect(next.body.instanceId).not.toBe(a);
  });

  it("an instance back from a failed claim is the next one taken (it is still the oldest ready), and the order survives a restart", async () => {
    await fillPool(3);
    const agents = (await json(api("/api/pool/agents?status=idle"))).body.agents as { id: string; readyAt: number }[];
    const order = agents.sort((a, b) => a.readyAt - b.readyAt || a.id.localeCompare(b.id)).map((a) => a.id);
    expect(order).toHaveLength(3);
    // The oldest is taken, fails clean and comes back behind the two still queued.
    await setFaults({ provisionStatus: 500 });
    const failed = await claim();
    expect(failed.status).toBe(502);
    expect(failed.body.error.details.instanceId).toBe(order[0]);
    await setFaults({});
    expect((await claim()).body.instanceId).toBe(order[0]);
    await abortAllDurableObjects();
    expect((await claim()).body.instanceId).toBe(order[1]);
    expect(await queued()).toEqual([order[2]]);
  });

  it("a take whose commit fails is undone in memory as in the table: the instance stays claimable, first in line", async () => {
    await fillPool(2);
    const before = await queued();
    let taken: string | undefined;
    await runInDurableObject(coordinatorStub(), async (instance, state) => {
      const queue = (instance as unknown as { idleQueue: IdleQueue }).idleQueue;
      // Storage that rolls back what the writes did and reports the commit failed, as a full disk would.
      const failing = {
        transactionSync: (write: () => unknown) =>
          state.storage.transactionSync(() => {
            write();
            throw new Error("disk full");
          }),
        sync: async () => {},
      } as unknown as DurableObjectStorage;
      const commit = new GroupCommit(failing, () => queue.reload());
      await expect(
        commit.run(() => {
          taken = queue.take()?.id;
        }),
      ).rejects.toThrow("disk full");
      expect(queue.size()).toBe(before.length);
    });
    expect(taken).toBeDefined();
    expect(await queued()).toEqual(before);
    const next = await claim();
    expect(next.status).toBe(200);
    expect(next.body.instanceId).toBe(taken);
  });

  it("a claim that finds the queue empty looks in D1 before answering pool_empty", async () => {
    await fillPool(2);
    const idle = (await rowsIn("idle")).map((r) => r.id).sort();
    // D1 has idle instances this coordinator has not queued (readied by an earlier one, say): it starts with none.
    await runInDurableObject(coordinatorStub(), (_i, state) => state.storage.sql.exec("DELETE FROM idle_queue"));
    await abortAllDurableObjects();
    const res = await claim();
    expect(res.status).toBe(200);
    expect(idle).toContain(res.body.instanceId);
    expect(await queued()).toEqual(idle.filter((id) => id !== res.body.instanceId));
  });

  it("an invite held by a claim that a reset cut off stays held until the tick settles that claim", async () => {
    await fillPool(3);
    await setFaults({ provisionDelayMs: 300 });
    const joinUrl = "https://dev.convos.org/v2?i=heldAcrossReset01";
    const first = claim({ joinUrl }, "join-reset-1");
    await until("an instance is reserved", async () => (await rowsIn("claiming")).length === 1);
    await abortAllDurableObjects();
    expect((await first).status).toBe(503);

    const during = await claim({ joinUrl }, "join-reset-2");
    expect(during.status).toBe(409);
    expect(during.body.error.code).toBe("join_in_progress");

    await sleep(350);
    await setFaults({});
    await expireAllDeadlines();
    await tick();
    expect((await rowsIn("claiming")).length).toBe(0);
    const later = await claim({ joinUrl }, "join-reset-3");
    expect(later.status).toBe(200);
    await checkInvariants();
  });

  it("a tick that finds an idle instance failed while a claim holds it (D1 not told yet) leaves it to that claim", async () => {
    await fillPool(1);
    const [row] = await rowsIn("idle");
    await setFaults({ provisionDelayMs: 400 });
    // D1 refuses the reservation for now, so it still says idle while the claim provisions.
    await env.DB.prepare("CREATE TRIGGER refuse_reservations BEFORE UPDATE OF status ON instances WHEN NEW.status = 'claiming' BEGIN SELECT RAISE(ABORT, 'D1 is unavailable'); END").run();
    let res: Awaited<ReturnType<typeof claim>>;
    try {
      const pending = claim({}, "held-by-claim-1");
      await until("the claim has taken it", async () => (await queued()).length === 0);
      const svc = (await supervisorState()).services.find((s) => s.instanceId === row!.id)!;
      await supervisorControl(`/services/${svc.id}/crash`);
      await tick();
      // Without the queue's answer the tick would have moved it idle → dead under the claim.
      expect((await rowsIn("idle")).map((r) => r.id)).toContain(row!.id);
      await env.DB.prepare("DROP TRIGGER refuse_reservations").run();
      res = await pending;
    } finally {
      await env.DB.prepare("DROP TRIGGER IF EXISTS refuse_reservations").run();
    }
    // The claim then judged it itself: its readiness probe found the crashed instance, so it
    // was never handed out (503, the pool had no other), and the claim, not the tick, retired it.
    expect(res.status).toBe(503);
    expect(await coordinatorStub().settle()).toBe(0);
    const events = (await json(api(`/api/pool/instances/${row!.id}`))).body.events as { from: string; to: string; actor: string; reason: string }[];
    const afterIdle = events.slice(events.findLastIndex((e) => e.to === "idle") + 1);
    expect(afterIdle.slice(0, 2).map((e) => [e.from, e.to, e.actor])).toEqual([
      ["idle", "claiming", "api"],
      ["claiming", "dead", "api"],
    ]);
    expect(afterIdle[1]!.reason).toMatch(/readiness probe failed/);
    await checkInvariants();
  });
});
