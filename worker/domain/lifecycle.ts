/**
 * The instance state machine (SPEC §3) as data. Every write in the pool goes through
 * `canTransition`, and every write is a compare-and-set on the `from` state, so a stale
 * decision can never overwrite a newer one.
 */
export const INSTANCE_STATUSES = ["creating", "starting", "idle", "claiming", "claimed", "upgrading", "crashed", "dead", "deleting", "deleted"] as const;

export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

const TRANSITIONS: Record<InstanceStatus, readonly InstanceStatus[]> = {
  creating: ["starting", "dead", "deleting"],
  starting: ["idle", "dead", "deleting"],
  idle: ["claiming", "dead", "deleting"],
  // claiming → dead: a claim found the instance dead before touching it (worker/domain/claim-attempts.ts).
  claiming: ["claimed", "idle", "crashed", "dead", "deleting"],
  // upgrading: a claimed instance redeployed on another image with its volume (worker/domain/rollout.ts);
  // it comes back claimed (upgraded, or rolled back to its previous image) or crashed.
  claimed: ["upgrading", "crashed", "deleting"],
  upgrading: ["claimed", "crashed", "deleting"],
  crashed: ["deleting"],
  dead: ["deleting"],
  deleting: ["deleted"],
  deleted: [],
};

export function canTransition(from: InstanceStatus, to: InstanceStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function allowedFrom(to: InstanceStatus): InstanceStatus[] {
  return INSTANCE_STATUSES.filter((from) => canTransition(from, to));
}

/** Instances that occupy a slot toward `maxTotal`. */
export const LIVE_STATUSES: readonly InstanceStatus[] = ["creating", "starting", "idle", "claiming", "claimed", "upgrading"];

/** Instances a user is (or was about to be) talking to: a failure makes them `crashed`, not `dead`. */
export function isUserFacing(status: InstanceStatus): boolean {
  return status === "claiming" || status === "claimed" || status === "upgrading";
}

/** Where an instance goes when it fails: users must see a crash; an unclaimed one is just dead. */
export function failureStatus(status: InstanceStatus): "crashed" | "dead" {
  return isUserFacing(status) ? "crashed" : "dead";
}

export interface DeadlineSettings {
  stuckTimeoutMs: number;
  claimTimeoutMs: number;
}

/** When an instance entering `status` at `now` must have left it, or null if it may stay. */
export function deadlineFor(status: InstanceStatus, now: number, s: DeadlineSettings): number | null {
  switch (status) {
    case "creating":
    case "starting":
      return now + s.stuckTimeoutMs;
    case "claiming":
      return now + s.claimTimeoutMs;
    // A redeploy gets the time a boot gets; then it is rolled back (worker/domain/rollout.ts).
    case "upgrading":
      return now + s.stuckTimeoutMs;
    default:
      return null;
  }
}

/** Teardown retries back off exponentially, capped, so a provider outage is not hammered. */
export function teardownBackoffMs(attempts: number, baseMs = 5_000, capMs = 15 * 60_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempts - 1));
}
