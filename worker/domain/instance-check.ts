import type { DeploymentState } from "../providers/compute/types";
import type { InstanceStatus } from "./lifecycle";
import { type ClaimedRow, claimedCheckDue } from "./claimed-health";

/**
 * The tick's checks of one instance, as plain decisions (SPEC §5 steps 2–3). The tick runs them
 * for every row of a pass; `POST /api/pool/instances/:id/recheck` and the Railway deployment
 * webhook run them for one row now. The I/O (the host's list, the health probe, the
 * compare-and-set writes) is the coordinator's (durable-objects/pool-coordinator/tick.ts).
 */

/** How long a `creating` row without an owner or a service is given before it counts as interrupted (host listings can lag). */
export const INTERRUPTED_CREATE_GRACE_MS = 60_000;
/** Idle instances are re-checked on a slower cadence than starting ones (see the tick). */
export const IDLE_HEALTH_INTERVAL_MS = 60_000;
/** Consecutive failed idle checks before an idle instance is given up on. */
export const IDLE_HEALTH_FAILURES = 3;

export interface CheckedRow extends ClaimedRow {
  status: string;
  serviceId: string | null;
  url: string | null;
  deadlineAt: number | null;
  createdAt: number;
  lastHealthAt: number | null;
  healthFailures: number;
}

export interface HostView {
  /** Whether the host answered at all: without an answer nothing is concluded from a missing service. */
  listed: boolean;
  /** The host's view of the row's service, when it has one. */
  service?: { state: DeploymentState; rawStatus: string };
  /** A claim of this coordinator is provisioning the row: its deadline is not ours to enforce yet. */
  claimInFlight?: boolean;
  /** A create of this coordinator owns the row. */
  createInFlight?: boolean;
}

export type HostVerdict =
  /** A create that died after the host made its service: the tick adopts it (finishing its create). */
  | { action: "adopt" }
  | { action: "fail"; reason: string }
  /** Ask the instance itself; `due` says whether the tick's cadence calls for it now. */
  | { action: "probe"; kind: "starting" | "idle" | "claimed"; due: boolean }
  /** A claim whose deadline passed with no coordinator finishing it: the instance is asked if it is clean. */
  | { action: "expired_claim" }
  | { action: "none"; reason: string };

/** What the host's view (and the row's deadlines) say about one instance. */
export function hostVerdict(row: CheckedRow, host: HostView, now: number): HostVerdict {
  const svc = host.service;
  const gone = host.listed && row.serviceId !== null && !svc;
  const broken = svc?.state === "failed" || svc?.state === "removed";
  const pastDeadline = row.deadlineAt !== null && row.deadlineAt < now;

  switch (row.status as InstanceStatus) {
    case "creating":
      if (host.createInFlight) return { action: "none", reason: "its create is in progress" };
      if (svc && !row.serviceId) return { action: "adopt" };
      if (pastDeadline) return { action: "fail", reason: "creation deadline passed" };
      // No create of this coordinator owns the row and the host has no service for it: the
      // create died with a previous coordinator (restart, eviction). Waiting for the stuck
      // timeout would hold the pool short for 15 minutes, since creating rows count as on the way.
      if (host.listed && !svc && row.createdAt + INTERRUPTED_CREATE_GRACE_MS < now) return { action: "fail", reason: "create interrupted (no create in progress, no service found)" };
      return { action: "none", reason: "still being created" };
    case "starting":
      if (gone) return { action: "fail", reason: "service vanished" };
      if (broken) return { action: "fail", reason: `deployment ${svc!.rawStatus}` };
      if (pastDeadline) return { action: "fail", reason: "did not become ready before the deadline" };
      if (row.url && (!host.listed || svc?.state === "running" || svc?.state === "sleeping")) return { action: "probe", kind: "starting", due: true };
      return { action: "none", reason: row.url ? `deployment ${svc?.rawStatus ?? "not listed yet"}` : "no URL yet" };
    case "idle":
      // A claim has taken it (the coordinator's queue is ahead of D1 here): the claim judges it now.
      if (host.claimInFlight) return { action: "none", reason: "a claim is provisioning it" };
      if (gone) return { action: "fail", reason: "service vanished" };
      if (broken) return { action: "fail", reason: `deployment ${svc!.rawStatus}` };
      if (row.url) return { action: "probe", kind: "idle", due: (row.lastHealthAt ?? 0) + IDLE_HEALTH_INTERVAL_MS <= now };
      return { action: "none", reason: "no URL" };
    case "claiming":
      if (host.claimInFlight) return { action: "none", reason: "a claim is provisioning it" };
      if (gone || broken) return { action: "fail", reason: gone ? "service vanished during claim" : `deployment ${svc!.rawStatus} during claim` };
      if (pastDeadline) return { action: "expired_claim" };
      return { action: "none", reason: "a claim is provisioning it" };
    case "claimed":
      if (gone) return { action: "fail", reason: "service vanished" };
      if (broken) return { action: "fail", reason: `deployment ${svc!.rawStatus}` };
      // A sleeping one is left asleep: a check would wake it (and bill it) for nothing.
      if (svc?.state === "sleeping") return { action: "none", reason: "its service is sleeping (it wakes on the next message)" };
      if (row.url) return { action: "probe", kind: "claimed", due: claimedCheckDue(row, now) };
      return { action: "none", reason: "no URL" };
    default:
      return { action: "none", reason: `${row.status} instances are not checked` };
  }
}

/** What a starting or idle instance's `GET /pool/health` answer means. */
export type ProbeVerdict =
  | { action: "fail"; reason: string }
  | { action: "ready"; version: string | null; capabilities: string[] | null }
  | { action: "not_ready"; reason: string }
  | { action: "healthy" }
  | { action: "unhealthy"; failures: number; reason: string };

export type HealthAnswer = { ok: true; health: { bound?: boolean; version?: string; capabilities?: string[] } } | { ok: false; reason: string };

export function probeVerdict(row: Pick<CheckedRow, "status" | "healthFailures">, check: HealthAnswer): ProbeVerdict {
  // Bound to a conversation we never recorded (a provision that landed after we gave up,
  // a manual test): handing it out would only earn the next user a 409.
  if (check.ok && check.health.bound) return { action: "fail", reason: "tainted: bound to a conversation while unclaimed" };
  if (row.status === "starting")
    return check.ok ? { action: "ready", version: check.health.version ?? null, capabilities: check.health.capabilities ?? null } : { action: "not_ready", reason: check.reason };
  if (check.ok) return { action: "healthy" };
  if (row.healthFailures + 1 >= IDLE_HEALTH_FAILURES) return { action: "fail", reason: `idle health failed ${IDLE_HEALTH_FAILURES} times: ${check.reason}` };
  return { action: "unhealthy", failures: row.healthFailures + 1, reason: check.reason };
}
