import { Hono } from "hono";
import { z } from "zod";
import type { UpgradeOutcome } from "../../durable-objects/pool-coordinator/rollout";
import { InstanceIdSchema } from "../api/schemas";
import { coordinator } from "../coordinator";
import { DesiredImageRequestSchema, ROLLOUT_FAILURE_HTTP, type RolloutAction, type RolloutActionOutcome, UpgradeRequestSchema } from "../domain/rollout";
import { requirePoolKey } from "../http/auth";
import { ApiError } from "../http/errors";
import { jsonBody, parse } from "../http/validate";

/** Rollouts of the runtime image (bearer POOL_API_KEY), mounted under /api/pool. */
export const rolloutRoutes = new Hono<{ Bindings: Env }>();
const auth = requirePoolKey();

rolloutRoutes.get("/rollout", auth, async (c) => c.json(await coordinator(c.env).rolloutProgress()));

rolloutRoutes.put("/image", auth, async (c) => {
  const { image, batchSize } = await jsonBody(c, DesiredImageRequestSchema);
  return rolloutResponse(await coordinator(c.env).setDesiredImage(image, batchSize, "api"), "image");
});

for (const action of ["pause", "resume", "rollback"] as const satisfies RolloutAction[]) {
  rolloutRoutes.post(`/rollout/${action}`, auth, async (c) => {
    await jsonBody(c, z.object({}).strict());
    return rolloutResponse(await coordinator(c.env).rolloutAction(action, "api"));
  });
}

rolloutRoutes.post("/rollout/upgrade-claimed", auth, async (c) => {
  await jsonBody(c, z.object({}).strict());
  return rolloutResponse(await coordinator(c.env).upgradeAllClaimed("api"));
});

rolloutRoutes.post("/instances/:id/upgrade", auth, async (c) => {
  const id = parse(InstanceIdSchema, c.req.param("id"), "invalid_id");
  const { image } = await jsonBody(c, UpgradeRequestSchema);
  const out: UpgradeOutcome = await coordinator(c.env).upgradeInstance(id, image, "api");
  if (!out.ok) throw failure(out, "image");
  return c.json(out, 202);
});

function rolloutResponse(out: RolloutActionOutcome, field?: string): Response {
  if (!out.ok) throw failure(out, field);
  return Response.json(out.rollout);
}

function failure(out: Extract<RolloutActionOutcome, { ok: false }>, field?: string): ApiError {
  const details = out.code === "invalid_image" && field ? [{ path: field, message: out.message }] : undefined;
  return new ApiError(ROLLOUT_FAILURE_HTTP[out.code], out.code, out.message, details);
}
