import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, coordinatorStub, counts, fillPool, json, setFaults, tick } from "./helpers";
import { checkInvariants, expireAllDeadlines, rowsIn, sleep, until } from "./reliability/support";

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

  it("a claim that finds the queue empty looks in D1 before answering pool_empty", async () => {
    await fillPool(2);
    const idle = (await rowsIn("idle")).map((r) => r.id).sort();
    // D1 has idle instances this coordinator has not queued (readied by an earlier one, say).
    await runInDurableObject(coordinatorStub(), (_i, state) => state.storage.sql.exec("DELETE FROM idle_queue"));
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
});
