import { DurableObject } from "cloudflare:workers";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { WebhookAnswer } from "../../worker/api/schemas";
import { countByStatus, findByService, getInstance, transition } from "../../worker/db/instances";
import { instances, type InstanceRow } from "../../worker/db/schema";
import { breakerAllows, breakerPhase, closedBreaker, probeLimit, recordFailure, recordSuccess, type BreakerState } from "../../worker/domain/breaker";
import type { InstanceStatus } from "../../worker/domain/lifecycle";
import { decideOperatorReplenish, decideReplenish } from "../../worker/domain/replenish";
import { defaultSettings, mergeSettings, type PoolSettings, type PoolSettingsPatch } from "../../worker/domain/settings";
import { instanceTokenMatches } from "../../worker/instances/instance-token";
import { stableStringify } from "../../worker/lib/ids";
import { mapLimit } from "../../worker/lib/concurrency";
import { type KeepAlive, keepAliveAction } from "../../worker/domain/keep-alive";
import { joinRunningTick } from "../../worker/domain/tick-guard";
import { log } from "../../worker/lib/log";
import { type DeploymentEvent, orderEvent, type ServiceEventMemory } from "../../worker/domain/deployment-events";
import { railwayState } from "../../worker/providers/compute/railway";
import { open } from "../../worker/crypto/sealed";
import type { ServiceObservation } from "../../worker/providers/compute/types";
import { checkInstance } from "./instance-check";
import { type ClaimHooks, runClaim, type ClaimTimings } from "./claim";
import { createPoolContext, loadSettings, saveSettings, type PoolContext } from "./context";
import { createInstance } from "./create-instance";
import { recordJoinReport } from "./join-report";
import type { JoinReport } from "../../runtime-container/plugins/convos/src/join-report";
import { bump, emptyMetrics, observe, type PoolMetrics } from "./metrics";
import type { BreakerView, ClaimInput, ClaimOutcome, CoordinatorStatus, DrainOutcome, InstanceActionOutcome, RecheckOutcome, ReplenishOutcome, SettingsOutcome, TickSummary } from "./outcomes";
import { ClaimRecords } from "./claim-records";
import { Outbox, outboxView, type OutboxView } from "./outbox";
import { GroupCommit } from "./group-commit";
import { IdleQueue } from "./idle-queue";
import { teardown, teardownMany } from "./teardown";
import { recentClaimCount, runTick } from "./tick";
import { desiredImage, progress, rolloutAction, runRolloutStep, startRollout, upgradeAllClaimed, upgradeInstance, type UpgradeOutcome } from "./rollout";
import type { RolloutAction, RolloutActionOutcome, RolloutProgress } from "../../worker/domain/rollout";

export type * from "./outcomes";

const UNKNOWN_INSTANCE: InstanceActionOutcome = { ok: false, code: "unauthorized", message: "unknown instance or wrong instance token" };

const CREATE_CONCURRENCY = 4;

/**
 * The single writer of the pool. Claims, operator actions and the tick all run here, so
 * decisions see one consistent pool; because D1 and fetch awaits let other calls interleave,
 * every write is still a compare-and-set on the state it expects.
 */
export class PoolCoordinator extends DurableObject<Env> {
  private readonly pool: PoolContext;
  protected readonly commit: GroupCommit;
  /** Protected for the benchmark's subclass, which reseeds D1 behind the coordinator and resyncs it. */
  protected readonly idleQueue: IdleQueue;
  private readonly claimHooks: ClaimHooks;
  private readonly claimRecords: ClaimRecords;
  /** Protected for the benchmark's subclass (bench/worker/entry.ts), which reads its figures. */
  protected readonly outbox: Outbox;
  private settingsCache: PoolSettings | null = null;
  private breaker: BreakerState = closedBreaker;
  private metrics: PoolMetrics = emptyMetrics();
  private lastTick: TickSummary | null = null;
  private tickInFlight: Promise<TickSummary> | null = null;
  /** An alarm is set (this coordinator set it or saw it): a claim need not ask storage again. Cleared when it fires. */
  private alarmSet = false;
  private tickStartedAt: number | null = null;
  private replenishInFlight: Promise<ReplenishOutcome> | null = null;
  private lastEmptyReplenishAt = 0;
  private readonly inFlightClaims = new Set<string>();
  private readonly releasedClaims = new Set<string>();
  private metricsSaveTimer: ReturnType<typeof setTimeout> | null = null;
  /** In flight, or bound here with D1 not told yet: either way nothing but that claim's own writes may touch the row. */
  private readonly claimsNotInD1 = {
    has: (id: string) => this.inFlightClaims.has(id) || this.outbox.isPending(id),
  };
  private readonly creatingNow = new Set<string>();
  private readonly claimsByKey = new Map<string, { body: string; promise: Promise<ClaimOutcome> }>();
  /** Deployment events being applied, per service: the next one of that service waits its turn. */
  private readonly eventChains = new Map<string, Promise<WebhookAnswer>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.pool = createPoolContext(env);
    this.claimRecords = new ClaimRecords(ctx.storage);
    this.outbox = new Outbox(ctx.storage, () => this.pool.env.DB);
    // A failed commit rolled back what its writes did to the tables: memory beside them follows.
    this.commit = new GroupCommit(ctx.storage, () => {
      this.outbox.reload();
      this.idleQueue.reload();
    });
    this.idleQueue = new IdleQueue(
      ctx.storage,
      (id) => this.claimsNotInD1.has(id),
      (id, readAt) => this.outbox.behindFor(id, readAt),
      (sealed, id) => open(this.pool.env.POOL_ENCRYPTION_KEY, sealed, id),
    );
    this.pool.idle = this.idleQueue;
    // What every claim is handed: built once, not per claim.
    this.claimHooks = {
      onEmpty: () => this.replenishOnEmpty(),
      onSkip: (reason) => bump(this.metrics.claimSkips, reason),
      inFlight: this.inFlightClaims,
      released: this.releasedClaims,
      outbox: this.outbox,
      idle: this.idleQueue,
      commit: this.commit,
      records: this.claimRecords,
    };
    ctx.blockConcurrencyWhile(async () => {
      this.breaker = (await ctx.storage.get<BreakerState>("breaker")) ?? closedBreaker;
      this.metrics = { ...emptyMetrics(), ...((await ctx.storage.get<PoolMetrics>("metrics")) ?? {}) };
      this.lastTick = (await ctx.storage.get<TickSummary>("lastTick")) ?? null;
      // The coordinator starts even when this copy fails: a retry of a pre-upgrade claim then
      // starts over instead of replaying, and the next start copies again.
      try {
        const imported = await this.claimRecords.importFromD1(this.pool.db, this.pool.now());
        if (imported > 0) log.info("idempotency keys copied from D1 into the coordinator", { imported });
      } catch (err) {
        log.warn("could not copy idempotency keys from D1; will try at the next start", { error: (err as Error).message });
      }
    });
    // Claim writes a previous run of the coordinator committed but did not get to D1.
    if (this.outbox.pending() > 0) void this.outbox.flush();
  }

  // --- claims ------------------------------------------------------------------------------

  async claim(input: ClaimInput): Promise<ClaimOutcome> {
    const started = Date.now();
    const key = input.idempotencyKey;
    const body = key ? stableStringify(input.request) : "";
    // Concurrent requests with the same key share the first one's outcome. The map is
    // written before any await, so two requests cannot both miss it.
    const existing = key ? this.claimsByKey.get(key) : undefined;
    if (existing) {
      if (existing.body !== body) {
        return { ok: false, code: "idempotency_conflict", message: "Idempotency-Key was already used with a different request body" };
      }
      const shared = await existing.promise;
      return shared.ok ? { ...shared, replayed: true } : shared;
    }

    const timings: ClaimTimings = { poolMs: 0, provisionMs: 0 };
    const promise = (async () => {
      await this.armAlarm();
      const settings = await this.settings();
      return runClaim(this.pool, settings, input.request, input.template, key, input.actor ?? "api", this.claimHooks, timings);
    })();
    if (key) this.claimsByKey.set(key, { body, promise });
    try {
      const outcome = await promise;
      bump(this.metrics.claims, outcome.ok ? (outcome.replayed ? "replayed" : "success") : outcome.code);
      if (outcome.ok && !outcome.replayed) {
        observe(this.metrics.claimPoolSeconds, (timings.poolMs || Date.now() - started) / 1000);
        observe(this.metrics.claimTotalSeconds, (Date.now() - started) / 1000);
      }
      // Not awaited per claim: a storage write per claim is a commit per claim.
      this.saveMetricsSoon();
      // Timings ride along for the Server-Timing header; the shared (idempotent) promise stays untouched.
      return outcome.ok && !outcome.replayed ? { ...outcome, timings: { ...timings } } : outcome;
    } finally {
      if (key) this.claimsByKey.delete(key);
    }
  }

  // --- operator actions --------------------------------------------------------------------

  /** Creates `count` instances now, beyond the target, within `maxTotal`. */
  async replenish(count: number): Promise<ReplenishOutcome> {
    await this.armAlarm();
    return this.createInstances(count, "operator replenish", "operator", true);
  }

  /** Removes up to `count` unclaimed instances, idle ones first; claimed instances are never drained. */
  async drain(count: number): Promise<DrainOutcome> {
    const settings = await this.settings();
    const candidates = await this.pool.db
      .select()
      .from(instances)
      .where(inArray(instances.status, ["idle", "starting", "creating"]))
      .orderBy(asc(instances.readyAt), asc(instances.createdAt));
    const order: Record<string, number> = { idle: 0, starting: 1, creating: 2 };
    candidates.sort((a, b) => order[a.status]! - order[b.status]!);
    const drained: InstanceRow[] = [];
    for (const row of candidates) {
      if (drained.length >= count) break;
      if (this.creatingNow.has(row.id)) continue;
      if (row.status === "idle" && !this.idleQueue.release(row.id)) continue;
      const moved = await transition(
        this.pool.db,
        { id: row.id, from: row.status as InstanceStatus, to: "deleting", reason: "drained by operator", actor: "operator", now: Date.now(), set: { nextTeardownAt: Date.now() } },
        settings,
      );
      if (moved) drained.push(moved);
    }
    this.ctx.waitUntil(Promise.all(drained.map((row) => teardown(this.pool, row, settings, "operator"))).then(() => undefined));
    return { requested: count, drained: drained.map((r) => r.id) };
  }

  /** Destroys one instance whatever its state (the operator's kill switch). */
  async kill(id: string): Promise<InstanceActionOutcome> {
    return this.remove(id, ["creating", "starting", "idle", "claiming", "claimed", "upgrading", "crashed", "dead"], "killed by operator", "operator");
  }

  /** Removes a crashed instance the operator has looked at. */
  async dismiss(id: string): Promise<InstanceActionOutcome> {
    return this.remove(id, ["crashed"], "dismissed by operator", "operator");
  }

  /** An instance asking to be destroyed (after `explode`), authenticated by its own gateway token. */
  async selfDestruct(id: string, token: string): Promise<InstanceActionOutcome> {
    if (!(await this.instanceTokenMatches(id, token))) return UNKNOWN_INSTANCE;
    return this.remove(id, ["claimed", "crashed", "claiming", "idle"], "self-destruct requested by the instance", "instance");
  }

  /** An instance telling how its pending join ended (authenticated by its own gateway token). */
  async joinResolved(id: string, token: string, report: JoinReport): Promise<InstanceActionOutcome> {
    if (!(await this.instanceTokenMatches(id, token))) return UNKNOWN_INSTANCE;
    // The instance may report its join before its bind has reached D1.
    await this.outbox.flush();
    return recordJoinReport(this.pool, await this.settings(), id, report);
  }

  private async instanceTokenMatches(id: string, token: string): Promise<boolean> {
    return instanceTokenMatches(this.env.POOL_ENCRYPTION_KEY, await getInstance(this.pool.db, id), token);
  }

  // --- per-instance recheck and deployment events (issue 15 §3–4) ---------------------------

  /** The tick's checks for one instance, now, whatever the tick's cadence (an operator's recheck). */
  async recheck(id: string): Promise<RecheckOutcome> {
    await this.outbox.flush();
    const row = await getInstance(this.pool.db, id);
    if (!row || row.status === "deleted") return { ok: false, code: "not_found", message: `instance ${id} does not exist` };
    let service: ServiceObservation | undefined;
    let listError: string | null = null;
    try {
      service = (await this.pool.compute.list()).find((s) => s.name === row.serviceName);
    } catch (err) {
      listError = (err as Error).message.slice(0, 300);
      bump(this.metrics.providerErrors, this.pool.compute.name);
    }
    const listed = listError === null;
    const report = await checkInstance(
      this.pool,
      await this.settings(),
      row,
      { listed, service, claimInFlight: this.claimsNotInD1.has(id), createInFlight: this.creatingNow.has(id) },
      { actor: "recheck", probe: "always", adopt: true, source: listed ? "list" : "none", listError },
    );
    bump(this.metrics.rechecks, report.outcome);
    await this.saveMetrics();
    return { ok: true, report };
  }

  /**
   * A Railway deployment event (worker/routes/webhooks.ts), applied through the same check the
   * tick runs with the event as the host's observation. Events of one service are applied one
   * at a time in arrival order, so a redelivery cannot pass the replay check while the first
   * delivery is still being applied.
   */
  async deploymentEvent(event: DeploymentEvent): Promise<WebhookAnswer> {
    const previous = this.eventChains.get(event.serviceId);
    const run = (previous ?? Promise.resolve()).catch(() => undefined).then(() => this.applyDeploymentEvent(event));
    this.eventChains.set(event.serviceId, run);
    try {
      return await run;
    } finally {
      if (this.eventChains.get(event.serviceId) === run) this.eventChains.delete(event.serviceId);
    }
  }

  /** An event the Worker ignored before it reached the pool (not a deployment event, another project), counted for /metrics. */
  async countIgnoredEvent(type: string, reason: string): Promise<void> {
    this.countEvent(type, reason);
    await this.saveMetrics();
  }

  private async applyDeploymentEvent(event: DeploymentEvent): Promise<WebhookAnswer> {
    const key = `deploy-events:${event.serviceId}`;
    const answer = await (async (): Promise<WebhookAnswer> => {
      await this.outbox.flush();
      const row = await findByService(this.pool.db, event.serviceId, event.serviceName);
      if (!row) {
        // Its instance is gone (or it never was one of ours): nothing to order its events against any more.
        await this.ctx.storage.delete(key);
        return { outcome: "ignored", reason: "unknown_service", message: `no instance of this pool owns service ${event.serviceId}`, instanceId: null, report: null };
      }
      const order = orderEvent(event, await this.ctx.storage.get<ServiceEventMemory>(key));
      if (!order.apply) return { outcome: "ignored", reason: order.reason, message: order.message, instanceId: row.id, report: null };
      const report = await checkInstance(
        this.pool,
        await this.settings(),
        row,
        { listed: true, service: { state: railwayState(event.status), rawStatus: event.status }, claimInFlight: this.claimsNotInD1.has(row.id), createInFlight: this.creatingNow.has(row.id) },
        { actor: "railway-webhook", probe: "starting", adopt: false, source: "event" },
      );
      await this.ctx.storage.put(key, order.remember);
      if (report.transition) log.warn("deployment event moved an instance", { instanceId: row.id, type: event.type, status: event.status, to: report.transition.to });
      return { outcome: "applied", reason: "applied", message: report.reasons.join("; "), instanceId: row.id, report };
    })();
    this.countEvent(event.type, answer.reason);
    await this.saveMetrics();
    return answer;
  }

  private countEvent(type: string, reason: string): void {
    this.metrics.webhookEvents[type] ??= {};
    bump(this.metrics.webhookEvents[type]!, reason);
  }

  async reconcile(): Promise<TickSummary> {
    await this.armAlarm();
    return this.tick("reconcile");
  }

  /** The Worker's Cron Trigger: arms a missing alarm (a fresh deployment), ticks now when the alarm is overdue (a lost one). */
  async keepAlive(): Promise<KeepAlive> {
    const decision = keepAliveAction(await this.ctx.storage.getAlarm(), Date.now());
    // Storage has none, whatever this coordinator last knew.
    if (decision.action === "arm") await this.armAlarm(true);
    if (decision.action === "tick") {
      log.warn("coordinator alarm overdue; ticking from the cron", { lateMs: decision.lateMs });
      await this.alarm();
    }
    return decision;
  }

  async getSettings(): Promise<PoolSettings> {
    return this.settings();
  }

  async putSettings(patch: PoolSettingsPatch): Promise<SettingsOutcome> {
    const merged = mergeSettings(await this.settings(), patch);
    if (!merged.ok) return merged;
    await saveSettings(this.pool, merged.settings);
    this.settingsCache = merged.settings;
    if (patch.tickIntervalMs !== undefined) await this.ctx.storage.setAlarm(Date.now() + merged.settings.tickIntervalMs);
    return merged;
  }

  /** Sends D1 what the coordinator holds for it (claims' writes); answers how many statements still wait (D1 refused them). */
  async settle(): Promise<number> {
    await this.outbox.flush();
    return this.outbox.pending();
  }

  async status(): Promise<CoordinatorStatus> {
    return { breaker: this.breakerView(), lastTick: this.lastTick, nextTickAt: await this.ctx.storage.getAlarm() };
  }

  async getMetrics(): Promise<PoolMetrics & { breaker: BreakerView; outbox: OutboxView; idleQueue: { size: number; drift: number }; commits: GroupCommit["stats"] }> {
    return {
      ...this.metrics,
      commits: { ...this.commit.stats },
      breaker: this.breakerView(),
      outbox: outboxView(this.outbox.stats, this.outbox.pending()),
      idleQueue: { size: this.idleQueue.size(), drift: this.idleQueue.drift },
    };
  }

  // --- rollouts of the runtime image (./rollout.ts) -----------------------------------------

  /** Sets the desired image: a rollout from the current one starts (or the running one to it is returned). */
  async setDesiredImage(image: string, batchSize: number, actor = "operator"): Promise<RolloutActionOutcome> {
    await this.armAlarm();
    return startRollout(this.pool, image, batchSize, actor);
  }

  async rolloutProgress(): Promise<RolloutProgress> {
    return progress(this.pool);
  }

  async rolloutAction(action: RolloutAction, actor = "operator"): Promise<RolloutActionOutcome> {
    return rolloutAction(this.pool, action, actor);
  }

  async upgradeAllClaimed(actor = "operator"): Promise<RolloutActionOutcome> {
    await this.armAlarm();
    await this.outbox.flush();
    return upgradeAllClaimed(this.pool, actor);
  }

  /** Redeploys one claimed instance on `image` (the desired image by default) with its volume. */
  async upgradeInstance(id: string, image?: string, actor = "operator"): Promise<UpgradeOutcome> {
    await this.armAlarm();
    const target = image ?? (await desiredImage(this.pool));
    if (target === null) return { ok: false, code: "no_rollout", message: "no desired image is set on this pool; set one first or name the image" };
    await this.outbox.flush();
    return upgradeInstance(this.pool, await this.settings(), id, target, actor);
  }

  private async rolloutStep(settings: PoolSettings, services: Map<string, ServiceObservation> | null): Promise<void> {
    const step = await runRolloutStep({
      ctx: this.pool,
      settings,
      services,
      create: async (count, reason) => {
        // The rollout's surge respects the breaker like any create; the domain already kept it within maxTotal.
        if (!breakerAllows(this.breaker, Date.now())) return { created: 0, failed: 0 };
        const made = await this.createInstances(count, reason, "rollout", true);
        return { created: made.created.length, failed: made.failed };
      },
    });
    if (Object.values(step).some((n) => n > 0)) log.info("rollout step", { ...step });
  }

  // --- the tick ----------------------------------------------------------------------------

  async alarm(info?: AlarmInvocationInfo): Promise<void> {
    this.alarmSet = false;
    try {
      await this.tick(info?.isRetry ? `alarm (retry ${info.retryCount})` : "alarm");
    } catch (err) {
      // Never throw out of the alarm: a throwing alarm is retried a few times and then
      // dropped, which would stop the pool. Log it and let the next tick try again.
      log.error("tick failed", { error: (err as Error).message });
    } finally {
      await this.armAlarm(true);
    }
  }

  private async tick(trigger: string): Promise<TickSummary> {
    if (this.tickInFlight && joinRunningTick(this.tickStartedAt, Date.now())) return this.tickInFlight;
    if (this.tickInFlight) log.error("tick hung; starting another", { runningSinceMs: Date.now() - (this.tickStartedAt ?? 0) });
    const run = (async () => {
      const settings = await this.settings();
      // The tick reads D1: bring it level with the coordinator first. What a refused flush
      // leaves behind counts as in flight, so the tick leaves those rows alone.
      await this.outbox.flush();
      const summary = await runTick(
        {
          ctx: this.pool,
          settings,
          inFlightClaims: this.claimsNotInD1,
          creatingNow: this.creatingNow,
          replenish: async () => {
            const made = await this.replenishNow(0, "replenish to target");
            return { created: made.created.length, failed: made.failed };
          },
          teardown: (rows) => this.teardownCounted(rows, settings),
          rollout: (services) => this.rolloutStep(settings, services),
          // The queue of claimable instances against the idle rows the tick just read: what D1
          // has and the queue lacks goes in, what D1 no longer has idle (and no claim holds)
          // comes out, counted as drift. What the tick changes after this goes through the queue.
          observed: (rows, readAt) => {
            const queue = this.idleQueue.reconcile(
              rows.filter((r) => r.status === "idle"),
              readAt,
            );
            if (queue.removed > 0) log.warn("idle queue drift repaired from D1", { ...queue });
          },
        },
        trigger,
      );
      this.claimRecords.purgeExpired(Date.now());
      await this.dropFinishedJoins();
      this.lastTick = summary;
      this.metrics.ticks++;
      observe(this.metrics.tickSeconds, summary.durationMs / 1000);
      if (summary.listError) bump(this.metrics.providerErrors, this.pool.compute.name);
      for (const [verdict, n] of Object.entries(summary.claimedChecks)) if (n) bump(this.metrics.claimedChecks, verdict, n);
      await this.ctx.storage.put("lastTick", summary);
      await this.saveMetrics();
      return summary;
    })();
    this.tickInFlight = run;
    this.tickStartedAt = Date.now();
    try {
      return await run;
    } finally {
      // A hung tick that settles late must not clear the tick that replaced it.
      if (this.tickInFlight === run) {
        this.tickInFlight = null;
        this.tickStartedAt = null;
      }
    }
  }

  /** Arms the alarm if none is set (or re-arms it after a tick). */
  private async armAlarm(force = false): Promise<void> {
    if (this.alarmSet && !force) return;
    const current = await this.ctx.storage.getAlarm();
    if (current !== null && !force) {
      this.alarmSet = true;
      return;
    }
    // Settings live in D1; if D1 is failing (the likely reason a tick just threw), still
    // re-arm on the default interval: an alarm that throws here would stop the pool.
    const interval = await this.settings().then(
      (s) => s.tickIntervalMs,
      () => defaultSettings(this.env).tickIntervalMs,
    );
    await this.ctx.storage.setAlarm(Date.now() + interval);
    this.alarmSet = true;
  }

  // --- creation and teardown ---------------------------------------------------------------

  /**
   * Brings the pool up to its target (extra = 0), or creates `extra` more on an operator's
   * request. Concurrent callers share one run so an empty-pool burst does not multiply creates.
   */
  private replenishNow(extra: number, reason: string): Promise<ReplenishOutcome> {
    if (extra === 0 && this.replenishInFlight) return this.replenishInFlight;
    const run = this.createInstances(extra, reason, "pool", false);
    if (extra === 0) {
      this.replenishInFlight = run;
      run.finally(() => (this.replenishInFlight = null)).catch(() => {});
    }
    return run;
  }

  /**
   * An empty pool replenishes at once rather than at the next tick; a burst of 503s shares
   * one replenish (and its D1 reads) per second instead of starting one each.
   */
  private replenishOnEmpty(): void {
    const now = Date.now();
    if (now - this.lastEmptyReplenishAt < 1_000) return;
    this.lastEmptyReplenishAt = now;
    this.ctx.waitUntil(this.replenishNow(0, "empty pool on claim").then(() => undefined));
  }

  private async createInstances(extra: number, reason: string, actor: string, operator: boolean): Promise<ReplenishOutcome> {
    const settings = await this.settings();
    const counts = await countByStatus(this.pool.db);
    const now = Date.now();
    let count: number;
    let limitedBy: ReplenishOutcome["limitedBy"] = "none";
    if (operator) {
      ({ create: count, limitedBy } = decideOperatorReplenish(counts, settings, extra));
    } else {
      const decision = decideReplenish({
        counts,
        settings,
        recentClaims: await recentClaimCount(this.pool),
        breakerOpen: !breakerAllows(this.breaker, now),
      });
      count = decision.create;
      limitedBy = decision.limitedBy === "breaker" ? "breaker" : decision.limitedBy === "maxTotal" ? "maxTotal" : "none";
    }
    count = probeLimit(this.breaker, now, count);

    const created: string[] = [];
    let failed = 0;
    const image = count > 0 ? await desiredImage(this.pool) : null;
    // Creates run a few at a time: a host's create call takes seconds, and a wave done one
    // by one would hold the tick for minutes.
    await mapLimit(Array.from({ length: count }), CREATE_CONCURRENCY, async () => {
      if (!operator && !breakerAllows(this.breaker, Date.now())) return;
      const result = await createInstance(this.pool, settings, actor, reason, this.creatingNow, image);
      if (result.ok) {
        created.push(result.row.id);
        this.metrics.creates.ok++;
        this.breaker = recordSuccess(this.breaker);
      } else {
        failed++;
        this.metrics.creates.failed++;
        bump(this.metrics.providerErrors, this.pool.compute.name);
        this.breaker = recordFailure(this.breaker, Date.now(), result.error, settings);
      }
      await this.ctx.storage.put("breaker", this.breaker);
    });
    await this.saveMetrics();
    return { requested: operator ? extra : count, created, failed, limitedBy };
  }

  /** Invites held by claims this coordinator no longer runs (cut off by a reset, or given up on): free once D1 shows the instance out of claiming. */
  private async dropFinishedJoins(): Promise<void> {
    const holders = this.idleQueue.joinHolders().filter((id) => !this.claimsNotInD1.has(id));
    if (holders.length === 0) return;
    const stillClaiming = new Set(
      (
        await this.pool.db
          .select({ id: instances.id })
          .from(instances)
          .where(and(inArray(instances.id, holders), eq(instances.status, "claiming")))
      ).map((r) => r.id),
    );
    for (const id of holders) if (!stillClaiming.has(id) && !this.claimsNotInD1.has(id)) this.idleQueue.dropJoin(id);
  }

  private async teardownCounted(rows: InstanceRow[], settings: PoolSettings): Promise<number> {
    const { deleted, failed } = await teardownMany(this.pool, rows, settings, "tick");
    this.metrics.teardowns.ok += deleted.length;
    this.metrics.teardowns.failed += failed.length;
    return deleted.length;
  }

  private async remove(id: string, from: InstanceStatus[], reason: string, actor: string): Promise<InstanceActionOutcome> {
    await this.outbox.flush();
    const row = await getInstance(this.pool.db, id);
    if (!row || row.status === "deleted") return { ok: false, code: "not_found", message: `instance ${id} does not exist` };
    if (row.status === "deleting") return { ok: true, id, status: "deleting" };
    if (!from.includes(row.status as InstanceStatus)) {
      return { ok: false, code: "invalid_state", message: `instance ${id} is ${row.status}; this action needs one of: ${from.join(", ")}` };
    }
    const settings = await this.settings();
    // Before the write, so no claim takes it meanwhile; a claim already provisioning it is told
    // not to bind it (./claim.ts).
    this.idleQueue.forget(id);
    if (this.inFlightClaims.has(id)) this.releasedClaims.add(id);
    const moved = await transition(this.pool.db, { id, from: row.status as InstanceStatus, to: "deleting", reason, actor, now: Date.now(), set: { nextTeardownAt: Date.now() } }, settings);
    if (!moved) {
      this.releasedClaims.delete(id);
      return { ok: false, code: "invalid_state", message: `instance ${id} changed state meanwhile; try again` };
    }
    this.ctx.waitUntil(teardown(this.pool, moved, settings, actor).then(() => undefined));
    return { ok: true, id, status: "deleting" };
  }

  // --- state -------------------------------------------------------------------------------

  private async settings(): Promise<PoolSettings> {
    this.settingsCache ??= await loadSettings(this.pool);
    return this.settingsCache;
  }

  private breakerView(): BreakerView {
    const { consecutiveFailures, openedAt, openUntil, lastError } = this.breaker;
    return { phase: breakerPhase(this.breaker, Date.now()), consecutiveFailures, openedAt, openUntil, lastError };
  }

  /** Saves the counters within a second: claims come in bursts, and each save would be its own commit. */
  private saveMetricsSoon(): void {
    if (this.metricsSaveTimer) return;
    this.metricsSaveTimer = setTimeout(() => {
      this.metricsSaveTimer = null;
      this.saveMetrics().catch((err) => log.warn("could not save metrics", { error: (err as Error).message }));
    }, 1_000);
  }

  private saveMetrics(): Promise<void> {
    return this.ctx.storage.put("metrics", this.metrics);
  }
}
