import { canTransition, type DeadlineSettings, deadlineFor, type InstanceStatus } from "./lifecycle";

/**
 * The columns a one-statement status change of many rows writes (the status trigger records
 * each row's event, as `transition` would), checked against the state machine like every
 * single-row change: an edge the lifecycle does not allow is a bug, not a write.
 */
export function bulkTransitionSet(from: InstanceStatus, to: InstanceStatus, at: { now: number; reason: string; actor: string }, settings: DeadlineSettings) {
  if (!canTransition(from, to)) throw new Error(`no ${from} → ${to} transition in the lifecycle`);
  return {
    status: to,
    statusReason: at.reason,
    statusActor: at.actor,
    statusChangedAt: at.now,
    deadlineAt: deadlineFor(to, at.now, settings),
  };
}
