import { eq } from "drizzle-orm";
import { batchAll } from "../../worker/db/client";
import { type InstancePatch, transitionQuery } from "../../worker/db/instances";
import { instances, type InstanceRow } from "../../worker/db/schema";
import { teardownBackoffMs } from "../../worker/domain/lifecycle";
import type { PoolSettings } from "../../worker/domain/settings";
import { mapLimit } from "../../worker/lib/concurrency";
import { log } from "../../worker/lib/log";
import type { PoolContext } from "./context";

/** Provider calls in flight at once while a batch of rows is torn down. */
const TEARDOWN_CONCURRENCY = 4;

/** What releasing a row's resources came to: the columns it cleared, and the error that stopped it, if one did. */
type Released = { row: InstanceRow; cleared: InstancePatch; error: string | null };

/**
 * Releases everything a `deleting` row records: the volume and the service, then each
 * resource. Every step is idempotent (a provider's "not found" counts as released), so no
 * step's progress needs writing down before the next: a retry after a partial failure, or
 * after a reset before the row's statement was written, simply repeats it. No D1 here.
 */
async function release(ctx: PoolContext, row: InstanceRow): Promise<Released> {
  const cleared: InstancePatch = {};
  try {
    if (row.serviceId) {
      await ctx.compute.destroy(row.serviceId, { volumeId: row.volumeId });
      Object.assign(cleared, { serviceId: null, volumeId: null });
    } else if (row.volumeId && ctx.compute.destroyVolume) {
      // A create that failed after its volume was made and whose own cleanup failed too.
      await ctx.compute.destroyVolume(row.volumeId);
      Object.assign(cleared, { volumeId: null });
    }
    for (const resource of ctx.resources.list) Object.assign(cleared, await resource.release(row));
    return { row, cleared, error: null };
  } catch (err) {
    return { row, cleared, error: (err as Error).message.slice(0, 500) };
  }
}

/** The one statement that records a release: `deleting → deleted` (compare-and-set), or what was cleared plus the retry's backoff. */
function recordRelease(ctx: PoolContext, { row, cleared, error }: Released, settings: PoolSettings, actor: string) {
  if (error === null) {
    return transitionQuery(
      ctx.db,
      {
        id: row.id,
        from: "deleting",
        to: "deleted",
        reason: "resources released",
        actor,
        now: ctx.now(),
        set: { ...cleared, deletedAt: ctx.now(), gatewayTokenSealed: null, nextTeardownAt: null },
      },
      settings,
    )!;
  }
  const attempts = row.teardownAttempts + 1;
  log.warn("teardown failed", { instanceId: row.id, attempts, error });
  return ctx.db
    .update(instances)
    .set({ ...cleared, teardownAttempts: attempts, nextTeardownAt: ctx.now() + teardownBackoffMs(attempts), lastError: error })
    .where(eq(instances.id, row.id))
    .returning();
}

/**
 * Tears down `deleting` rows: their provider calls a few at a time, then every row's outcome
 * in one D1 batch (one round trip per hundred rows). A row becomes `deleted` only when all
 * it holds is gone; otherwise it waits with exponential backoff. Returns the rows deleted.
 */
export async function teardownMany(ctx: PoolContext, rows: InstanceRow[], settings: PoolSettings, actor: string): Promise<{ deleted: string[]; failed: string[] }> {
  if (rows.length === 0) return { deleted: [], failed: [] };
  const released = await mapLimit(rows, TEARDOWN_CONCURRENCY, (row) => release(ctx, row));
  const statements = released.map((r) => recordRelease(ctx, r, settings, actor));
  const results = (await batchAll(ctx.db, statements)) as InstanceRow[][];
  const deleted = released.filter((r, i) => r.error === null && (results[i]?.length ?? 0) > 0).map((r) => r.row.id);
  return { deleted, failed: released.filter((r) => r.error !== null).map((r) => r.row.id) };
}

/** One row's teardown (an operator's remove or drain): true when it is deleted. */
export async function teardown(ctx: PoolContext, row: InstanceRow, settings: PoolSettings, actor: string): Promise<boolean> {
  const { deleted } = await teardownMany(ctx, [row], settings, actor);
  return deleted.length === 1;
}
