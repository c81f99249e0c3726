import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalPool } from "../../local/system.ts";
import { agent, agents, instanceCall, json, serviceOf, startE2eSystem, stopE2eSystem, tickUntil } from "./support.ts";

/**
 * A rollout on the system `npm start` runs: real runtime processes under the local supervisor,
 * where an image is the runtime version label the supervisor starts the runtime with and the
 * runtime reports in /pool/health. Idle instances are replaced; a claimed one is upgraded in
 * place, with its state directory, and keeps its conversation.
 */
const MIN_IDLE = 2;

let stateDir: string;
let pool: LocalPool;

beforeAll(async () => {
  ({ pool, stateDir } = await startE2eSystem("rollout", MIN_IDLE));
});

afterAll(() => stopE2eSystem(pool, stateDir));

type Row = { id: string; status: string; image: string | null; runtimeVersion: string | null; conversationId: string | null; serviceId: string | null; url: string | null };
const all = async () => (await json<{ agents: Row[] }>(pool.api("/api/pool/agents?limit=500"))).agents;

describe("a rollout with real runtime processes", () => {
  it("replaces the idle instances with ones on the new version, then upgrades the claimed one with its conversation", async () => {
    await tickUntil(pool, async () => ((await agents(pool, "idle")).length >= MIN_IDLE ? true : null), "the pool filled", 60_000);
    const claim = await json<{ instanceId: string; conversationId: string }>(pool.api("/api/pool/claim", { method: "POST", json: { agentName: "Rolly" } }));
    const before = await agent(pool, claim.instanceId);
    const pid = serviceOf(pool, before).pid;

    const started = await json(pool.api("/api/pool/image", { method: "PUT", json: { image: "v2-e2e", batchSize: 1 } }));
    expect(started).toMatchObject({ state: "running", targetImage: "v2-e2e" });

    const idle = await tickUntil(
      pool,
      async () => {
        const rows = (await all()).filter((r) => r.status === "idle");
        return rows.length >= MIN_IDLE && rows.every((r) => r.image === "v2-e2e") ? rows : null;
      },
      "every idle instance on v2-e2e",
      120_000,
    );
    for (const r of idle) {
      // What the process itself says, not only what the pool recorded.
      expect(r.runtimeVersion).toBe("v2-e2e");
      const health = await instanceCall(pool, r as never, "GET", "/pool/health", undefined, null);
      expect(health.body).toMatchObject({ ready: true, version: "v2-e2e", bound: false });
    }
    expect((await all()).find((r) => r.id === claim.instanceId)).toMatchObject({ status: "claimed", conversationId: claim.conversationId });

    const up = await pool.api(`/api/pool/instances/${claim.instanceId}/upgrade`, { method: "POST", json: {} });
    expect(up.status).toBe(202);
    const upgraded = await tickUntil(
      pool,
      async () => {
        const r = (await all()).find((x) => x.id === claim.instanceId);
        return r?.status === "claimed" && r.image === "v2-e2e" ? r : null;
      },
      "the claimed instance upgraded",
      90_000,
    );
    expect(upgraded).toMatchObject({ runtimeVersion: "v2-e2e", conversationId: claim.conversationId, serviceId: before.serviceId, url: before.url });
    const after = await agent(pool, claim.instanceId);
    // A new process on the same state directory: the instance itself still knows its conversation.
    expect(serviceOf(pool, after).pid).not.toBe(pid);
    const status = await instanceCall(pool, after, "GET", "/convos/status");
    expect(status.body).toMatchObject({ conversationId: claim.conversationId });
    expect(after.events.at(-1)).toMatchObject({ from: "upgrading", to: "claimed", reason: "upgraded to v2-e2e (runtime v2-e2e)" });
  });
});
