import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createInstance } from "../../../durable-objects/pool-coordinator/create-instance";
import { database } from "../../../worker/db/client";
import { countByStatus } from "../../../worker/db/instances";
import { TokenBucket } from "../../../worker/providers/http";
import { providerControl, providerState, setProviderFaults } from "../helpers";
import { liveResources, NOTHING, providerContext, settings, tickWith } from "./support";

const railwayCalls = async () => (await providerState()).railway.calls.length as number;

describe("the tick on Railway", () => {
  it("fills the pool: services deploy, health answers on their domains, instances become idle", async () => {
    const ctx = providerContext();
    const s = { ...settings(), minIdle: 2, maxCreatesPerTick: 2 };
    const first = await tickWith(ctx, s);
    expect(first.created).toBe(2);
    const second = await tickWith(ctx, s);
    expect(second.observed).toBe(2);
    expect(second.readied).toBe(2);
    expect((await countByStatus(database(env.DB))).idle).toBe(2);
  });

  it("keeps a SLEEPING instance and reaps a CRASHED one, releasing its resources", async () => {
    const ctx = providerContext();
    const s = { ...settings(), minIdle: 2, maxCreatesPerTick: 2 };
    await tickWith(ctx, s);
    await tickWith(ctx, s);
    const [a, b] = (await providerState()).railway.services;
    await providerControl("/railway/status", { service: a.id, status: "SLEEPING" });
    await providerControl("/railway/status", { service: b.id, status: "CRASHED" });

    const summary = await tickWith(ctx, { ...s, minIdle: 0 });
    expect(summary.failed).toBe(1);
    expect(summary.tornDown).toBe(1);
    const rows = await database(env.DB).query.instances.findMany();
    const byService = new Map(rows.map((r) => [r.serviceName, r]));
    expect(byService.get(a.name)!.status).toBe("idle");
    expect(byService.get(a.name)!.deploymentStatus).toBe("SLEEPING");
    expect(byService.get(b.name)!.status).toBe("deleted");
    const left = await liveResources();
    expect(left).toEqual({ services: 1, volumes: 1, keys: 1, inboxes: 1, assignedNumbers: 1 });
  });

  it("deletes an orphan service carrying the pool's prefix, and leaves other services alone", async () => {
    const ctx = providerContext();
    await providerControl("/railway/services", { name: "convos-agent-iorphan" });
    await providerControl("/railway/services", { name: "postgres" });
    const summary = await tickWith(ctx, { ...settings(), minIdle: 0 });
    expect(summary.orphansDeleted).toBe(1);
    expect((await providerState()).railway.services.map((x: { name: string }) => x.name)).toEqual(["postgres"]);
  });

  it("survives a 429 storm: one request reaches Railway, creates fail fast, nothing leaks", async () => {
    const ctx = providerContext();
    const s = { ...settings(), minIdle: 3, maxCreatesPerTick: 3 };
    await setProviderFaults("railway", [{ op: "*", status: 429, retryAfter: 120 }]);

    const summary = await tickWith(ctx, s);
    expect(summary.listError).toMatch(/429/);
    expect(summary.createFailures).toBe(3);
    // The list was refused with Retry-After: 120, so not one create was even sent.
    expect(await railwayCalls()).toBe(1);
    // The failed creates' keys, inboxes and numbers were released by the same tick's cleanup.
    expect(await liveResources()).toEqual(NOTHING);

    const again = await tickWith(ctx, s);
    expect(again.listError).toMatch(/rate limited by the provider/);
    expect(await railwayCalls()).toBe(1);
    expect(await liveResources()).toEqual(NOTHING);
  });

  it("never spends more than the hourly budget, however many ticks run", async () => {
    const limiter = new TokenBucket({ perSecond: 10, perHour: 5 });
    const ctx = providerContext({ limiter });
    const s = { ...settings(), minIdle: 4, maxCreatesPerTick: 4 };
    for (let i = 0; i < 4; i++) await tickWith(ctx, s);
    expect(await railwayCalls()).toBe(5);
    expect(limiter.snapshot().denied).toBeGreaterThan(0);
    // Whatever did get created is recorded on a row, so nothing is orphaned.
    const rows = await database(env.DB).query.instances.findMany();
    for (const svc of (await providerState()).railway.services) {
      expect(rows.some((r) => r.serviceName === svc.name && r.status !== "deleted")).toBe(true);
    }
  });

  it("a service whose create answer was lost is found by its name and deleted, so nothing is orphaned", async () => {
    const ctx = providerContext(); // the client gives up after 500 ms
    const s = { ...settings(), minIdle: 0 };
    await setProviderFaults("railway", [{ op: "serviceCreate", delayMs: 800, times: 1 }]);
    const lost = await createInstance(ctx, s, "test", "test", new Set());
    expect(lost.ok).toBe(false);
    if (!lost.ok) expect(lost.error).toMatch(/timed out/);
    // Railway did make it, after the client stopped listening.
    for (let i = 0; i < 20 && (await providerState()).railway.services.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await providerState()).railway.services).toHaveLength(1);

    await tickWith(ctx, s); // the dead row releases its resources and is deleted
    const swept = await tickWith(ctx, s); // its service now has no owner: an orphan
    expect(swept.orphansDeleted).toBe(1);
    expect(await liveResources()).toEqual(NOTHING);
  });
});
