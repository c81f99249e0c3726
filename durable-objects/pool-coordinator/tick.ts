import { and, asc, eq, gt, sql } from "drizzle-orm";
import { open } from "../../worker/crypto/sealed";
import { batchAll } from "../../worker/db/client";
import { countByStatus, listNotDeleted, patchInState, transition, transitionQuery } from "../../worker/db/instances";
import { instances, type InstanceRow } from "../../worker/db/schema";
import { claimedVerdict, type ClaimedVerdict } from "../../worker/domain/claimed-health";
import { hostVerdict, probeVerdict } from "../../worker/domain/instance-check";
import { failureStatus, type InstanceStatus } from "../../worker/domain/lifecycle";
import { bulkTransitionSet } from "../../worker/domain/bulk-transition";
import { returnsToPool } from "../../worker/domain/failed-claim";
import type { PoolSettings } from "../../worker/domain/settings";
import { mapLimit } from "../../worker/lib/concurrency";
import { log } from "../../worker/lib/log";
import type { ServiceObservation } from "../../worker/providers/compute/types";
import type { PoolContext } from "./context";
import type { TickSummary } from "./outcomes";

const HEALTH_CONCURRENCY = 8;
/**
 * Idle instances are re-checked on a slower cadence than starting ones (IDLE_HEALTH_INTERVAL_MS).
 * Claims probe the instance they reserve anyway (worker/domain/claim-attempts.ts); this re-check
 * finds the dead ones so they are replaced before a claim has to skip them. The per-instance
 * decisions live in worker/domain/instance-check.ts, shared with the recheck and the webhook.
 */
export { IDLE_HEALTH_FAILURES, IDLE_HEALTH_INTERVAL_MS, INTERRUPTED_CREATE_GRACE_MS } from "../../worker/domain/instance-check";
/**
 * Per-tick bounds, so one tick stays well under Cloudflare's per-invocation subrequest limit
 * (1,000) however large the pool is (bench/README.md, tick cost). Work left over is due again
 * and is picked up by the next tick, oldest first: starting instances before idle re-checks,
 * idle instances by oldest check, teardowns by oldest due time.
 */
export const MAX_HEALTH_CHECKS_PER_TICK = 200;
/**
 * The part of a tick's subrequests spent asking instances (Cloudflare allows 1,000 per
 * invocation; the provider list, D1 statements, creates and teardowns need the rest). A starting
 * or idle check costs 1 (`GET /pool/health`), a claimed check 2 (`+ GET /convos/status`).
 * Starting instances come first (the pool fills), then claimed ones (users are talking to
 * them), then idle re-checks with what is left.
 */
export const INSTANCE_CHECK_SUBREQUESTS_PER_TICK = MAX_HEALTH_CHECKS_PER_TICK;
/** So claimed checks (at most 50 subrequests) never crowd out readiness of a filling pool. */
export const MAX_CLAIMED_CHECKS_PER_TICK = 25;
export const MAX_TEARDOWNS_PER_TICK = 100;
export const MAX_ORPHAN_DELETES_PER_TICK = 50;
/** Ids per statement when one UPDATE covers many rows (passed as one JSON parameter). */
const IDS_PER_STATEMENT = 2_000;
const ACTOR = "tick";
/** A row's update with RETURNING, unexecuted. */
type RowQuery = ReturnType<typeof recordUnhealthyQuery>;

export interface TickDeps {
  ctx: PoolContext;
  settings: PoolSettings;
  /** Instances a claim of this coordinator holds (provisioning, or its writes not in D1 yet): their deadline is not ours to enforce yet. */
  inFlightClaims: { has(id: string): boolean };
  /** Creates running right now, so an adopted service is not mistaken for a leftover. */
  creatingNow: ReadonlySet<string>;
  replenish(): Promise<{ created: number; failed: number }>;
  /** Tears down these `deleting` rows (their outcomes in one D1 batch); how many are now deleted. */
  teardown(rows: InstanceRow[]): Promise<number>;
  /** The rollout's bounded step (durable-objects/pool-coordinator/rollout.ts), before replenish so it sees the drained ones. */
  rollout?(services: Map<string, ServiceObservation> | null): Promise<void>;
  /** The rows this tick read from D1 and when the read began (the coordinator checks its idle queue against them). */
  observed?(rows: InstanceRow[], readAt: number): void;
}

/**
 * One reconcile pass (SPEC §5): observe the provider once, advance readiness, enforce
 * failures and deadlines, delete orphans, replenish, clean up. Each step decides from data
 * and writes with compare-and-set, so a row that moved meanwhile is simply skipped.
 */
export function emptySummary(trigger: string, startedAt: number): TickSummary {
  return {
    trigger,
    startedAt,
    durationMs: 0,
    observed: null,
    listError: null,
    readied: 0,
    failed: 0,
    crashed: 0,
    recoveredClaims: 0,
    orphansDeleted: 0,
    created: 0,
    createFailures: 0,
    tornDown: 0,
    healthChecks: 0,
    claimedChecks: { healthy: 0, degraded: 0, crashed: 0, join_accepted: 0 },
  };
}

export async function runTick(deps: TickDeps, trigger: string): Promise<TickSummary> {
  const { ctx, settings } = deps;
  const startedAt = ctx.now();
  const summary = emptySummary(trigger, startedAt);

  // 1. Observe: one list of the pool's services.
  let services: Map<string, ServiceObservation> | null = null;
  try {
    const list = await ctx.compute.list();
    services = new Map(list.map((s) => [s.name, s]));
    summary.observed = list.length;
  } catch (err) {
    summary.listError = (err as Error).message.slice(0, 300);
    log.warn("provider list failed; skipping provider-based checks this tick", { error: summary.listError });
  }

  const readAt = ctx.now();
  const rows = await listNotDeleted(ctx.db);
  deps.observed?.(rows, readAt);
  const now = ctx.now();

  const toCheckStarting: InstanceRow[] = [];
  const toCheckIdle: InstanceRow[] = [];
  const toCheckClaimed: InstanceRow[] = [];
  const expiredClaims: InstanceRow[] = [];

  // The provider's deployment status, recorded for every row whose status changed: one
  // batch of one UPDATE per distinct status, not one round trip per row.
  if (services) {
    const changed = new Map<string, string[]>();
    for (const row of rows) {
      const svc = services.get(row.serviceName);
      if (svc && svc.rawStatus !== row.deploymentStatus && row.status !== "deleting") {
        const ids = changed.get(svc.rawStatus) ?? [];
        ids.push(row.id);
        changed.set(svc.rawStatus, ids);
      }
    }
    await batchAll(
      ctx.db,
      [...changed].flatMap(([status, ids]) => chunk(ids, IDS_PER_STATEMENT).map((part) => ctx.db.update(instances).set({ deploymentStatus: status }).where(idIn(part)))),
    );
  }

  // 2–3. Readiness candidates, failures and deadlines (worker/domain/instance-check.ts).
  const hostFailures: { row: InstanceRow; reason: string }[] = [];
  for (const row of rows) {
    const svc = services?.get(row.serviceName);
    const verdict = hostVerdict(row, { listed: services !== null, service: svc, claimInFlight: deps.inFlightClaims.has(row.id), createInFlight: deps.creatingNow.has(row.id) }, now);
    switch (verdict.action) {
      case "adopt":
        await adoptService(ctx, settings, row, svc!, ACTOR);
        break;
      case "fail":
        hostFailures.push({ row, reason: verdict.reason });
        break;
      case "probe":
        if (verdict.due) (verdict.kind === "starting" ? toCheckStarting : verdict.kind === "idle" ? toCheckIdle : toCheckClaimed).push(row);
        break;
      case "expired_claim":
        expiredClaims.push(row);
        break;
    }
  }

  // What the host's list said failed, recorded together: one round trip, not one per row.
  const failed = (await batchAll(
    ctx.db,
    hostFailures.flatMap(({ row, reason }) => failQuery(ctx, settings, row, reason, ACTOR) ?? []),
  )) as InstanceRow[][];
  for (const [row] of failed) if (row) row.status === "crashed" ? summary.crashed++ : summary.failed++;

  // Health checks, bounded and with short timeouts; the check itself changes nothing on the instance.
  // Within INSTANCE_CHECK_SUBREQUESTS_PER_TICK: starting instances first, then claimed and idle
  // ones, each checked longest ago first (what is left over is due again next tick).
  const lastChecked = (r: InstanceRow) => r.lastHealthAt ?? r.claimedAt ?? 0;
  toCheckIdle.sort((a, b) => lastChecked(a) - lastChecked(b));
  toCheckClaimed.sort((a, b) => lastChecked(a) - lastChecked(b));
  let budget = INSTANCE_CHECK_SUBREQUESTS_PER_TICK;
  const starting = toCheckStarting.slice(0, budget);
  budget -= starting.length;
  const claimedNow = toCheckClaimed.slice(0, Math.min(MAX_CLAIMED_CHECKS_PER_TICK, Math.floor(budget / 2)));
  budget -= 2 * claimedNow.length;
  const toCheck = [...starting, ...toCheckIdle.slice(0, budget)];
  const healthyIdle: string[] = [];
  // What the checks found, recorded together after them: one round trip per batch, not one per row.
  const outcomes: { query: RowQuery; counted?: (row: InstanceRow) => void }[] = [];
  await mapLimit(toCheck, HEALTH_CONCURRENCY, async (row) => {
    summary.healthChecks++;
    const verdict = probeVerdict(row, await ctx.instances.health(row.url!));
    switch (verdict.action) {
      case "fail": {
        const query = failQuery(ctx, settings, row, verdict.reason, ACTOR);
        if (query) outcomes.push({ query, counted: (moved) => (moved.status === "crashed" ? summary.crashed++ : summary.failed++) });
        return;
      }
      case "ready":
        outcomes.push({
          query: markReadyQuery(ctx, settings, row, verdict, ACTOR),
          counted: (moved) => {
            summary.readied++;
            ctx.idle.admit(moved);
          },
        });
        return;
      case "healthy":
        healthyIdle.push(row.id);
        return;
      case "unhealthy":
        outcomes.push({ query: recordUnhealthyQuery(ctx, row, verdict.failures, verdict.reason) });
        return;
    }
  });
  // The healthy idle re-checks go in the same batch (still only while the instance is idle).
  const checkedAt = ctx.now();
  const healthy = chunk(healthyIdle, IDS_PER_STATEMENT).map((part) =>
    ctx.db
      .update(instances)
      .set({ lastHealthAt: checkedAt, healthFailures: 0 })
      .where(and(idIn(part), eq(instances.status, "idle"))),
  );
  const results = await batchAll(ctx.db, [...outcomes.map((o) => o.query), ...healthy]);
  outcomes.forEach((o, i) => {
    const row = (results[i] as InstanceRow[] | undefined)?.[0];
    if (row) o.counted?.(row);
  });

  await checkClaimed(ctx, settings, claimedNow, summary);

  // Half-done claims: the coordinator that reserved them is gone. Ask the instance.
  for (const row of expiredClaims) {
    if (await recoverExpiredClaim(ctx, settings, row, ACTOR)) summary.recoveredClaims++;
  }

  // Orphans: services with our prefix that no live row owns.
  if (services) {
    const owned = new Set(rows.filter((r) => r.status !== "deleted").map((r) => r.serviceName));
    const orphans = [...services.values()].filter((svc) => !owned.has(svc.name)).slice(0, MAX_ORPHAN_DELETES_PER_TICK);
    for (const svc of orphans) {
      try {
        await ctx.compute.destroy(svc.serviceId);
        summary.orphansDeleted++;
        log.info("orphan service deleted", { service: svc.name });
      } catch (err) {
        log.warn("orphan delete failed", { service: svc.name, error: (err as Error).message });
      }
    }
  }

  if (deps.rollout) {
    try {
      await deps.rollout(services);
    } catch (err) {
      // A failing rollout step must not stop the pool's own upkeep; the next tick tries again.
      log.error("rollout step failed", { error: (err as Error).message });
    }
  }

  // 4. Replenish.
  const made = await deps.replenish();
  summary.created = made.created;
  summary.createFailures = made.failed;

  // 5. Cleanup: dead instances start their teardown; deleting ones retry when their backoff is over.
  // Every dead row moves to deleting in one compare-and-set statement (the status trigger
  // writes each row's event, as `transition` would).
  const cleanupAt = ctx.now();
  await ctx.db
    .update(instances)
    .set({ ...bulkTransitionSet("dead", "deleting", { now: cleanupAt, reason: "cleanup of dead instance", actor: ACTOR }, settings), teardownAttempts: 0, nextTeardownAt: cleanupAt })
    .where(eq(instances.status, "dead"));
  const due = await ctx.db
    .select()
    .from(instances)
    .where(and(eq(instances.status, "deleting"), sql`coalesce(${instances.nextTeardownAt}, 0) <= ${ctx.now()}`))
    .orderBy(asc(sql`coalesce(${instances.nextTeardownAt}, 0)`), asc(instances.id))
    .limit(MAX_TEARDOWNS_PER_TICK);
  summary.tornDown += await deps.teardown(due);

  summary.durationMs = ctx.now() - startedAt;
  return summary;
}

/** A failure observed by a check: `crashed` for a user-facing instance, `dead` otherwise (compare-and-set on the status seen). */
export async function failInstance(ctx: PoolContext, settings: PoolSettings, row: InstanceRow, reason: string, actor: string): Promise<InstanceRow | null> {
  const query = failQuery(ctx, settings, row, reason, actor);
  const [moved] = query ? await query : [];
  return moved ?? null;
}

/**
 * The statement behind `failInstance`, unexecuted, so a tick sends its failures in one batch;
 * null when the status cannot fail, or when a claim took the idle instance meanwhile (it is the
 * claim's to judge now). Call it right before sending: an idle instance leaves the claimable queue here.
 */
function failQuery(ctx: PoolContext, settings: PoolSettings, row: InstanceRow, reason: string, actor: string) {
  if (row.status === "idle" && !ctx.idle.release(row.id)) return null;
  return transitionQuery(ctx.db, { id: row.id, from: row.status as InstanceStatus, to: failureStatus(row.status as InstanceStatus), reason, actor, now: ctx.now() }, settings);
}

/**
 * A create that died after the provider made the service: adopt it, finishing its first deploy
 * (volume first) if it never got one. Without a public URL (it died before the domain was
 * made) nothing could ever reach it: record the service so cleanup deletes it, rather than
 * waiting out the stuck timeout.
 */
export async function adoptService(ctx: PoolContext, settings: PoolSettings, row: InstanceRow, svc: ServiceObservation, actor: string): Promise<InstanceRow | null> {
  const unfinished = svc.url ? await resumeCreate(ctx, row, svc) : "it has no public URL";
  return transition(
    ctx.db,
    unfinished === null
      ? { id: row.id, from: "creating", to: "starting", reason: "adopted service found by name", actor, now: ctx.now(), set: { serviceId: svc.serviceId, url: svc.url } }
      : { id: row.id, from: "creating", to: "dead", reason: `found its service by name, but ${unfinished}`, actor, now: ctx.now(), set: { serviceId: svc.serviceId } },
    settings,
  );
}

/** A starting instance whose health said ready. */
export async function markReady(
  ctx: PoolContext,
  settings: PoolSettings,
  row: InstanceRow,
  reported: { version: string | null; capabilities: string[] | null },
  actor: string,
): Promise<InstanceRow | null> {
  const [moved] = await markReadyQuery(ctx, settings, row, reported, actor);
  if (moved) ctx.idle.admit(moved);
  return moved ?? null;
}

function markReadyQuery(ctx: PoolContext, settings: PoolSettings, row: InstanceRow, reported: { version: string | null; capabilities: string[] | null }, actor: string) {
  return transitionQuery(
    ctx.db,
    {
      id: row.id,
      from: "starting",
      to: "idle",
      reason: "health check ready",
      actor,
      now: ctx.now(),
      set: { readyAt: ctx.now(), lastHealthAt: ctx.now(), healthFailures: 0, runtimeVersion: reported.version, capabilities: reported.capabilities },
    },
    settings,
  )!;
}

/** An idle instance's failed health check, counted (still only while it is idle). */
export function recordUnhealthy(ctx: PoolContext, row: InstanceRow, failures: number, reason: string): Promise<InstanceRow | null> {
  return patchInState(ctx.db, row.id, "idle", unhealthyPatch(ctx, failures, reason));
}

function recordUnhealthyQuery(ctx: PoolContext, row: InstanceRow, failures: number, reason: string) {
  return ctx.db
    .update(instances)
    .set(unhealthyPatch(ctx, failures, reason))
    .where(and(eq(instances.id, row.id), eq(instances.status, "idle")))
    .returning();
}

const unhealthyPatch = (ctx: PoolContext, failures: number, reason: string) => ({ lastHealthAt: ctx.now(), healthFailures: failures, lastError: reason });

/** A half-done claim whose coordinator is gone: the instance is asked; clean → back to idle, else crashed. */
export async function recoverExpiredClaim(ctx: PoolContext, settings: PoolSettings, row: InstanceRow, actor: string): Promise<InstanceRow | null> {
  const token = row.gatewayTokenSealed ? await open(ctx.env.POOL_ENCRYPTION_KEY, row.gatewayTokenSealed, row.id).catch(() => null) : null;
  const status = token && row.url ? await ctx.instances.convosStatus(row.url, token) : null;
  const clean = returnsToPool(status);
  const moved = await transition(
    ctx.db,
    clean
      ? {
          id: row.id,
          from: "claiming",
          to: "idle",
          reason: "claim deadline passed, instance clean",
          actor,
          now: ctx.now(),
          set: { claimId: null, agentName: null, joinUrl: null, template: null },
        }
      : { id: row.id, from: "claiming", to: "crashed", reason: status ? "claim deadline passed, instance bound" : "claim deadline passed, instance unreachable", actor, now: ctx.now() },
    settings,
  );
  if (moved?.status === "idle") ctx.idle.admit(moved);
  // Its idempotency key stays: a retry with it finds the instance not bound to it and starts over.
  return moved;
}

/** Finishes an adopted service's create when it never deployed; null when it is complete, else why it cannot be. */
async function resumeCreate(ctx: PoolContext, row: InstanceRow, svc: ServiceObservation): Promise<string | null> {
  if (!svc.undeployed || !ctx.compute.resume) return null;
  try {
    await ctx.compute.resume(
      svc.serviceId,
      async (ids) => {
        if (!(await patchInState(ctx.db, row.id, "creating", ids))) throw new Error("instance left creating while its create was resumed");
      },
      row.image,
    );
    return null;
  } catch (err) {
    return `finishing its create failed: ${(err as Error).message.slice(0, 200)}`;
  }
}

/**
 * Claimed instances: two GETs each, nothing that changes the instance; the verdict is
 * worker/domain/claimed-health.ts's. A healthy one with nothing new costs one shared statement.
 */
async function checkClaimed(ctx: PoolContext, settings: PoolSettings, rows: InstanceRow[], summary: TickSummary): Promise<void> {
  const unchanged: string[] = [];
  await mapLimit(rows, HEALTH_CONCURRENCY, async (row) => {
    const { verdict, moved, unchanged: same } = await checkClaimedOne(ctx, settings, row, ACTOR);
    if (same) unchanged.push(row.id);
    if (verdict.action === "healthy") summary.claimedChecks[verdict.acceptedConversationId ? "join_accepted" : "healthy"]++;
    else if (verdict.action === "degraded") summary.claimedChecks.degraded++;
    else if (moved) {
      summary.crashed++;
      summary.claimedChecks.crashed++;
    }
  });
  const checkedAt = ctx.now();
  await batchAll(
    ctx.db,
    chunk(unchanged, IDS_PER_STATEMENT).map((part) =>
      ctx.db
        .update(instances)
        .set({ lastHealthAt: checkedAt })
        .where(and(idIn(part), eq(instances.status, "claimed"))),
    ),
  );
}

/**
 * One claimed instance's check and what it changed. `unchanged`: healthy with nothing new, its
 * `lastHealthAt` left to the caller (the tick records those in one shared statement).
 */
export async function checkClaimedOne(
  ctx: PoolContext,
  settings: PoolSettings,
  row: InstanceRow,
  actor: string,
): Promise<{ verdict: ClaimedVerdict; moved: InstanceRow | null; unchanged: boolean; healthReason: string | null }> {
  const health = await ctx.instances.health(row.url!);
  const token = health.ok && row.gatewayTokenSealed ? await open(ctx.env.POOL_ENCRYPTION_KEY, row.gatewayTokenSealed, row.id).catch(() => null) : null;
  const status = token ? await ctx.instances.convosStatus(row.url!, token) : null;
  const now = ctx.now();
  const verdict = claimedVerdict(row, { health, status }, now);
  const healthReason = health.ok ? null : health.reason;
  switch (verdict.action) {
    case "healthy":
      if (verdict.acceptedConversationId) {
        await patchInState(ctx.db, row.id, "claimed", { ...recovered(now), ...joinAccepted(verdict.acceptedConversationId) });
      } else if (row.degradedSince !== null) {
        await patchInState(ctx.db, row.id, "claimed", recovered(now));
      } else {
        return { verdict, moved: null, unchanged: true, healthReason };
      }
      return { verdict, moved: null, unchanged: false, healthReason };
    case "degraded":
      if (row.degradedSince === null) log.warn("claimed instance degraded", { instanceId: row.id, reason: verdict.reason });
      await patchInState(ctx.db, row.id, "claimed", { lastHealthAt: now, degradedSince: verdict.since, degradedReason: verdict.reason });
      return { verdict, moved: null, unchanged: false, healthReason };
    case "crash": {
      const moved = await transition(
        ctx.db,
        { id: row.id, from: "claimed", to: "crashed", reason: verdict.reason, actor, now, set: { lastError: verdict.reason, lastHealthAt: now, degradedSince: null, degradedReason: null } },
        settings,
      );
      if (moved) log.warn("claimed instance crashed", { instanceId: row.id, reason: verdict.reason });
      return { verdict, moved, unchanged: false, healthReason };
    }
  }
}

const recovered = (now: number) => ({ lastHealthAt: now, healthFailures: 0, degradedSince: null, degradedReason: null });

/** What a pending join that the creator accepted changes on the row (the instance's report or the tick's check). */
export const joinAccepted = (conversationId: string) => ({ conversationId, claimStatus: "joined" as const, joined: true });

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `id IN (…)` with the ids as one JSON parameter, so a statement is not bound by SQLite's parameter limit. */
function idIn(ids: string[]) {
  return sql`${instances.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
}

/** Claims in the recent window, which the replenish buffer follows. */
export async function recentClaimCount(ctx: PoolContext, windowMs = 15 * 60_000): Promise<number> {
  const [row] = await ctx.db
    .select({ n: sql<number>`count(*)` })
    .from(instances)
    .where(gt(instances.claimedAt, ctx.now() - windowMs));
  return Number(row?.n ?? 0);
}

export { countByStatus };
