import { and, eq } from "drizzle-orm";
import type { ClaimRequest, ClaimResponse } from "../../worker/api/schemas";
import { sha256Hex } from "../../worker/crypto/compare";
import { renderTransition, type TransitionRequest } from "../../worker/db/instances";
import { instances, templates, type InstanceRow } from "../../worker/db/schema";
import {
  mayTryAnother,
  probeVerdict,
  provisionVerdict,
  READINESS_PROBE_DELAY_MS,
  READINESS_PROBE_TIMEOUT_MS,
  type ProbeResult,
  type SkipReason,
  type Untouched,
} from "../../worker/domain/claim-attempts";
import type { ProvisionOutcome } from "../../worker/instances/client";
import { returnsToPool } from "../../worker/domain/failed-claim";
import type { PoolSettings } from "../../worker/domain/settings";
import { newId, stableStringify } from "../../worker/lib/ids";
import { log } from "../../worker/lib/log";
import type { PoolContext } from "./context";
import type { ClaimOutcome, ClaimTemplate } from "./outcomes";
import type { ClaimRecords } from "./claim-records";
import type { GroupCommit } from "./group-commit";
import type { IdleQueue, QueuedInstance } from "./idle-queue";
import type { Outbox } from "./outbox";

const IDEMPOTENCY_TTL_MS = 48 * 3_600_000;
export const EMPTY_POOL_RETRY_AFTER_SECONDS = 15;

export interface ClaimTimings {
  /** Time spent in the pool itself (reservation, bookkeeping), excluding the instance's provision call. */
  poolMs: number;
  provisionMs: number;
}

interface Resolved {
  agentName: string;
  instructions: string;
  template: string | null;
}

async function resolveTemplate(ctx: PoolContext, request: ClaimRequest, given: ClaimTemplate | undefined): Promise<Resolved | null> {
  if (!request.template) {
    return { agentName: request.agentName ?? "Assistant", instructions: request.instructions ?? "", template: null };
  }
  // The Worker hands in the template it read (worker/coordinator.ts); a caller that did not is served from D1.
  const tpl = given?.slug === request.template ? given : ((await ctx.db.select().from(templates).where(eq(templates.slug, request.template)).limit(1))[0] ?? null);
  if (!tpl) return null;
  return {
    agentName: request.agentName ?? tpl.name,
    instructions: request.instructions ?? tpl.instructions ?? "",
    template: tpl.slug,
  };
}

/**
 * Looks up an idempotency key. Returns the stored outcome when the same request already
 * succeeded, a conflict when the key was used for another body, or null to go ahead.
 */
export async function replayIdempotent(ctx: PoolContext, records: ClaimRecords, key: string, bodyHash: string): Promise<ClaimOutcome | null> {
  const existing = records.get(key);
  if (!existing) return null;
  if (existing.expiresAt < ctx.now()) {
    records.delete(key);
    return null;
  }
  if (existing.bodyHash !== bodyHash) {
    return { ok: false, code: "idempotency_conflict", message: "Idempotency-Key was already used with a different request body" };
  }
  if (existing.state === "succeeded" && existing.result) return { ok: true, claim: existing.result, replayed: true };
  // A pending key whose claim is not in flight here: the coordinator restarted mid-claim.
  // If the instance got bound, that binding is the answer; otherwise start over.
  if (existing.instanceId) {
    const [row] = await ctx.db.select().from(instances).where(eq(instances.id, existing.instanceId)).limit(1);
    if (row?.status === "claimed" && row.claimId === key) {
      const claim = responseOf(row);
      records.succeed(key, claim);
      return { ok: true, claim, replayed: true };
    }
  }
  records.delete(key);
  return null;
}

function responseOf(row: Pick<InstanceRow, "id" | "conversationId" | "inviteUrl" | "joined" | "claimStatus" | "agentName">): ClaimResponse {
  return {
    instanceId: row.id,
    conversationId: row.conversationId,
    inviteUrl: row.inviteUrl,
    joined: row.joined ?? false,
    status: row.claimStatus ?? "created",
    agentName: row.agentName ?? "Assistant",
  };
}

export interface ClaimHooks {
  /** Called when the pool had nothing idle, or lost an idle instance, so the coordinator can replenish right away. */
  onEmpty(): void;
  /** Called for each idle instance a claim found dead and skipped (for /metrics). */
  onSkip?(reason: SkipReason): void;
  inFlight: Set<string>;
  /** Takes the claim's writes: D1 learns of them after the claim has moved on (see Outbox). */
  outbox: Outbox;
  /** The idle instances a claim may take, and the invites being joined. */
  idle: IdleQueue;
  /** Groups the claim's writes to the coordinator's SQLite with concurrent claims' into one commit. */
  commit: GroupCommit;
  /** Instances taken from an in-flight claim meanwhile (an operator's kill): that claim must not bind. */
  released: Set<string>;
  /** The coordinator's idempotency keys. */
  records: ClaimRecords;
}

/**
 * After a claim's last write: with other claims in flight, their writes will share the next
 * round (within the outbox's short wait), which is what keeps D1 round trips per claim low under
 * load; the last claim of a burst sends at once, so D1 is level again as soon as it can be.
 */
function sendClaimWrites(hooks: Pick<ClaimHooks, "inFlight" | "outbox">): void {
  if (hooks.inFlight.size > 1) hooks.outbox.flushSoon();
  else void hooks.outbox.flush();
}

/** `keepsJoin`: the instance stays claiming in D1 (the claim stopped waiting for it), so its invite stays held. */
type Attempt = { done: ClaimOutcome; keepsJoin?: boolean } | { skipped: SkipReason };

/**
 * One claim: reserve the oldest-ready idle instance with a single conditional update, then
 * provision it outside the reservation, with a readiness probe beside the provision call. Success binds it; an instance that proves it
 * was never touched (worker/domain/claim-attempts.ts) becomes `dead` and the claim reserves
 * the next idle one, at most CLAIM_MAX_ATTEMPTS within CLAIM_RETRY_WINDOW_MS. A 409 means the
 * instance was already bound (tainted → crashed); any other failure asks the instance whether
 * it is still clean (→ idle) or not (→ crashed).
 */
export async function runClaim(
  ctx: PoolContext,
  settings: PoolSettings,
  request: ClaimRequest,
  template: ClaimTemplate | undefined,
  idempotencyKey: string | undefined,
  actor: string,
  hooks: ClaimHooks,
  timings: ClaimTimings,
): Promise<ClaimOutcome> {
  const t0 = Date.now();
  const resolved = await resolveTemplate(ctx, request, template);
  if (!resolved) return { ok: false, code: "template_not_found", message: `template "${request.template}" does not exist` };

  const claimId = idempotencyKey ?? newId("c");
  if (idempotencyKey) {
    const bodyHash = await sha256Hex(stableStringify(request));
    const replay = await replayIdempotent(ctx, hooks.records, idempotencyKey, bodyHash);
    if (replay) return replay;
    if (!hooks.records.insertPending(idempotencyKey, bodyHash, ctx.now(), IDEMPOTENCY_TTL_MS)) {
      // The key appeared while the replay read the instance's row from D1: resolve against it instead.
      const again = await replayIdempotent(ctx, hooks.records, idempotencyKey, bodyHash);
      if (again) return again;
    }
  }

  const forgetKey = async () => {
    if (idempotencyKey) hooks.records.forgetPending(idempotencyKey);
  };
  // Time spent waiting on instances counts as provision time; the rest is the pool's own.
  let mark = t0;
  const instanceCall = async <T>(call: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    timings.poolMs += started - mark;
    try {
      return await call();
    } finally {
      mark = Date.now();
      timings.provisionMs += mark - started;
    }
  };

  try {
    const joinUrl = request.joinUrl ?? null;
    // Taken, held and written in one synchronous write (group-committed with concurrent
    // claims'): from here the instance is this claim's, and its provision call leaves only once
    // the reservation is durable.
    const reserveNext = () =>
      hooks.commit.run((): QueuedInstance | "join_held" | null => {
        if (joinUrl && hooks.idle.joinHeld(joinUrl)) return "join_held";
        const taken = hooks.idle.take();
        if (!taken) return null;
        hooks.inFlight.add(taken.id);
        if (joinUrl) hooks.idle.holdJoin(joinUrl, taken.id);
        const now = ctx.now();
        hooks.outbox.add(
          taken.id,
          renderTransition(
            ctx.db,
            {
              id: taken.id,
              from: "idle",
              to: "claiming",
              reason: "reserved for a claim",
              actor,
              now,
              set: { deadlineAt: now + settings.claimTimeoutMs, claimId, agentName: resolved.agentName, joinUrl, template: resolved.template },
            },
            settings,
          )!,
        );
        if (idempotencyKey) hooks.records.setInstance(idempotencyKey, taken.id);
        return taken;
      });

    for (let skipped = 0; ; ) {
      let reserved = await reserveNext();
      if (reserved === null) {
        // The queue ran dry: D1 may have idle instances it has not seen yet (readied since the
        // last tick, or a pool upgraded from before the queue). One read, shared by the claims that find it empty.
        await hooks.idle.refill(ctx.db);
        reserved = await reserveNext();
      }
      if (reserved === "join_held") {
        await forgetKey();
        return { ok: false, code: "join_in_progress", message: "an agent is already joining this conversation; retry once it has finished" };
      }
      if (reserved === null) {
        await forgetKey();
        hooks.onEmpty();
        return {
          ok: false,
          code: "pool_empty",
          message: "no idle agent is available right now; more are being started",
          retryAfterSeconds: EMPTY_POOL_RETRY_AFTER_SECONDS,
        };
      }
      hooks.outbox.flushSoon();

      let attempt: Attempt | undefined;
      try {
        attempt = await provisionReserved(ctx, settings, reserved, request, resolved, idempotencyKey, actor, hooks, instanceCall, forgetKey);
      } finally {
        hooks.inFlight.delete(reserved.id);
        hooks.released.delete(reserved.id);
        // A claim that gave up waiting leaves the instance claiming: its invite stays held until the tick settles it.
        // Without an invite there is nothing to drop (and a write of nothing would still be a commit).
        if (joinUrl && !(attempt && "done" in attempt && attempt.keepsJoin)) hooks.idle.dropJoin(reserved.id);
      }
      if ("done" in attempt) return attempt.done;

      skipped++;
      hooks.onSkip?.(attempt.skipped);
      // The pool just lost an idle instance: start its replacement now, not at the next tick.
      hooks.onEmpty();
      if (!mayTryAnother(skipped, t0, Date.now())) {
        await forgetKey();
        log.warn("claim gave up on dead idle instances", { tried: skipped });
        return {
          ok: false,
          code: "provision_failed",
          message: `no idle agent answered (${skipped} tried, each found dead and replaced); please retry`,
          instanceId: reserved.id,
        };
      }
    }
  } finally {
    timings.poolMs += Date.now() - mark;
  }
}

async function provisionReserved(
  ctx: PoolContext,
  settings: PoolSettings,
  reserved: QueuedInstance,
  request: ClaimRequest,
  resolved: Resolved,
  idempotencyKey: string | undefined,
  actor: string,
  hooks: ClaimHooks,
  instanceCall: <T>(call: () => Promise<T>) => Promise<T>,
  forgetKey: () => Promise<void>,
): Promise<Attempt> {
  // Every write of the claim goes through the outbox, behind its reservation: D1 sees them in order.
  const write = async (t: Omit<TransitionRequest, "id" | "from" | "actor" | "now">, alsoNow?: () => void) => {
    await hooks.commit.run(() => {
      hooks.outbox.add(reserved.id, renderTransition(ctx.db, { ...t, id: reserved.id, from: "claiming", actor, now: ctx.now() }, settings)!);
      alsoNow?.();
    });
    sendClaimWrites(hooks);
  };
  const untouched = async (skip: SkipReason, reason: string): Promise<Attempt> => {
    await write({ to: "dead", reason, set: { claimId: null, joinUrl: null, lastError: reason } });
    log.warn("claim skipped a dead idle instance", { instanceId: reserved.id, reason });
    return { skipped: skip };
  };

  // Opened when the instance was admitted to the queue (./idle-queue.ts), not while the claim waits.
  const token = await reserved.token;
  const abandon = new AbortController();
  const attempt = await instanceCall(async (): Promise<{ provisioned: ProvisionOutcome } | { skip: Untouched }> => {
    const provision = ctx.instances.provision(
      reserved.url,
      token,
      {
        agentName: resolved.agentName,
        instructions: resolved.instructions,
        ...(request.joinUrl ? { joinUrl: request.joinUrl } : {}),
        ...(request.profileImage ? { profileImage: request.profileImage } : {}),
        ...(request.metadata ? { metadata: request.metadata } : {}),
      },
      abandon.signal,
    );
    // The probe only counts while the provision has not answered: an answer settles it either way,
    // and one within READINESS_PROBE_DELAY_MS means no probe is sent at all.
    let cancelProbe = () => {};
    const probe = new Promise<{ probe: ProbeResult }>((resolve) => {
      cancelProbe = ctx.deadlines.after(READINESS_PROBE_DELAY_MS, () => {
        void ctx.instances.health(reserved.url, READINESS_PROBE_TIMEOUT_MS).then((result) => resolve({ probe: result }));
      });
    });
    const first = await Promise.race([provision.then((provisioned) => ({ provisioned })), probe]);
    cancelProbe();
    const skip = "probe" in first ? probeVerdict(first.probe) : null;
    if (skip) {
      abandon.abort();
      // It may have answered meanwhile: an instance that provisioned is alive after all.
      const late = await provision;
      return late.ok ? { provisioned: late } : { skip };
    }
    return { provisioned: "provisioned" in first ? first.provisioned : await provision };
  });
  if ("skip" in attempt) return untouched(attempt.skip.skip, attempt.skip.reason);
  const { provisioned } = attempt;

  if (provisioned.ok) {
    const { result } = provisioned;
    if (hooks.released.delete(reserved.id)) {
      // Removed while it was answering: it is bound to a conversation nobody will hear about,
      // and its row is already on its way out.
      await forgetKey();
      return { done: { ok: false, code: "provision_failed", message: "the agent was removed while it was being set up", instanceId: reserved.id } };
    }
    const now = ctx.now();
    const bind = {
      conversationId: result.conversationId,
      inviteUrl: result.inviteUrl ?? null,
      joined: result.joined,
      claimStatus: result.status,
      claimedAt: now,
      // Claimed-instance checks start from here (worker/domain/claimed-health.ts).
      lastHealthAt: now,
    };
    const bindQuery = renderTransition(ctx.db, { id: reserved.id, from: "claiming", to: "claimed", reason: `provisioned: ${result.status}`, actor, now, set: bind }, settings)!;
    const claim = responseOf({ id: reserved.id, agentName: resolved.agentName, ...bind });
    // One write, so one commit: the bind and the idempotency record are durable together
    // before the answer leaves. While the
    // instance is in flight nothing else in the coordinator moves its row, so the bind's
    // compare-and-set cannot lose in D1 and need not be waited for.
    await hooks.commit.run(() => {
      hooks.outbox.add(reserved.id, bindQuery);
      if (idempotencyKey) hooks.records.succeed(idempotencyKey, claim);
    });
    sendClaimWrites(hooks);
    return { done: { ok: true, claim, replayed: false } };
  }

  const verdict = provisionVerdict(provisioned);
  if (verdict.verdict === "untouched") return untouched(verdict.skip, verdict.reason);

  await forgetKey();
  if (provisioned.kind === "already_bound") {
    await write({ to: "crashed", reason: `tainted: ${provisioned.reason}`, set: { lastError: provisioned.reason } });
    return { done: { ok: false, code: "provision_failed", message: "the agent could not be set up (it was already in use); please retry", instanceId: reserved.id } };
  }
  if (provisioned.kind === "timed_out") {
    // The instance may still bind after we stopped waiting: asking it now would find it
    // clean and hand it to the next claim, tainted. It stays claiming; when its deadline
    // passes the tick asks again and returns it to the pool or marks it crashed.
    await hooks.commit.run(() =>
      hooks.outbox.add(
        reserved.id,
        ctx.db
          .update(instances)
          .set({ lastError: provisioned.reason })
          .where(and(eq(instances.id, reserved.id), eq(instances.status, "claiming"))),
      ),
    );
    sendClaimWrites(hooks);
    log.warn("provision timed out", { instanceId: reserved.id });
    return { done: { ok: false, code: "provision_failed", message: "the agent took too long to set up; please retry", instanceId: reserved.id }, keepsJoin: true };
  }
  const status = await instanceCall(() => ctx.instances.convosStatus(reserved.url, token));
  const clean = returnsToPool(status);
  if (clean) {
    // Claimable again at once: the next claim's reservation queues behind this write in the outbox.
    await write(
      { to: "idle", reason: `provision failed, instance clean: ${provisioned.reason}`, set: { claimId: null, agentName: null, joinUrl: null, template: null, lastError: provisioned.reason } },
      () => hooks.idle.admit(reserved),
    );
  } else {
    await write({ to: "crashed", reason: `provision failed: ${provisioned.reason}`, set: { lastError: provisioned.reason } });
  }
  log.warn("provision failed", { instanceId: reserved.id, reason: provisioned.reason, returnedToPool: clean });
  // The user's link, not the agent, was the problem: say so as a 400 naming it.
  if (provisioned.kind === "invalid_invite") return { done: { ok: false, code: "invalid_join_url", problem: "unreadable", message: `the invite link could not be read: ${provisioned.reason}` } };
  return { done: { ok: false, code: "provision_failed", message: `the agent could not be set up: ${provisioned.reason}`, instanceId: reserved.id } };
}
