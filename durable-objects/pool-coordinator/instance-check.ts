import type { CheckReport } from "../../worker/api/schemas";
import { getInstance, patchInState } from "../../worker/db/instances";
import type { InstanceRow } from "../../worker/db/schema";
import { type HostView, hostVerdict, probeVerdict } from "../../worker/domain/instance-check";
import type { InstanceStatus } from "../../worker/domain/lifecycle";
import type { PoolSettings } from "../../worker/domain/settings";
import type { ServiceObservation } from "../../worker/providers/compute/types";
import type { PoolContext } from "./context";
import { adoptService, checkClaimedOne, failInstance, markReady, recordUnhealthy, recoverExpiredClaim } from "./tick";

export interface CheckOptions {
  actor: string;
  /**
   * "always": ask the instance now whatever the tick's cadence (an operator's recheck).
   * "starting": only a starting instance is asked (readiness, as the tick would on this
   * observation); idle and claimed ones wait for their cadence (a webhook event).
   */
  probe: "always" | "starting";
  /** Whether a `creating` row's found service may be adopted (needs the host's full view of it, with its URL). */
  adopt: boolean;
  source: CheckReport["host"]["source"];
  listError?: string | null;
}

/**
 * The tick's checks for one instance, run now (worker/domain/instance-check.ts decides; the
 * writes are the tick's own compare-and-set helpers, so a check racing the tick or another
 * check moves the instance at most once). Answers what it saw and what it did.
 */
export async function checkInstance(ctx: PoolContext, settings: PoolSettings, row: InstanceRow, host: HostView, opts: CheckOptions): Promise<CheckReport> {
  const reasons: string[] = [];
  let health: CheckReport["health"] = null;
  let moved: InstanceRow | null = null;
  let updated = false;
  const svc = host.service;

  // The host's status word, recorded as the tick records it (only while the row is still in the state seen).
  if (svc && svc.rawStatus !== row.deploymentStatus && row.status !== "deleting" && row.status !== "deleted") {
    updated = (await patchInState(ctx.db, row.id, row.status as InstanceStatus, { deploymentStatus: svc.rawStatus })) !== null;
  }

  const verdict = hostVerdict(row, host, ctx.now());
  switch (verdict.action) {
    case "adopt":
      // Only the host's own listing carries what adopting needs (the service's id and URL).
      if (opts.adopt && svc && "serviceId" in svc) {
        moved = await adoptService(ctx, settings, row, svc as ServiceObservation, opts.actor);
        reasons.push("its create had died after the host made its service");
      } else reasons.push("a service was reported for an instance still being created; the tick adopts it");
      break;
    case "fail":
      moved = await failInstance(ctx, settings, row, verdict.reason, opts.actor);
      reasons.push(verdict.reason);
      break;
    case "expired_claim":
      moved = await recoverExpiredClaim(ctx, settings, row, opts.actor);
      reasons.push("its claim passed its deadline with no claim finishing it");
      break;
    case "none":
      reasons.push(verdict.reason);
      break;
    case "probe": {
      if (opts.probe === "starting" && verdict.kind !== "starting") {
        reasons.push(`the host reports ${svc?.rawStatus ?? "nothing new"}; a ${verdict.kind} instance is next checked on the tick's cadence`);
        break;
      }
      if (verdict.kind === "claimed") {
        const out = await checkClaimedOne(ctx, settings, row, opts.actor);
        moved = out.moved;
        health = { ok: out.healthReason === null, reason: out.healthReason, verdict: out.verdict.action };
        if (out.verdict.action !== "healthy") reasons.push(out.verdict.reason);
        else reasons.push(out.verdict.acceptedConversationId ? "healthy; its pending join was accepted" : "healthy, in its conversation");
        if (out.unchanged) await patchInState(ctx.db, row.id, "claimed", { lastHealthAt: ctx.now() });
        updated ||= out.verdict.action !== "crash";
        break;
      }
      const check = await ctx.instances.health(row.url!);
      const probe = probeVerdict(row, check);
      health = { ok: check.ok, reason: check.ok ? null : check.reason, verdict: probe.action };
      switch (probe.action) {
        case "fail":
          moved = await failInstance(ctx, settings, row, probe.reason, opts.actor);
          reasons.push(probe.reason);
          break;
        case "ready":
          moved = await markReady(ctx, settings, row, probe, opts.actor);
          reasons.push("health check ready");
          break;
        case "not_ready":
          reasons.push(`not ready yet: ${probe.reason}`);
          break;
        case "healthy":
          updated = (await patchInState(ctx.db, row.id, "idle", { lastHealthAt: ctx.now(), healthFailures: 0 })) !== null || updated;
          reasons.push("healthy");
          break;
        case "unhealthy":
          updated = (await recordUnhealthy(ctx, row, probe.failures, probe.reason)) !== null || updated;
          reasons.push(`unhealthy (${probe.failures} of the failures allowed before it is replaced): ${probe.reason}`);
          break;
      }
    }
  }

  const after = moved ?? (await getInstance(ctx.db, row.id)) ?? row;
  if (!moved && after.status !== row.status) reasons.push(`it moved to ${after.status} meanwhile (${after.statusReason ?? "no reason recorded"}), by ${after.statusActor ?? "someone else"}`);
  return {
    id: row.id,
    checkedAt: ctx.now(),
    actor: opts.actor,
    before: row.status as InstanceStatus,
    after: after.status as InstanceStatus,
    host: {
      source: opts.source,
      listed: host.listed,
      found: svc !== undefined,
      state: svc?.state ?? null,
      rawStatus: svc?.rawStatus ?? null,
      error: opts.listError ?? null,
    },
    health,
    outcome: moved ? "transitioned" : updated ? "updated" : "no_change",
    transition: moved ? { from: row.status as InstanceStatus, to: moved.status as InstanceStatus, reason: moved.statusReason ?? reasons[0] ?? "" } : null,
    reasons,
  };
}
