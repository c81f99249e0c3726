import { createExecutionContext, createScheduledController, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PoolCoordinator } from "../../durable-objects/pool-coordinator";
import { emptySummary } from "../../durable-objects/pool-coordinator/tick";
import { ALARM_OVERDUE_MS, keepAliveAction } from "../../worker/domain/keep-alive";
import { HUNG_TICK_MS, joinRunningTick } from "../../worker/domain/tick-guard";
import worker from "../../worker/index";
import { api, coordinatorStub, counts, json } from "./helpers";

async function cron() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}
const alarmAt = () => runInDurableObject(coordinatorStub(), (_i, state) => state.storage.getAlarm());

describe("the cron keeps the pool alive", () => {
  it("decides from the alarm alone: missing → arm, overdue → tick, on time → nothing", () => {
    const now = 1_000_000_000;
    expect(keepAliveAction(null, now)).toEqual({ action: "arm" });
    expect(keepAliveAction(now + 30_000, now)).toEqual({ action: "none" });
    expect(keepAliveAction(now - 5_000, now)).toEqual({ action: "none" });
    expect(keepAliveAction(now - ALARM_OVERDUE_MS - 1, now)).toEqual({ action: "tick", lateMs: ALARM_OVERDUE_MS + 1 });
  });

  it("a fresh deployment with no traffic: the cron arms the alarm and the pool fills", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 2 } });
    // The settings call went to the coordinator; start again from no alarm, as after a deploy.
    await runInDurableObject(coordinatorStub(), (_i, state) => state.storage.deleteAlarm());
    expect(await alarmAt()).toBeNull();
    await cron();
    expect(await alarmAt()).not.toBeNull();
    expect(await runDurableObjectAlarm(coordinatorStub())).toBe(true);
    const c = await counts();
    expect(c.creating + c.starting + c.idle).toBe(2);
    // On time: the next cron leaves the alarm alone.
    const armed = await alarmAt();
    await cron();
    expect(await alarmAt()).toBe(armed);
  });

  it("a lost alarm: the cron ticks at once and re-arms", async () => {
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 1 } });
    const before = (await json(api("/api/pool/info", { auth: false }))).body.lastTick;
    expect(before).toBeNull();
    const outcome = await runInDurableObject(coordinatorStub(), async (instance: PoolCoordinator, state) => {
      // An alarm that should have fired 10 minutes ago and never did: workerd runs a past alarm
      // at once, so the lost one is what storage reports, for this one call.
      const stale = Date.now() - 10 * 60_000;
      const real = state.storage.getAlarm.bind(state.storage);
      state.storage.getAlarm = async () => stale;
      try {
        return await instance.keepAlive();
      } finally {
        state.storage.getAlarm = real;
      }
    });
    expect(outcome.action).toBe("tick");
    const after = (await json(api("/api/pool/info", { auth: false }))).body;
    expect(after.lastTick).toMatchObject({ trigger: "alarm" });
    expect(after.nextTickAt).toBeGreaterThan(Date.now());
    expect((await counts()).creating + (await counts()).starting + (await counts()).idle).toBe(1);
  });
});

describe("one tick at a time, unless the running one hangs", () => {
  const summary = (trigger: string) => emptySummary(trigger, 1);

  it("decides from how long the running tick has run", () => {
    expect(joinRunningTick(null, 10_000_000)).toBe(false);
    expect(joinRunningTick(10_000_000 - 1_000, 10_000_000)).toBe(true);
    expect(joinRunningTick(10_000_000 - HUNG_TICK_MS, 10_000_000)).toBe(false);
  });

  it("a reconcile while a tick runs joins it; while a tick has hung, it runs a new one", async () => {
    const result = await runInDurableObject(coordinatorStub(), async (instance: PoolCoordinator) => {
      // The coordinator's own in-memory state of a tick in progress (what a hung fetch leaves).
      const state = instance as unknown as { tickInFlight: Promise<unknown> | null; tickStartedAt: number | null };
      state.tickInFlight = Promise.resolve(summary("the running tick"));
      state.tickStartedAt = Date.now() - 1_000;
      const joined = await instance.reconcile();
      state.tickInFlight = new Promise(() => {});
      state.tickStartedAt = Date.now() - HUNG_TICK_MS - 1_000;
      const fresh = await instance.reconcile();
      return { joined: joined.trigger, fresh: fresh.trigger, replaced: state.tickInFlight === null };
    });
    expect(result).toEqual({ joined: "the running tick", fresh: "reconcile", replaced: true });
  });
});
