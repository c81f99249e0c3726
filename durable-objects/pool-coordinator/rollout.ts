import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { getInstance, listNotDeleted, patchInState, transition } from "../../worker/db/instances";
import { instances, type InstanceRow, type RolloutRow, rollouts } from "../../worker/db/schema";
import { deadlineFor } from "../../worker/domain/lifecycle";
import {
  decideRolloutStep,
  effectiveImage,
  imageLabel,
  ROLLOUT_ACTIONS,
  type RolloutAction,
  type RolloutActionOutcome,
  type RolloutInstance,
  type RolloutProgress,
  type RolloutState,
  type RolloutSummary,
  rolloutProgress,
} from "../../worker/domain/rollout";
import type { PoolSettings } from "../../worker/domain/settings";
import { mapLimit } from "../../worker/lib/concurrency";
import { newId } from "../../worker/lib/ids";
import { log } from "../../worker/lib/log";
import type { ServiceObservation } from "../../worker/providers/compute/types";
import type { PoolContext } from "./context";

/**
 * The I/O side of rollouts (worker/domain/rollout.ts decides): the rollout row in D1, the
 * tick's bounded step, and the upgrade of claimed instances by redeploying their service with
 * its volume. Everything a restart needs to resume is in D1 (the rollout row, each upgrading
 * instance's phase, deadline and deployment), so a new coordinator picks up where the old one stopped.
 */

const ACTOR = "rollout";
const UPGRADE_CHECK_CONCURRENCY = 8;
/** Claimed upgrades advanced per tick, so a large fleet's upgrades stay within a tick's subrequests. */
export const MAX_UPGRADE_CHECKS_PER_TICK = 50;

export type UpgradeOutcome = { ok: true; id: string; status: string; image: string } | Extract<RolloutActionOutcome, { ok: false }>;

export function rolloutSummary(row: RolloutRow): RolloutSummary {
  return {
    id: row.id,
    state: row.state,
    stateReason: row.stateReason,
    targetImage: row.targetImage,
    previousImage: row.previousImage,
    batchSize: row.batchSize,
    upgradeClaimed: row.upgradeClaimed,
    failed: row.failed,
    upgraded: row.upgraded,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    finishedAt: row.finishedAt,
  };
}

export async function latestRollout(ctx: PoolContext): Promise<RolloutRow | null> {
  const [row] = await ctx.db.select().from(rollouts).orderBy(desc(rollouts.createdAt), desc(rollouts.id)).limit(1);
  return row ?? null;
}

/** The image creates use now: the newest rollout's (its previous one once rolled back), else the host's default. */
export async function desiredImage(ctx: PoolContext): Promise<string | null> {
  const latest = await latestRollout(ctx);
  return latest ? effectiveImage(latest) : ctx.compute.defaultImage;
}

/** Compare-and-set on the rollout's state: null when it was no longer in `from`. */
async function moveRollout(ctx: PoolContext, id: string, from: readonly RolloutState[], to: RolloutState, reason: string, set: Partial<RolloutRow> = {}): Promise<RolloutRow | null> {
  const now = ctx.now();
  const finished = to === "completed" || to === "rolled_back" || to === "superseded";
  const [row] = await ctx.db
    .update(rollouts)
    .set({ ...set, state: to, stateReason: reason, updatedAt: now, ...(finished ? { finishedAt: now } : { finishedAt: null }) })
    .where(and(eq(rollouts.id, id), inArray(rollouts.state, [...from])))
    .returning();
  if (row) log.info("rollout state changed", { rolloutId: id, to, reason });
  return row ?? null;
}

const bump = (ctx: PoolContext, id: string, column: "failed" | "upgraded", n = 1) =>
  ctx.db
    .update(rollouts)
    .set({ [column]: sql`${rollouts[column]} + ${n}`, updatedAt: ctx.now() })
    .where(eq(rollouts.id, id));

/**
 * Sets the pool's desired image: a new rollout from the current one. A rollout still under
 * way is superseded by it (in the same batch, so there is never a moment with two).
 */
export async function startRollout(ctx: PoolContext, image: string, batchSize: number, actor: string): Promise<RolloutActionOutcome> {
  const problem = ctx.compute.imageProblem(image);
  if (problem) return { ok: false, code: "invalid_image", message: problem };
  const latest = await latestRollout(ctx);
  const current = latest ? effectiveImage(latest) : ctx.compute.defaultImage;
  // The same request again changes nothing (a retried form or API call); another batch size is taken.
  if (latest && latest.targetImage === image && (latest.state === "running" || latest.state === "paused" || latest.state === "completed")) {
    if (latest.batchSize === batchSize || latest.state === "completed") return { ok: true, rollout: rolloutSummary(latest) };
    const moved = await moveRollout(ctx, latest.id, [latest.state], latest.state, `batch size set to ${batchSize} by ${actor}`, { batchSize });
    return moved ? { ok: true, rollout: rolloutSummary(moved) } : { ok: false, code: "invalid_state", message: "the rollout changed state meanwhile; try again" };
  }
  const now = ctx.now();
  const id = newId("r");
  const insert = ctx.db.insert(rollouts).values({
    id,
    targetImage: image,
    previousImage: current === image ? (latest?.previousImage ?? null) : current,
    state: "running",
    stateReason: `started by ${actor}`,
    batchSize,
    actor,
    createdAt: now,
    updatedAt: now,
  });
  if (latest && latest.state !== "superseded") {
    await ctx.db.batch([
      ctx.db
        .update(rollouts)
        .set({ state: "superseded", stateReason: `superseded by rollout ${id} to ${imageLabel(image)}`, updatedAt: now, finishedAt: latest.finishedAt ?? now })
        .where(and(eq(rollouts.id, latest.id), eq(rollouts.state, latest.state))),
      insert,
    ]);
  } else {
    await insert;
  }
  log.info("rollout started", { rolloutId: id, image: imageLabel(image), previous: imageLabel(current), actor });
  const row = await latestRollout(ctx);
  return { ok: true, rollout: rolloutSummary(row!) };
}

/** Pause, resume or roll back the newest rollout (ROLLOUT_ACTIONS says from which states). */
export async function rolloutAction(ctx: PoolContext, action: RolloutAction, actor: string): Promise<RolloutActionOutcome> {
  const latest = await latestRollout(ctx);
  if (!latest || latest.state === "superseded") return { ok: false, code: "no_rollout", message: "no rollout has been started on this pool" };
  const rule = ROLLOUT_ACTIONS[action];
  if (!(rule.from as readonly RolloutState[]).includes(latest.state)) {
    return { ok: false, code: "invalid_state", message: `the rollout to ${imageLabel(latest.targetImage)} is ${latest.state}; ${action} needs one of: ${rule.from.join(", ")}` };
  }
  if (action === "rollback" && latest.previousImage === null) {
    return { ok: false, code: "no_previous_image", message: "this rollout has no previous image recorded to roll back to; set the desired image instead" };
  }
  // Resuming starts the failure count over: the operator has looked at why it paused.
  const set: Partial<RolloutRow> = action === "resume" ? { failed: 0 } : action === "rollback" ? { upgradeClaimed: false } : {};
  const moved = await moveRollout(ctx, latest.id, rule.from, rule.to, `${action} by ${actor}`, set);
  if (!moved) return { ok: false, code: "invalid_state", message: "the rollout changed state meanwhile; try again" };
  return { ok: true, rollout: rolloutSummary(moved) };
}

/** The operator's "upgrade every claimed instance too": the tick redeploys them, a batch at a time. */
export async function upgradeAllClaimed(ctx: PoolContext, actor: string): Promise<RolloutActionOutcome> {
  const latest = await latestRollout(ctx);
  if (!latest || latest.state === "superseded") return { ok: false, code: "no_rollout", message: "no rollout has been started on this pool" };
  const from: RolloutState[] = ["running", "paused", "completed", "rolling_back", "rolled_back"];
  if (!from.includes(latest.state)) return { ok: false, code: "invalid_state", message: `the rollout is ${latest.state}; upgrading claimed instances needs one of: ${from.join(", ")}` };
  // A finished rollout (or rollback) runs again for the claimed ones; after a rollback they go back to the previous image.
  const to = latest.state === "completed" ? "running" : latest.state === "rolled_back" ? "rolling_back" : latest.state;
  const moved = await moveRollout(ctx, latest.id, [latest.state], to, `claimed upgrades requested by ${actor}`, { upgradeClaimed: true });
  if (!moved) return { ok: false, code: "invalid_state", message: "the rollout changed state meanwhile; try again" };
  return { ok: true, rollout: rolloutSummary(moved) };
}

export async function progress(ctx: PoolContext): Promise<RolloutProgress> {
  const [latest, rows] = await Promise.all([latestRollout(ctx), listNotDeleted(ctx.db)]);
  return rolloutProgress(latest ? effectiveImage(latest) : ctx.compute.defaultImage, latest ? rolloutSummary(latest) : null, rows.map(asRolloutInstance));
}

const asRolloutInstance = (r: InstanceRow): RolloutInstance => ({ id: r.id, status: r.status, image: r.image, upgradeImage: r.upgradeImage, readyAt: r.readyAt });

// --- the tick's step ---------------------------------------------------------------------

export interface RolloutStepDeps {
  ctx: PoolContext;
  settings: PoolSettings;
  services: Map<string, ServiceObservation> | null;
  /** Creates `count` instances on the desired image (the coordinator's create path, breaker included). */
  create(count: number, reason: string): Promise<{ created: number; failed: number }>;
}

export interface RolloutStepSummary {
  created: number;
  drained: number;
  upgradesStarted: number;
  upgraded: number;
  rolledBack: number;
  upgradeCrashed: number;
}

/**
 * One bounded step, from the tick: advance upgrades in flight, then do what the domain decides
 * for the newest rollout. Each write is a compare-and-set, so a step that races an operator
 * action or a claim just skips what moved.
 */
export async function runRolloutStep(deps: RolloutStepDeps): Promise<RolloutStepSummary> {
  const { ctx, settings } = deps;
  const out: RolloutStepSummary = { created: 0, drained: 0, upgradesStarted: 0, upgraded: 0, rolledBack: 0, upgradeCrashed: 0 };
  const [latest, upgrading] = await Promise.all([
    latestRollout(ctx),
    ctx.db.select().from(instances).where(eq(instances.status, "upgrading")).orderBy(asc(instances.statusChangedAt)).limit(MAX_UPGRADE_CHECKS_PER_TICK),
  ]);
  if (upgrading.length) await advanceUpgrades(ctx, settings, upgrading, deps.services, latest, out);
  // A pool with no rollout under way costs the tick these two indexed reads, nothing more.
  if (!latest || !(latest.state === "running" || latest.state === "rolling_back" || (latest.state === "completed" && latest.upgradeClaimed))) return out;
  const rows = await listNotDeleted(ctx.db);

  const target = effectiveImage(latest);
  // Instances on the target that died before they were ever ready count against the rollout
  // (each dead row is seen once: the tick's cleanup moves it on right after this step).
  const bootFailures = latest.state === "running" ? rows.filter((r) => r.status === "dead" && r.image === target && r.readyAt === null && r.createdAt >= latest.createdAt).length : 0;
  if (bootFailures) {
    await bump(ctx, latest.id, "failed", bootFailures);
    latest.failed += bootFailures;
  }

  const step = decideRolloutStep({ rollout: latest, instances: rows.map(asRolloutInstance), settings });
  const now = ctx.now();
  for (const id of step.drain) {
    if (!ctx.idle.release(id)) continue;
    const moved = await transition(ctx.db, { id, from: "idle", to: "deleting", reason: `replaced by the rollout to ${imageLabel(target)}`, actor: ACTOR, now, set: { nextTeardownAt: now } }, settings);
    if (moved) out.drained++;
  }
  if (step.create > 0) {
    const made = await deps.create(step.create, `rollout to ${imageLabel(target)}`);
    out.created = made.created;
    if (made.failed) await bump(ctx, latest.id, "failed", made.failed);
  }
  for (const id of step.upgrade) {
    const started = await upgradeInstance(ctx, settings, id, target, ACTOR);
    if (started.ok) out.upgradesStarted++;
  }
  if (step.next) await moveRollout(ctx, latest.id, [latest.state], step.next.state, step.next.reason);
  return out;
}

// --- upgrades of claimed instances -------------------------------------------------------

/**
 * Redeploys a claimed instance's service on `image` with its volume. The row moves to
 * `upgrading` first (so nothing else touches it, and its history records the upgrade), then
 * the host is asked; a redeploy the host refuses rolls the instance back at once.
 */
export async function upgradeInstance(ctx: PoolContext, settings: PoolSettings, id: string, image: string, actor: string): Promise<UpgradeOutcome> {
  const problem = ctx.compute.imageProblem(image);
  if (problem) return { ok: false, code: "invalid_image", message: problem };
  const row = await getInstance(ctx.db, id);
  if (!row || row.status === "deleted") return { ok: false, code: "not_found", message: `instance ${id} does not exist` };
  if (row.status !== "claimed") return { ok: false, code: "invalid_state", message: `instance ${id} is ${row.status}; only claimed instances are upgraded (idle ones are replaced by the rollout)` };
  if (row.image === image) return { ok: false, code: "invalid_state", message: `instance ${id} already runs ${imageLabel(image)}` };
  if (!row.serviceId) return { ok: false, code: "invalid_state", message: `instance ${id} has no service to redeploy` };
  const moved = await transition(
    ctx.db,
    {
      id,
      from: "claimed",
      to: "upgrading",
      reason: `upgrade from ${imageLabel(row.image)} to ${imageLabel(image)} (redeploy with its volume)`,
      actor,
      now: ctx.now(),
      set: { upgradeImage: image, upgradePreviousImage: row.image, upgradePhase: "upgrade", upgradeDeploymentId: null },
    },
    settings,
  );
  if (!moved) return { ok: false, code: "invalid_state", message: `instance ${id} changed state meanwhile; try again` };
  try {
    const { deploymentId } = await ctx.compute.redeploy(row.serviceId, image);
    if (deploymentId) await patchInState(ctx.db, id, "upgrading", { upgradeDeploymentId: deploymentId });
  } catch (err) {
    await failUpgrade(ctx, settings, moved, `the host refused the redeploy: ${(err as Error).message.slice(0, 200)}`, await latestRollout(ctx));
    const after = await getInstance(ctx.db, id);
    return { ok: true, id, status: after?.status ?? "upgrading", image };
  }
  return { ok: true, id, status: "upgrading", image };
}

async function advanceUpgrades(
  ctx: PoolContext,
  settings: PoolSettings,
  rows: InstanceRow[],
  services: Map<string, ServiceObservation> | null,
  latest: RolloutRow | null,
  out: RolloutStepSummary,
): Promise<void> {
  await mapLimit(rows, UPGRADE_CHECK_CONCURRENCY, async (row) => {
    const svc = services?.get(row.serviceName);
    if (services !== null && !svc) {
      await crash(ctx, settings, row, "service vanished during its upgrade", out);
      return;
    }
    // Until the host lists the deployment the upgrade started, what it says is about the old one.
    const ours = !row.upgradeDeploymentId || !svc?.deploymentId || svc.deploymentId === row.upgradeDeploymentId;
    const pastDeadline = row.deadlineAt !== null && row.deadlineAt < ctx.now();
    if (ours && (svc?.state === "failed" || svc?.state === "removed")) {
      await failUpgrade(ctx, settings, row, `deployment ${svc.rawStatus}`, latest, out);
      return;
    }
    if (ours && row.url && (svc === undefined || svc.state === "running")) {
      const check = await ctx.instances.health(row.url);
      if (check.ok && check.health.bound !== false) {
        await finishUpgrade(ctx, settings, row, check.health.version ?? null, latest, out);
        return;
      }
      if (check.ok) {
        // Up, but without its conversation: the volume did not come along. Not an upgrade.
        await failUpgrade(ctx, settings, row, "came back without its conversation (volume not mounted)", latest, out);
        return;
      }
    }
    if (pastDeadline) await failUpgrade(ctx, settings, row, "not healthy within the upgrade bound", latest, out);
  });
}

async function finishUpgrade(ctx: PoolContext, settings: PoolSettings, row: InstanceRow, version: string | null, latest: RolloutRow | null, out: RolloutStepSummary) {
  const rollingBack = row.upgradePhase === "rollback";
  const image = rollingBack ? row.upgradePreviousImage : row.upgradeImage;
  const now = ctx.now();
  const moved = await transition(
    ctx.db,
    {
      id: row.id,
      from: "upgrading",
      to: "claimed",
      reason: rollingBack
        ? `upgrade to ${imageLabel(row.upgradeImage)} failed (${row.lastError ?? "unknown"}); rolled back to ${imageLabel(image)} (runtime ${version ?? "unknown"})`
        : `upgraded to ${imageLabel(image)} (runtime ${version ?? "unknown"})`,
      actor: ACTOR,
      now,
      set: {
        image,
        runtimeVersion: version,
        upgradeImage: null,
        upgradePreviousImage: null,
        upgradePhase: null,
        upgradeDeploymentId: null,
        lastHealthAt: now,
        healthFailures: 0,
        degradedSince: null,
        degradedReason: null,
      },
    },
    settings,
  );
  if (!moved) return;
  if (rollingBack) out.rolledBack++;
  else {
    out.upgraded++;
    if (latest && latest.targetImage === image) await bump(ctx, latest.id, "upgraded");
  }
}

/** An upgrade that failed goes back to its previous image; a rollback that fails too is a crash the operator sees. */
async function failUpgrade(ctx: PoolContext, settings: PoolSettings, row: InstanceRow, why: string, latest: RolloutRow | null, out?: RolloutStepSummary) {
  if (row.upgradePhase === "rollback") {
    await crash(ctx, settings, row, `upgrade to ${imageLabel(row.upgradeImage)} failed and so did the rollback to ${imageLabel(row.upgradePreviousImage)}: ${why}`, out);
    return;
  }
  if (latest && latest.targetImage === row.upgradeImage) await bump(ctx, latest.id, "failed");
  if (row.upgradePreviousImage === null || !row.serviceId) {
    await crash(ctx, settings, row, `upgrade to ${imageLabel(row.upgradeImage)} failed (${why}); no previous image recorded to roll back to`, out);
    return;
  }
  // The phase change is a compare-and-set of its own, without a status change: the history's
  // next event (back to claimed, or crashed) says what failed, from lastError, and how it ended.
  const updated = await ctx.db
    .update(instances)
    .set({ upgradePhase: "rollback", upgradeDeploymentId: null, deadlineAt: deadlineFor("upgrading", ctx.now(), settings), lastError: why.slice(0, 500) })
    .where(and(eq(instances.id, row.id), eq(instances.status, "upgrading"), eq(instances.upgradePhase, "upgrade")))
    .returning({ id: instances.id });
  if (updated.length === 0) return;
  log.warn("instance upgrade failed; rolling back", { instanceId: row.id, why });
  try {
    const { deploymentId } = await ctx.compute.redeploy(row.serviceId, row.upgradePreviousImage);
    if (deploymentId) await patchInState(ctx.db, row.id, "upgrading", { upgradeDeploymentId: deploymentId });
  } catch (err) {
    await crash(ctx, settings, { ...row, upgradePhase: "rollback" }, `rollback to ${imageLabel(row.upgradePreviousImage)} refused by the host: ${(err as Error).message.slice(0, 200)}`, out);
  }
}

async function crash(ctx: PoolContext, settings: PoolSettings, row: InstanceRow, reason: string, out?: RolloutStepSummary) {
  const moved = await transition(
    ctx.db,
    { id: row.id, from: "upgrading", to: "crashed", reason, actor: ACTOR, now: ctx.now(), set: { lastError: reason.slice(0, 500), upgradePhase: null, upgradeDeploymentId: null } },
    settings,
  );
  if (moved && out) out.upgradeCrashed++;
  if (moved) log.warn("instance crashed during its upgrade", { instanceId: row.id, reason });
}
