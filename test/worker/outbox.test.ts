import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, coordinatorStub, counts, fillPool, json, tick } from "./helpers";
import { checkInvariants, expireAllDeadlines, rows } from "./reliability/support";

/**
 * A claim's bind (claiming → claimed) goes to D1 after the claim has answered, through the
 * coordinator's outbox (durable-objects/pool-coordinator/outbox.ts). D1 refusing it, or the
 * coordinator being reset before it was sent, must lose nothing.
 */

const claim = (key: string, body: unknown = { agentName: "Ada" }) => json(api("/api/pool/claim", { method: "POST", json: body, headers: { "idempotency-key": key } }));

/** Runs `steps` while D1 refuses every bind, and nothing else; D1 accepts them again after, whatever happened. */
async function whileD1RefusesBinds<T>(steps: () => Promise<T>): Promise<T> {
  await env.DB.prepare("CREATE TRIGGER refuse_binds BEFORE UPDATE OF status ON instances WHEN NEW.status = 'claimed' BEGIN SELECT RAISE(ABORT, 'D1 is unavailable'); END").run();
  try {
    return await steps();
  } finally {
    await env.DB.prepare("DROP TRIGGER IF EXISTS refuse_binds").run();
  }
}

const held = () => runInDurableObject(coordinatorStub(), (_i, state) => state.storage.sql.exec("SELECT instance_id, attempts, last_error FROM d1_outbox ORDER BY seq").toArray());
const metrics = async () => (await api("/metrics")).text();
const commitFigures = (text: string) => ({
  commits: Number(/^pool_coordinator_commits_total (\d+)$/m.exec(text)?.[1] ?? NaN),
  writes: Number(/^pool_coordinator_committed_writes_total (\d+)$/m.exec(text)?.[1] ?? NaN),
});
const statusOf = async (id: string) => (await env.DB.prepare("SELECT status FROM instances WHERE id = ?").bind(id).first<{ status: string }>())?.status;

describe("the claim's bind through the outbox", () => {
  it("the operator reads the bind at once, with its event, and the outbox is empty after", async () => {
    await fillPool(2);
    const commitsBefore = commitFigures(await metrics());
    const first = await claim("ob-1");
    expect(first.status).toBe(200);
    // The reservation and the bind (with its idempotency record): two writes, in at most two commits.
    const commitsAfter = commitFigures(await metrics());
    expect(commitsAfter.writes - commitsBefore.writes).toBe(2);
    expect(commitsAfter.commits - commitsBefore.commits).toBeGreaterThanOrEqual(1);
    expect(commitsAfter.commits - commitsBefore.commits).toBeLessThanOrEqual(2);
    const view = (await json(api(`/api/pool/instances/${first.body.instanceId}`))).body;
    expect(view.status).toBe("claimed");
    expect(view.conversationId).toBe(first.body.conversationId);
    expect(view.events.map((e: { to: string }) => e.to).slice(-2)).toEqual(["claiming", "claimed"]);
    expect(await held()).toEqual([]);
    expect(await metrics()).toMatch(/^pool_outbox_pending 0$/m);
    await checkInvariants();
  });

  it("D1 refusing the bind: the claim still answers, the row is left alone by the tick, and the bind lands once D1 is back", async () => {
    await fillPool(2);
    const id = await whileD1RefusesBinds(async () => {
      const first = await claim("ob-2");
      expect(first.status).toBe(200);
      const id = first.body.instanceId as string;
      expect(await coordinatorStub().settle()).toBe(1);
      expect(await held()).toMatchObject([{ instance_id: id, last_error: expect.stringMatching(/D1 is unavailable/) }]);
      const text = await metrics();
      expect(text).toMatch(/^pool_outbox_pending 1$/m);
      expect(Number(/^pool_outbox_flush_failures_total (\d+)$/m.exec(text)![1])).toBeGreaterThan(0);

      // Its claiming deadline passes while D1 still says claiming: the tick must not ask the
      // instance and call it crashed (it is bound, to the user who got the answer above).
      await expireAllDeadlines();
      await tick();
      expect(await statusOf(id)).toBe("claiming");

      // A retry of the same claim is the same answer, not a second instance.
      const again = await claim("ob-2");
      expect(again).toMatchObject({ status: 200, body: first.body });
      expect((await counts()).claiming).toBe(1);
      return id;
    });
    await tick();
    expect(await statusOf(id)).toBe("claimed");
    expect(await held()).toEqual([]);
    await checkInvariants();
  });

  it("a coordinator reset between its commit and the flush loses nothing: the next coordinator sends the bind", async () => {
    await fillPool(2);
    const id = await whileD1RefusesBinds(async () => {
      const first = await claim("ob-3", { agentName: "Grace" });
      expect(first.status).toBe(200);
      expect(await held()).toHaveLength(1);
      await abortAllDurableObjects();
      return first.body.instanceId as string;
    });
    // Any call wakes the new coordinator; what it found in its store goes out.
    const settled = await coordinatorStub().settle();
    expect(settled).toBe(0);
    const row = await env.DB.prepare("SELECT status, agent_name, conversation_id, claim_id FROM instances WHERE id = ?").bind(id).first();
    expect(row).toMatchObject({ status: "claimed", agent_name: "Grace", claim_id: "ob-3" });
    expect(row!.conversation_id).toBeTruthy();
    const replay = await claim("ob-3", { agentName: "Grace" });
    expect(replay.status).toBe(200);
    expect(replay.body.instanceId).toBe(id);
    await checkInvariants();
  });

  it("an instance killed while its bind waits: the bind finds the row moved on and changes nothing; D1 ends equal to the coordinator", async () => {
    await fillPool(2);
    const id = await whileD1RefusesBinds(async () => {
      const first = await claim("ob-4");
      const killed = await api(`/api/pool/instances/${first.body.instanceId}`, { method: "DELETE" });
      expect(killed.status).toBe(202);
      return first.body.instanceId as string;
    });
    expect(await coordinatorStub().settle()).toBe(0);
    await tick();
    expect(["deleting", "deleted"]).toContain(await statusOf(id));
    expect(await metrics()).toMatch(/^pool_outbox_writes_total\{result="no_row"\} [1-9]/m);
    expect((await rows()).filter((r) => r.status === "claimed")).toEqual([]);
    await checkInvariants();
  });
});
