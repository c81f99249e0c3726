import type { LegacyRailwayEvent, RailwayEvent } from "../providers/railway/webhook";

/**
 * Railway deployment events as an accelerator of the tick (SPEC §6): what one event says, and
 * whether it may still be applied. Plain decisions; the coordinator applies an event through
 * the same per-instance check the tick runs (worker/domain/instance-check.ts), so an event can
 * only cause a transition the tick itself would make, and the tick stays the safety net for
 * whatever an event misses.
 */

/** One deployment event, whichever shape it came in. */
export interface DeploymentEvent {
  /** The event's own name (`DEPLOY`, `Deployment.crashed`), for metrics and logs. */
  type: string;
  /** Railway's deployment status word (SUCCESS, CRASHED, SLEEPING…), as the tick's observation reads it. */
  status: string;
  serviceId: string;
  serviceName: string | null;
  deploymentId: string | null;
  projectId: string | null;
  environmentId: string | null;
  /** Milliseconds since the epoch. */
  at: number;
}

/**
 * The current shape names what happened in its type (`Deployment.crashed`); those names map to
 * the status word the tick sees. When the type is one of these, it wins over `details.status`
 * (Railway's own example pairs `Deployment.failed` with `status: "SUCCESS"`); otherwise
 * `details.status` is used.
 */
const TYPE_STATUS: Record<string, string> = {
  crashed: "CRASHED",
  failed: "FAILED",
  removed: "REMOVED",
  removing: "REMOVING",
  slept: "SLEEPING",
  sleeping: "SLEEPING",
  // A service woken from sleep, or a deployment that went live: running again.
  resumed: "SUCCESS",
  deployed: "SUCCESS",
  succeeded: "SUCCESS",
  success: "SUCCESS",
  building: "BUILDING",
  deploying: "DEPLOYING",
  initializing: "INITIALIZING",
  queued: "QUEUED",
  waiting: "WAITING",
  skipped: "SKIPPED",
  needs_approval: "NEEDS_APPROVAL",
};

/** Future clock skew allowed on an event's timestamp; beyond it an event would block every later one as out of order. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

export type NormalizedEvent = { ok: true; event: DeploymentEvent } | { ok: false; ignored: string };

export function normalizeEvent(body: LegacyRailwayEvent | RailwayEvent): NormalizedEvent {
  const at = Date.parse(body.timestamp);
  if (body.type === "DEPLOY") {
    const legacy = body as LegacyRailwayEvent;
    return {
      ok: true,
      event: {
        type: "DEPLOY",
        status: legacy.status.toUpperCase(),
        serviceId: legacy.service.id,
        serviceName: legacy.service.name ?? null,
        deploymentId: legacy.deployment?.id ?? null,
        projectId: legacy.project?.id ?? null,
        environmentId: legacy.environment?.id ?? null,
        at,
      },
    };
  }
  const current = body as RailwayEvent;
  const [kind, what] = current.type.split(".") as [string, string];
  if (kind.toLowerCase() !== "deployment") return { ok: false, ignored: `${current.type} is not a deployment event` };
  const status = TYPE_STATUS[what.toLowerCase()] ?? current.details?.status?.toUpperCase();
  if (!status) return { ok: false, ignored: `${current.type} carries no deployment status the pool knows` };
  const service = current.resource.service;
  if (!service) return { ok: false, ignored: `${current.type} names no service` };
  return {
    ok: true,
    event: {
      type: current.type,
      status,
      serviceId: service.id,
      serviceName: service.name ?? null,
      deploymentId: current.resource.deployment?.id ?? current.details?.id ?? null,
      projectId: current.resource.project?.id ?? null,
      environmentId: current.resource.environment?.id ?? null,
      at,
    },
  };
}

/** Why an event for another Railway project or environment is none of this pool's business (null: it is ours, as far as it says). */
export function foreignEvent(event: DeploymentEvent, ours: { projectId?: string; environmentId?: string }): string | null {
  if (event.projectId && ours.projectId && event.projectId !== ours.projectId) return "the event is for another Railway project";
  if (event.environmentId && ours.environmentId && event.environmentId !== ours.environmentId) return "the event is for another Railway environment";
  return null;
}

/** What the coordinator keeps per service (its own storage) so replays and late events change nothing. */
export interface ServiceEventMemory {
  /** The last applied event. */
  at: number;
  status: string;
  deploymentId: string | null;
  /** Deployments seen for this service, oldest first, the current one last (bounded). */
  deployments: string[];
}

const REMEMBERED_DEPLOYMENTS = 8;

export type EventOrder = { apply: true; remember: ServiceEventMemory } | { apply: false; reason: "duplicate" | "out_of_order" | "superseded"; message: string };

/**
 * Whether an event may still be applied:
 * - the same event again (same time, deployment and status) → duplicate;
 * - older than the last applied one for its service → out of order (what it says is no longer true);
 * - about a deployment older than the service's current one → superseded: Railway removes (and
 *   reports) a service's previous deployments after a new one goes live, which says nothing
 *   about the live one. A removal never starts a deployment, so a REMOVED/REMOVING of a
 *   deployment other than the current one is taken as an old one too; the tick still sees a
 *   real removal in its next observation.
 */
export function orderEvent(event: DeploymentEvent, memory: ServiceEventMemory | undefined): EventOrder {
  const seen = memory?.deployments ?? [];
  if (memory) {
    if (event.at < memory.at) return { apply: false, reason: "out_of_order", message: `older than the last applied event for this service (${new Date(memory.at).toISOString()})` };
    if (event.at === memory.at && event.status === memory.status && event.deploymentId === memory.deploymentId) {
      return { apply: false, reason: "duplicate", message: "this event was already applied" };
    }
  }
  const current = seen.at(-1) ?? null;
  if (event.deploymentId !== null && event.deploymentId !== current) {
    const removal = event.status === "REMOVED" || event.status === "REMOVING";
    if (removal || seen.includes(event.deploymentId)) {
      const which = current ? `the service's current one is ${current}` : "no deployment of this service was seen yet";
      return { apply: false, reason: "superseded", message: `deployment ${event.deploymentId} is not the service's current one (${which})` };
    }
  }
  const deployments = event.deploymentId === null || event.deploymentId === current ? seen : [...seen, event.deploymentId].slice(-REMEMBERED_DEPLOYMENTS);
  return { apply: true, remember: { at: event.at, status: event.status, deploymentId: event.deploymentId, deployments } };
}
