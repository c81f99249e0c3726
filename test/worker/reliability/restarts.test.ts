import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, coordinatorStub, counts, fillPool, json, providerState, setFaults, setProviderFaults, supervisorState, tick } from "../helpers";
import { liveResources, NOTHING } from "../providers/support";
import { checkInvariants, expireAllDeadlines, rows, rowsIn, settle, sleep, until, useRailway } from "./support";

/**
 * The coordinator is reset (what an eviction, a deploy or a crash of the DO does) while work
 * is in flight. Whatever was cut off, one tick later every instance is in a consistent state,
 * nothing the providers hold lacks a row, and no client got two different answers.
 */

const claimWithKey = (key: string, body: unknown = {}) =>
  api("/api/pool/claim", { method: "POST", json: body, headers: { "idempotency-key": key } }).then(async (r) => ({
    status: r.status,
    retryAfter: r.headers.get("retry-after"),
    body: (await r.json()) as any,
  }));

/** Fills the pool through the Railway pipeline (every provider involved). */
async function fillRailwayPool(n: number) {
  await api("/api/pool/settings", { method: "PUT", json: { minIdle: n, maxTotal: 10, maxCreatesPerTick: n } });
  for (let i = 0; i < 4 && (await counts()).idle < n; i++) {
    await useRailway();
    await tick();
  }
  expect((await counts()).idle).toBe(n);
}

describe("coordinator reset in the middle of a claim", () => {
  it("the cut-off claim is finished by the next tick and a retry with the same key gets exactly one instance", async () => {
    await fillPool(3);
    await setFaults({ provisionDelayMs: 300 });
    const first = claimWithKey("reset-claim-1", { agentName: "Ada" });
    await until("an instance is reserved", async () => (await rowsIn("claiming")).length === 1);
    const [reserved] = await rowsIn("claiming");
    await abortAllDurableObjects();

    // The first request was cut: not a success, and the client is told to retry.
    const cut = await first;
    expect(cut.status).toBe(503);
    expect(cut.body.error.code).toBe("claim_interrupted");
    expect(cut.retryAfter).toBe("2");
    expect(cut.body.error.message).toMatch(/same Idempotency-Key/);
    // The instance still answers the provision the pool no longer waits for.
    await until("the orphaned provision lands", async () => (await supervisorState()).services.some((s) => s.instanceId === reserved!.id && s.conversationId));

    const retry = await claimWithKey("reset-claim-1", { agentName: "Ada" });
    expect(retry.status).toBe(200);
    expect(retry.body.instanceId).not.toBe(reserved!.id);

    await setFaults({});
    await expireAllDeadlines();
    await tick();
    const stranded = (await json(api(`/api/pool/instances/${reserved!.id}`))).body;
    // It is bound to a conversation nobody was told about: not reusable, kept for the operator.
    expect(stranded.status).toBe("crashed");
    expect(stranded.events.at(-1).reason).toMatch(/claim deadline passed, instance bound/);

    const again = await claimWithKey("reset-claim-1", { agentName: "Ada" });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(retry.body);
    const boundTo = await env.DB.prepare("SELECT count(*) AS n FROM instances WHERE status = 'claimed' AND claim_id = ?").bind("reset-claim-1").first<{ n: number }>();
    expect(boundTo!.n).toBe(1);
    await checkInvariants();
  });

  it("a claim cut before the instance answered leaves it clean, and the tick returns it to the pool", async () => {
    await fillPool(1);
    // The instance refuses (and stays clean) but only after the coordinator is gone.
    await setFaults({ provisionDelayMs: 200, provisionStatus: 503 });
    const first = claimWithKey("reset-claim-2");
    await until("an instance is reserved", async () => (await rowsIn("claiming")).length === 1);
    await abortAllDurableObjects();
    expect((await first).status).toBe(503);
    await sleep(250);
    await setFaults({});
    await expireAllDeadlines();
    await tick();
    expect((await counts()).idle).toBeGreaterThanOrEqual(1);
    expect((await rowsIn("claiming")).length).toBe(0);
    // The key of the cut claim is free again: the retry is a fresh claim that succeeds.
    const retry = await claimWithKey("reset-claim-2");
    expect(retry.status).toBe(200);
    await checkInvariants();
  });
});

describe("coordinator reset in the middle of a create", { timeout: 20_000 }, () => {
  /** Starts two creates through the Railway pipeline and resets the coordinator while Railway is answering `op`. */
  async function cutCreates(op: "serviceCreate" | "serviceDomainCreate") {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0, maxTotal: 10 } });
    await useRailway();
    await setProviderFaults("railway", [{ op, delayMs: 300 }]);
    const replenish = api("/api/pool/replenish", { method: "POST", json: { count: 2 } }).catch(() => null);
    // The phone number is the last resource before the service; the service exists before its domain.
    await until(`both creates reach ${op}`, async () => {
      if (op === "serviceDomainCreate") return (await providerState()).railway.services.length === 2;
      const n = await env.DB.prepare("SELECT count(*) AS n FROM instances WHERE status = 'creating' AND phone_number IS NOT NULL").first<{ n: number }>();
      return n!.n === 2;
    });
    await sleep(50);
    await abortAllDurableObjects();
    await replenish;
    await until("Railway finishes what it received", async () => {
      const services = (await providerState()).railway.services as { domains: string[] }[];
      return services.length === 2 && (op === "serviceCreate" || services.every((s) => s.domains.length === 1));
    });
    expect((await rowsIn("creating")).map((r) => r.service_id)).toEqual([null, null]);
    await setProviderFaults("railway", []);
    await useRailway();
    await tick();
  }

  it("a service whose domain was made is adopted by its name and serves; every resource stays owned", async () => {
    await cutCreates("serviceDomainCreate");
    // Adopted, not deleted as orphans: the keys, inboxes and numbers recorded on the rows are in use.
    expect((await rowsIn("starting")).length).toBe(2);
    await checkInvariants({ host: "railway" });
    await useRailway();
    await tick();
    expect((await counts()).idle).toBe(2);

    // And everything can still be released: nothing was lost track of.
    await api("/api/pool/drain", { method: "POST", json: { count: 2 } });
    await settle();
    await useRailway();
    await tick();
    expect(await liveResources()).toEqual(NOTHING);
    await checkInvariants({ host: "railway" });
  });

  it("a service cut off before its domain existed cannot be reached: it is cleaned up in that tick, not left starting for the stuck timeout", async () => {
    await cutCreates("serviceCreate");
    const all = await rows();
    expect(all.map((r) => r.status)).toEqual(["deleted", "deleted"]);
    expect(await liveResources()).toEqual(NOTHING);
    await checkInvariants({ host: "railway" });
  });

  it("a key minted after the reset is found by name and revoked when the half-made instance is cleaned up", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0, maxTotal: 10 } });
    await useRailway();
    await setProviderFaults("openrouter", [{ op: "POST /api/v1/keys", delayMs: 300 }]);
    const replenish = api("/api/pool/replenish", { method: "POST", json: { count: 1 } }).catch(() => null);
    await until("the create started", async () => (await rowsIn("creating")).length === 1);
    await sleep(50);
    await abortAllDurableObjects();
    await replenish;
    await until("OpenRouter minted the key nobody recorded", async () => (await providerState()).openrouter.keys.length === 1);
    const [row] = await rowsIn("creating");
    expect(row).toBeDefined();

    await setProviderFaults("openrouter", []);
    await expireAllDeadlines();
    await useRailway();
    await tick();
    const after = (await json(api(`/api/pool/instances/${row!.id}`))).body;
    expect(after.status).toBe("deleted");
    expect(after.events.map((e: { to: string }) => e.to)).toEqual(["creating", "dead", "deleting", "deleted"]);
    expect(await liveResources()).toEqual(NOTHING);
    await checkInvariants({ host: "railway" });
  });
});

describe("an operator kill in the middle of a create", () => {
  it("the service Railway finishes creating for a killed instance is deleted by the next tick, with every resource", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0, maxTotal: 10 } });
    await useRailway();
    await setProviderFaults("railway", [{ op: "serviceCreate", delayMs: 300 }]);
    const replenish = api("/api/pool/replenish", { method: "POST", json: { count: 1 } });
    await until("the create reaches Railway", async () => {
      const n = await env.DB.prepare("SELECT count(*) AS n FROM instances WHERE status = 'creating' AND phone_number IS NOT NULL").first<{ n: number }>();
      return n!.n === 1;
    });
    const [row] = await rowsIn("creating");
    expect((await api(`/api/pool/instances/${row!.id}`, { method: "DELETE" })).status).toBe(202);
    await replenish;
    await settle();
    await setProviderFaults("railway", []);
    await useRailway();
    await tick();
    expect((await json(api(`/api/pool/instances/${row!.id}`))).body.status).toBe("deleted");
    expect(await liveResources()).toEqual(NOTHING);
    await checkInvariants({ host: "railway" });
  });
});

describe("coordinator reset in the middle of a teardown", () => {
  it("the next tick finishes it: the row ends deleted and the provider holds nothing of it", async () => {
    await fillRailwayPool(2);
    const [victim, survivor] = await rowsIn("idle");
    await setProviderFaults("railway", [{ op: "serviceDelete", delayMs: 300 }]);
    expect((await api(`/api/pool/instances/${victim!.id}`, { method: "DELETE" })).status).toBe(202);
    await sleep(100);
    await abortAllDurableObjects();
    expect((await json(api(`/api/pool/instances/${victim!.id}`))).body.status).toBe("deleting");

    await setProviderFaults("railway", []);
    await useRailway();
    await tick();
    const after = (await json(api(`/api/pool/instances/${victim!.id}`))).body;
    expect(after.status).toBe("deleted");
    const state = await providerState();
    // The tick also replaced the victim; what matters is that nothing of the victim is left.
    expect(state.railway.services.map((s: { name: string }) => s.name)).not.toContain(victim!.service_name);
    expect(state.railway.services.map((s: { name: string }) => s.name)).toContain(survivor!.service_name);
    expect(state.openrouter.keys.map((k: { name: string }) => k.name)).not.toContain(victim!.service_name);
    expect(state.agentmail.inboxes.map((i: { inbox_id: string }) => i.inbox_id.split("@")[0])).not.toContain(victim!.service_name);
    await checkInvariants({ host: "railway" });
  });
});

describe("coordinator reset in the middle of a tick", () => {
  it("the alarm survives, the cut-off tick does not block the next one, and the pool converges", async () => {
    await fillRailwayPool(1);
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 3 } });
    // The tick stalls on its provider observation, then creates a wave; cut it mid-way.
    await setProviderFaults("railway", [{ op: "serviceCreate", delayMs: 300 }]);
    await useRailway();
    const stub = coordinatorStub();
    const running = stub.reconcile().catch((err: Error) => err);
    await until("the tick is creating", async () => (await rowsIn("creating")).length > 0);
    await abortAllDurableObjects();
    expect(await running).toBeInstanceOf(Error);

    const status = await coordinatorStub().status();
    expect(status.nextTickAt, "the alarm is still armed after the reset").not.toBeNull();
    await setProviderFaults("railway", []);
    await sleep(350);
    await expireAllDeadlines();
    await useRailway();
    expect(await runDurableObjectAlarm(coordinatorStub())).toBe(true);
    const last = (await coordinatorStub().status()).lastTick!;
    // A tick of its own, not a join of the one the reset cut off.
    expect(last.trigger).toBe("alarm");
    expect(last.startedAt).toBeGreaterThan(status.lastTick?.startedAt ?? 0);
    await useRailway();
    await tick();
    await useRailway();
    await tick();
    expect((await counts()).idle).toBe(3);
    await checkInvariants({ host: "railway" });
  });
});

describe("an alarm whose tick throws", () => {
  it("is re-armed even when D1 fails right after a restart, and the pool keeps working once D1 is back", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 2 } });
    await abortAllDurableObjects();
    const stub = coordinatorStub();
    await runInDurableObject(stub, async (instance, state) => {
      await state.storage.setAlarm(Date.now() + 60_000);
      // A fresh coordinator (no cached settings) whose every D1 call fails.
      const pool = (instance as unknown as { pool: { db: unknown } }).pool;
      pool.db = new Proxy(
        {},
        {
          get: () => () => {
            throw new Error("D1_ERROR: simulated outage");
          },
        },
      );
    });
    await runDurableObjectAlarm(stub).catch(() => {});
    const armed = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(armed, "a failed tick still leaves the next one scheduled").not.toBeNull();
    expect(armed!).toBeGreaterThan(Date.now());

    await abortAllDurableObjects();
    await tick();
    await tick();
    expect((await counts()).idle).toBe(2);
    await checkInvariants();
  });

  it("a tick that throws half-way (an instance client bug) leaves consistent rows and the next tick picks up", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 2 } });
    await tick();
    expect((await counts()).starting).toBe(2);
    const stub = coordinatorStub();
    await runInDurableObject(stub, (instance) => {
      const pool = (instance as unknown as { pool: { instances: { health: (url: string) => Promise<unknown> } } }).pool;
      const health = pool.instances.health.bind(pool.instances);
      let calls = 0;
      // health() promises never to throw; break that promise once, in the middle of the tick.
      pool.instances.health = async (url: string) => {
        if (++calls === 1) throw new TypeError("simulated bug in the health check");
        return health(url);
      };
    });
    const before = (await stub.status()).lastTick!.startedAt;
    await tick();
    const status = await coordinatorStub().status();
    expect(status.lastTick!.startedAt, "the failed tick recorded no summary").toBe(before);
    expect(status.nextTickAt).not.toBeNull();
    await tick();
    expect((await counts()).idle).toBe(2);
    await checkInvariants();
  });
});
