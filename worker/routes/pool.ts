import { Hono } from "hono";
import { z } from "zod";
import type { InstanceActionOutcome } from "../../durable-objects/pool-coordinator/outcomes";
import { AgentsQuerySchema, ClaimRequestSchema, CountRequestSchema, IdempotencyKeySchema, InstanceIdSchema, SettingsPutSchema } from "../api/schemas";
import { claimAgent, coordinator, settled } from "../coordinator";
import { database } from "../db/client";
import { getEvents, getInstance, lastEvents, listByStatus } from "../db/instances";
import { type ClaimResult, claimFailureHttp } from "../domain/claim-outcomes";
import { requirePoolKey } from "../http/auth";
import { ApiError } from "../http/errors";
import { jsonBody, parse } from "../http/validate";
import { JoinReportSchema } from "../instances/join-report";
import { instanceView } from "../instances/view";
import { instanceUsage } from "../providers/openrouter";

/** The private pool API (bearer POOL_API_KEY). */
export const poolRoutes = new Hono<{ Bindings: Env }>();

/** Instances authenticate self-destruct with their own gateway token, not the pool key. */
poolRoutes.post("/instances/:id/self-destruct", async (c) => {
  const id = parse(InstanceIdSchema, c.req.param("id"), "invalid_id");
  return actionResponse(await coordinator(c.env).selfDestruct(id, instanceToken(c.req.header("authorization"))));
});

/** An instance reporting how its pending join ended, with its own gateway token (runtime-container/plugins/convos/src/join-report.ts). */
poolRoutes.post("/instances/:id/join-resolution", async (c) => {
  const id = parse(InstanceIdSchema, c.req.param("id"), "invalid_id");
  const token = instanceToken(c.req.header("authorization"));
  const report = await jsonBody(c, JoinReportSchema);
  return actionResponse(await coordinator(c.env).joinResolved(id, token, report), 200);
});

// Auth sits on each route rather than on "*", so an unknown path is a 404, not a 401.
const auth = requirePoolKey();

poolRoutes.post("/claim", auth, async (c) => {
  const request = await jsonBody(c, ClaimRequestSchema);
  const keyHeader = c.req.header("idempotency-key");
  const idempotencyKey = keyHeader === undefined ? undefined : parse(IdempotencyKeySchema, keyHeader, "invalid_idempotency_key");
  const outcome = await claimAgent(c.env, { request, idempotencyKey, actor: "api" });
  return claimResponse(outcome);
});

poolRoutes.post("/replenish", auth, async (c) => {
  const { count } = await jsonBody(c, CountRequestSchema);
  return c.json(await coordinator(c.env).replenish(count));
});

poolRoutes.post("/drain", auth, async (c) => {
  const { count } = await jsonBody(c, CountRequestSchema);
  return c.json(await coordinator(c.env).drain(count));
});

poolRoutes.post("/reconcile", auth, async (c) => {
  await jsonBody(c, z.object({}).strict());
  return c.json(await coordinator(c.env).reconcile());
});

poolRoutes.get("/agents", auth, async (c) => {
  const query = parse(AgentsQuerySchema, c.req.query(), "invalid_query");
  await settled(c.env);
  const db = database(c.env.DB);
  const rows = await listByStatus(db, query.status, query.limit);
  const last = await lastEvents(
    db,
    rows.map((r) => r.id),
  );
  return c.json({
    agents: rows.map((row) => {
      const e = last.get(row.id);
      return { ...instanceView(row), lastEvent: e ? { at: e.at, from: e.fromStatus, to: e.toStatus, reason: e.reason, actor: e.actor } : null };
    }),
  });
});

poolRoutes.get("/instances/:id", auth, async (c) => {
  const id = parse(InstanceIdSchema, c.req.param("id"), "invalid_id");
  await settled(c.env);
  const db = database(c.env.DB);
  const row = await getInstance(db, id);
  if (!row) throw new ApiError(404, "not_found", `instance ${id} does not exist`);
  const [events, openrouter] = await Promise.all([getEvents(db, id), instanceUsage(c.env, row.openrouterKeyHash)]);
  return c.json({
    ...instanceView(row),
    openrouter,
    events: events.map((e) => ({ at: e.at, from: e.fromStatus, to: e.toStatus, reason: e.reason, actor: e.actor })),
  });
});

poolRoutes.delete("/instances/:id", auth, async (c) => {
  const id = parse(InstanceIdSchema, c.req.param("id"), "invalid_id");
  return actionResponse(await coordinator(c.env).kill(id));
});

poolRoutes.delete("/crashed/:id", auth, async (c) => {
  const id = parse(InstanceIdSchema, c.req.param("id"), "invalid_id");
  return actionResponse(await coordinator(c.env).dismiss(id));
});

// --- per-instance recheck (issue 15 §4) -----------------------------------------------------

/** The tick's checks for one instance, now: what the host and the instance said, and the transition made (or none) with why. */
poolRoutes.post("/instances/:id/recheck", auth, async (c) => {
  const id = parse(InstanceIdSchema, c.req.param("id"), "invalid_id");
  await jsonBody(c, z.object({}).strict());
  const outcome = await coordinator(c.env).recheck(id);
  if (!outcome.ok) throw new ApiError(404, outcome.code, outcome.message);
  return c.json(outcome.report);
});

poolRoutes.get("/settings", auth, async (c) => c.json(await coordinator(c.env).getSettings()));

poolRoutes.put("/settings", auth, async (c) => {
  const patch = await jsonBody(c, SettingsPutSchema);
  const outcome = await coordinator(c.env).putSettings(patch);
  if (!outcome.ok) throw new ApiError(400, "invalid_settings", outcome.message, [{ path: outcome.field, message: outcome.message }]);
  return c.json(outcome.settings);
});

function claimResponse(outcome: ClaimResult): Response {
  if (outcome.ok) {
    const headers: Record<string, string> = outcome.replayed ? { "Idempotent-Replayed": "true" } : {};
    // The pool's own part vs the instance's provision call (benchmarks, operators' devtools).
    if (outcome.timings) headers["Server-Timing"] = `pool;dur=${outcome.timings.poolMs}, provision;dur=${outcome.timings.provisionMs}`;
    return Response.json(outcome.claim, { headers });
  }
  const http = claimFailureHttp(outcome);
  const details = outcome.code === "provision_failed" ? { instanceId: outcome.instanceId } : http.field ? [{ path: http.field, message: outcome.message }] : undefined;
  const headers = http.retryAfterSeconds === null ? undefined : { "Retry-After": String(http.retryAfterSeconds) };
  throw new ApiError(http.status, outcome.code, outcome.message, details, headers);
}

export function instanceToken(header: string | undefined): string {
  const token = /^Bearer\s+(.+)$/i.exec(header ?? "")?.[1]?.trim();
  if (!token) throw new ApiError(401, "unauthorized", "missing bearer token (the instance's own gateway token)");
  return token;
}

function actionResponse(outcome: InstanceActionOutcome, okStatus = 202): Response {
  if (outcome.ok) return Response.json(outcome, { status: okStatus });
  const status = outcome.code === "not_found" ? 404 : outcome.code === "unauthorized" ? 401 : 409;
  throw new ApiError(status, outcome.code, outcome.message);
}
