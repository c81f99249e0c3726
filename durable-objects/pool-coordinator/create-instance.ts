import { eq } from "drizzle-orm";
import { randomToken, seal } from "../../worker/crypto/sealed";
import { patchInState, transition } from "../../worker/db/instances";
import { instances, type InstanceRow } from "../../worker/db/schema";
import { deadlineFor } from "../../worker/domain/lifecycle";
import type { PoolSettings } from "../../worker/domain/settings";
import { newId } from "../../worker/lib/ids";
import { log } from "../../worker/lib/log";
import type { PoolContext } from "./context";

export type CreateResult = { ok: true; row: InstanceRow } | { ok: false; id: string; error: string };

/**
 * Creates one instance. The row comes first (`creating`, with the service name that ties any
 * provider resource back to it), then each external resource is recorded before the next
 * call, then the service is created with every variable it needs and its volume (recorded as
 * soon as it exists) attached before its first deploy. Any failure leaves the row
 * `dead`; the tick's cleanup releases whatever it had recorded.
 */
export async function createInstance(
  ctx: PoolContext,
  settings: PoolSettings,
  actor: string,
  reason: string,
  /** Ids of creates in progress, so the tick does not adopt or expire a row mid-create. */
  inProgress: Set<string>,
  /** The image to boot (the pool's desired one, worker/domain/rollout.ts); the host's default when null. */
  image: string | null = null,
): Promise<CreateResult> {
  const now = ctx.now();
  const id = newId("i");
  inProgress.add(id);
  try {
    return await create(ctx, settings, actor, reason, id, now, image);
  } finally {
    inProgress.delete(id);
  }
}

async function create(ctx: PoolContext, settings: PoolSettings, actor: string, reason: string, id: string, now: number, image: string | null): Promise<CreateResult> {
  const gatewayToken = randomToken();
  const [row] = await ctx.db
    .insert(instances)
    .values({
      id,
      status: "creating",
      statusReason: reason,
      statusActor: actor,
      statusChangedAt: now,
      deadlineAt: deadlineFor("creating", now, settings),
      createdAt: now,
      provider: ctx.compute.name,
      serviceName: `${ctx.env.SERVICE_PREFIX}-${id}`,
      gatewayTokenSealed: await seal(ctx.env.POOL_ENCRYPTION_KEY, gatewayToken, id),
      image: image ?? ctx.compute.defaultImage,
    })
    .returning();
  let current = row!;

  try {
    const variables: Record<string, string> = {
      INSTANCE_ID: id,
      GATEWAY_TOKEN: gatewayToken,
      POOL_URL: ctx.env.POOL_URL,
      XMTP_ENV: ctx.env.XMTP_ENV,
      ...ctx.resources.sharedVariables,
    };
    for (const resource of ctx.resources.list) {
      const vars = await resource.provision(current, async (patch) => {
        const updated = await patchInState(ctx.db, id, "creating", patch);
        if (!updated) throw new Error(`instance left creating while ${resource.name} was provisioned`);
        current = updated;
      });
      Object.assign(variables, vars);
    }

    const service = await ctx.compute.create({ name: current.serviceName, instanceId: id, variables, image }, async (ids) => {
      // The volume is on the row before the deploy that mounts it, so teardown always finds it.
      const updated = await patchInState(ctx.db, id, "creating", ids);
      if (!updated) throw new Error("instance left creating while its volume was created");
      current = updated;
    });
    const started = await transition(
      ctx.db,
      { id, from: "creating", to: "starting", reason: "service created", actor, now: ctx.now(), set: { serviceId: service.serviceId, url: service.url } },
      settings,
    );
    if (!started) {
      // The deadline (or an operator) moved the row on while we were creating: record the
      // service anyway so cleanup deletes it instead of leaving an orphan behind.
      await ctx.db.update(instances).set({ serviceId: service.serviceId, url: service.url }).where(eqId(id));
      return { ok: false, id, error: "instance left creating before its service was recorded" };
    }
    return { ok: true, row: started };
  } catch (err) {
    const error = (err as Error).message.slice(0, 500);
    log.warn("instance create failed", { instanceId: id, error });
    await transition(ctx.db, { id, from: "creating", to: "dead", reason: `create failed: ${error}`, actor, now: ctx.now(), set: { lastError: error } }, settings);
    return { ok: false, id, error };
  }
}

const eqId = (id: string) => eq(instances.id, id);
