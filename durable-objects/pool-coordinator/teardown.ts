import { eq } from "drizzle-orm";
import { transition } from "../../worker/db/instances";
import { instances, type InstanceRow } from "../../worker/db/schema";
import { teardownBackoffMs } from "../../worker/domain/lifecycle";
import type { PoolSettings } from "../../worker/domain/settings";
import { log } from "../../worker/lib/log";
import type { PoolContext } from "./context";

/**
 * Releases everything a `deleting` row records: the volume and the service, then each resource. Every step
 * is idempotent, so a retry after a partial failure simply repeats it; the row becomes
 * `deleted` only when all are gone, otherwise it waits with exponential backoff.
 */
export async function teardown(ctx: PoolContext, row: InstanceRow, settings: PoolSettings, actor: string): Promise<boolean> {
  try {
    if (row.serviceId) {
      await ctx.compute.destroy(row.serviceId, { volumeId: row.volumeId });
      await ctx.db.update(instances).set({ serviceId: null, volumeId: null }).where(eq(instances.id, row.id));
    } else if (row.volumeId && ctx.compute.destroyVolume) {
      // A create that failed after its volume was made and whose own cleanup failed too.
      await ctx.compute.destroyVolume(row.volumeId);
      await ctx.db.update(instances).set({ volumeId: null }).where(eq(instances.id, row.id));
    }
    for (const resource of ctx.resources.list) {
      const cleared = await resource.release(row);
      if (Object.keys(cleared).length) await ctx.db.update(instances).set(cleared).where(eq(instances.id, row.id));
    }
    const done = await transition(
      ctx.db,
      {
        id: row.id,
        from: "deleting",
        to: "deleted",
        reason: "resources released",
        actor,
        now: ctx.now(),
        set: { deletedAt: ctx.now(), gatewayTokenSealed: null, nextTeardownAt: null },
      },
      settings,
    );
    return done !== null;
  } catch (err) {
    const attempts = row.teardownAttempts + 1;
    const error = (err as Error).message.slice(0, 500);
    log.warn("teardown failed", { instanceId: row.id, attempts, error });
    await ctx.db
      .update(instances)
      .set({ teardownAttempts: attempts, nextTeardownAt: ctx.now() + teardownBackoffMs(attempts), lastError: error })
      .where(eq(instances.id, row.id));
    return false;
  }
}
