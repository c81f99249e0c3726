import { Hono } from "hono";
import { CreditsExhaustedReportSchema } from "../../runtime-container/contract/pool-runtime";
import { InstanceIdSchema, TopUpRequestSchema } from "../api/schemas";
import { database } from "../db/client";
import { getInstance } from "../db/instances";
import type { InstanceRow } from "../db/schema";
import { creditFailureStatus } from "../domain/credits";
import { requirePoolKey } from "../http/auth";
import { ApiError } from "../http/errors";
import { jsonBody, parse } from "../http/validate";
import { type CreditFailure, fleetCredits, instanceCredits, markExhausted, ownCredit, topUp } from "../instances/credits";
import { instanceTokenMatches } from "../instances/instance-token";
import { instanceToken } from "./pool";

/** Model credits: the operator's view and top-up (pool key), the instance's own (its gateway token). */
export const creditRoutes = new Hono<{ Bindings: Env }>();

const auth = requirePoolKey();

creditRoutes.get("/credits", auth, async (c) => c.json(await fleetCredits(c.env, database(c.env.DB))));

creditRoutes.get("/instances/:id/credits", auth, async (c) => {
  const row = await liveInstance(c.env, c.req.param("id"));
  return c.json({ id: row.id, ...(await instanceCredits(c.env, row)) });
});

creditRoutes.post("/instances/:id/credits/top-up", auth, async (c) => {
  const row = await liveInstance(c.env, c.req.param("id"));
  const request = await jsonBody(c, TopUpRequestSchema);
  const out = await topUp(c.env, row, request, "operator");
  if (!out.ok) throw failure(out);
  return c.json(out);
});

/** The instance's own remaining credit, with its gateway token (runtime-container/plugins/convos/src/pool-client.ts). */
creditRoutes.get("/instances/:id/credits/remaining", async (c) => {
  const row = await authenticatedInstance(c.env, c.req.param("id"), c.req.header("authorization"));
  const own = ownCredit(await instanceCredits(c.env, row));
  if ("ok" in own) throw failure(own);
  return c.json(own);
});

/** The instance reporting that the model API refused for lack of credits (the plugin's credit notice). */
creditRoutes.post("/instances/:id/credits/exhausted", async (c) => {
  const row = await authenticatedInstance(c.env, c.req.param("id"), c.req.header("authorization"));
  const report = await jsonBody(c, CreditsExhaustedReportSchema);
  const out = await markExhausted(c.env.DB, row, report);
  if (!out.ok) throw failure(out);
  const { ok: _ok, ...result } = out;
  return c.json(result, 200);
});

async function liveInstance(env: Env, rawId: string): Promise<InstanceRow> {
  const id = parse(InstanceIdSchema, rawId, "invalid_id");
  const row = await getInstance(database(env.DB), id);
  if (!row || row.status === "deleted") throw new ApiError(404, "not_found", `instance ${id} does not exist`);
  return row;
}

async function authenticatedInstance(env: Env, rawId: string, header: string | undefined): Promise<InstanceRow> {
  const id = parse(InstanceIdSchema, rawId, "invalid_id");
  const token = instanceToken(header);
  const row = await getInstance(database(env.DB), id);
  // Unknown instance and wrong token answer alike: the caller learns nothing about other ids.
  if (!(await instanceTokenMatches(env.POOL_ENCRYPTION_KEY, row, token)) || !row) throw new ApiError(401, "unauthorized", "unknown instance or wrong instance token");
  return row;
}

function failure(f: CreditFailure): ApiError {
  return new ApiError(creditFailureStatus(f.code), f.code, f.message, f.field ? [{ path: f.field, message: f.message }] : undefined);
}
