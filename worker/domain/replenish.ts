import { type InstanceStatus, LIVE_STATUSES } from "./lifecycle";
import type { PoolSettings } from "./settings";

export type StatusCounts = Record<InstanceStatus, number>;

export interface ReplenishInput {
  counts: StatusCounts;
  settings: Pick<PoolSettings, "minIdle" | "maxTotal" | "maxCreatesPerTick">;
  /** Claims seen in the recent window; the buffer follows demand so a burst does not drain the pool. */
  recentClaims: number;
  breakerOpen: boolean;
  /** Extra instances an operator or an empty-pool claim asked for on top of the target. */
  requested?: number;
}

export interface ReplenishDecision {
  create: number;
  target: number;
  /** Why fewer than wanted are created, for the operator. */
  limitedBy: "none" | "maxTotal" | "maxCreatesPerTick" | "breaker";
}

/**
 * How many instances to create now. Instances already on the way (creating, starting) count
 * toward the target so a slow boot is not answered with a second wave of creates.
 */
export function decideReplenish(input: ReplenishInput): ReplenishDecision {
  const { counts, settings } = input;
  const buffer = Math.ceil(input.recentClaims / 2);
  const target = Math.max(settings.minIdle, buffer);
  const onTheWay = counts.creating + counts.starting;
  const available = counts.idle;
  const wanted = Math.max(0, target - available - onTheWay) + Math.max(0, input.requested ?? 0);
  if (wanted === 0) return { create: 0, target, limitedBy: "none" };
  if (input.breakerOpen) return { create: 0, target, limitedBy: "breaker" };

  const room = Math.max(0, settings.maxTotal - liveCount(counts));
  let create = wanted;
  let limitedBy: ReplenishDecision["limitedBy"] = "none";
  if (create > room) [create, limitedBy] = [room, "maxTotal"];
  if (create > settings.maxCreatesPerTick) [create, limitedBy] = [settings.maxCreatesPerTick, "maxCreatesPerTick"];
  return { create, target, limitedBy };
}

/**
 * An operator's "create N more": the operator chose the number, so neither the target nor the
 * per-tick cap applies; only `maxTotal` does.
 */
export function decideOperatorReplenish(counts: StatusCounts, settings: Pick<PoolSettings, "maxTotal">, requested: number): { create: number; limitedBy: "none" | "maxTotal" } {
  const room = Math.max(0, settings.maxTotal - liveCount(counts));
  return requested > room ? { create: room, limitedBy: "maxTotal" } : { create: requested, limitedBy: "none" };
}

/** Instances holding a slot toward `maxTotal`. */
export function liveCount(counts: StatusCounts): number {
  return LIVE_STATUSES.reduce((n, s) => n + counts[s], 0);
}

export function emptyCounts(): StatusCounts {
  return { creating: 0, starting: 0, idle: 0, claiming: 0, claimed: 0, upgrading: 0, crashed: 0, dead: 0, deleting: 0, deleted: 0 };
}
