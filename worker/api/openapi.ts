import { z } from "zod";
import { TemplateCreateSchema, TemplatePatchSchema, TemplateReplaceSchema } from "../catalog/store";
import { CLAIM_MAX_ATTEMPTS, CLAIM_RETRY_WINDOW_MS, READINESS_PROBE_TIMEOUT_MS } from "../domain/claim-attempts";
import { CreditsExhaustedReportSchema, CreditsExhaustedResultSchema, InstanceCreditSchema } from "../../runtime-container/contract/pool-runtime";
import { ErrorBodySchema } from "../http/errors";
import { JoinReportSchema } from "../instances/join-report";
import { VERSION } from "../version";
import { DesiredImageRequestSchema, RolloutProgressSchema, RolloutSummarySchema, UpgradeRequestSchema } from "../domain/rollout";
import {
  AgentsQuerySchema,
  CheckReportSchema,
  ClaimRequestSchema,
  ClaimResponseSchema,
  CountRequestSchema,
  CountsResponseSchema,
  FleetCreditsSchema,
  InstanceCreditsSchema,
  InstanceEventSchema,
  InstanceViewSchema,
  PoolSettingsSchema,
  SettingsPutSchema,
  TemplateSchema,
  WebhookAnswerSchema,
  TopUpRequestSchema,
  TopUpResponseSchema,
} from "./schemas";
import { LegacyRailwayEventSchema, RailwayEventSchema } from "../providers/railway/webhook";

/**
 * The route table the OpenAPI document is generated from. Bodies come from the same zod
 * schemas the routes validate with, so the document cannot drift from the code.
 */
interface RouteDoc {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  summary: string;
  auth: "none" | "pool" | "instance";
  body?: z.ZodType;
  query?: z.ZodObject;
  response?: z.ZodType;
  responseType?: string;
  errors?: number[];
}

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });

const StoredTemplateSchema = TemplateSchema.extend({ createdAt: z.number(), updatedAt: z.number() });

const ROUTES: RouteDoc[] = [
  { method: "get", path: "/healthz", summary: "Liveness of the Worker", auth: "none", response: z.object({ ok: z.boolean(), version: z.string() }) },
  { method: "get", path: "/api/pool/counts", summary: "Instances per status and the breaker phase", auth: "none", response: CountsResponseSchema },
  { method: "get", path: "/api/pool/info", summary: "Environment, XMTP network, version, providers, breaker, last tick", auth: "none" },
  { method: "get", path: "/api/pool/templates", summary: "Published agent templates", auth: "none", response: z.object({ templates: z.array(TemplateSchema) }) },
  { method: "get", path: "/api/pool/templates/{slug}", summary: "One template", auth: "none", response: TemplateSchema, errors: [400, 404] },
  {
    method: "post",
    path: "/api/pool/templates",
    summary: "Create a template (inline instructions and/or a Notion page id)",
    auth: "pool",
    body: TemplateCreateSchema,
    response: StoredTemplateSchema,
    errors: [400, 401, 409, 413, 415],
  },
  { method: "put", path: "/api/pool/templates/{slug}", summary: "Replace a template", auth: "pool", body: TemplateReplaceSchema, response: StoredTemplateSchema, errors: [400, 401, 404, 413, 415] },
  {
    method: "patch",
    path: "/api/pool/templates/{slug}",
    summary: "Change some fields of a template",
    auth: "pool",
    body: TemplatePatchSchema,
    response: StoredTemplateSchema,
    errors: [400, 401, 404, 413, 415],
  },
  { method: "delete", path: "/api/pool/templates/{slug}", summary: "Delete a template", auth: "pool", response: z.object({ deleted: z.string() }), errors: [400, 401, 404] },
  {
    method: "get",
    path: "/api/pool/catalog/templates",
    summary: "All templates, drafts (unpublished) included",
    auth: "pool",
    response: z.object({ templates: z.array(StoredTemplateSchema) }),
    errors: [401],
  },
  { method: "get", path: "/api/pool/catalog/templates/{slug}", summary: "One template, draft or published", auth: "pool", response: StoredTemplateSchema, errors: [400, 401, 404] },
  { method: "get", path: "/api/openapi.json", summary: "This document", auth: "none" },
  {
    method: "get",
    path: "/api/prompts/{pageId}",
    summary: "A template prompt read from Notion, cached 1 h (public for published templates' pages, else bearer)",
    auth: "none",
    errors: [400, 401, 404, 502, 503],
  },
  {
    method: "post",
    path: "/api/pool/claim",
    summary:
      "Claim an idle agent: it creates a conversation (or joins joinUrl) and returns the invite URL. Header Idempotency-Key makes retries safe. " +
      `An idle agent that does not answer a ${READINESS_PROBE_TIMEOUT_MS / 1000} s readiness probe (or refuses before doing anything) is replaced and the next one is tried: ` +
      `at most ${CLAIM_MAX_ATTEMPTS} agents, none started after ${CLAIM_RETRY_WINDOW_MS / 1000} s, so a dead agent costs the client seconds; then 503 pool_empty if none was left, else 502 provision_failed.`,
    auth: "pool",
    body: ClaimRequestSchema,
    response: ClaimResponseSchema,
    errors: [400, 401, 404, 409, 413, 415, 422, 502, 503],
  },
  { method: "post", path: "/api/pool/replenish", summary: "Create up to count more instances now", auth: "pool", body: CountRequestSchema, errors: [400, 401] },
  { method: "post", path: "/api/pool/drain", summary: "Remove up to count unclaimed instances, idle first", auth: "pool", body: CountRequestSchema, errors: [400, 401] },
  { method: "post", path: "/api/pool/reconcile", summary: "Run a reconcile tick now", auth: "pool", errors: [401] },
  { method: "get", path: "/api/pool/agents", summary: "Instances, optionally by status (includes invite URLs: private)", auth: "pool", query: AgentsQuerySchema, errors: [400, 401] },
  {
    method: "get",
    path: "/api/pool/instances/{id}",
    summary: "One instance with its event history",
    auth: "pool",
    response: InstanceViewSchema.extend({ events: z.array(InstanceEventSchema) }),
    errors: [400, 401, 404],
  },
  { method: "delete", path: "/api/pool/instances/{id}", summary: "Kill an instance", auth: "pool", errors: [400, 401, 404, 409] },
  { method: "delete", path: "/api/pool/crashed/{id}", summary: "Dismiss a crashed instance", auth: "pool", errors: [400, 401, 404, 409] },
  {
    method: "post",
    path: "/api/pool/instances/{id}/join-resolution",
    summary: "An instance reports how its pending join ended: accepted (with the conversation id) or refused (bearer: its own gateway token)",
    auth: "instance",
    body: JoinReportSchema,
    errors: [400, 401, 404, 409, 413, 415],
  },
  { method: "post", path: "/api/pool/instances/{id}/self-destruct", summary: "An instance asks to be destroyed (bearer: its own gateway token)", auth: "instance", errors: [401, 404] },
  // Issue 15 §3–4: per-instance recheck and Railway deployment webhooks.
  {
    method: "post",
    path: "/api/pool/instances/{id}/recheck",
    summary: "Run the tick's checks for one instance now (host status, health, claimed-health) and answer what they found and the transition made, if any",
    auth: "pool",
    response: CheckReportSchema,
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "post",
    path: "/api/webhooks/railway/{secret}",
    summary:
      "Railway project webhook (legacy DEPLOY or current Deployment.* payload). Authenticated by RAILWAY_WEBHOOK_SECRET in the path (a wrong or unset secret is 404). " +
      "200: applied through the tick's checks; 202: ignored (unknown service, not a deployment event, another project/environment, a replay, out of order, a superseded deployment).",
    auth: "none",
    body: z.union([LegacyRailwayEventSchema, RailwayEventSchema]),
    response: WebhookAnswerSchema,
    errors: [400, 404, 413, 415, 429],
  },
  {
    method: "get",
    path: "/api/pool/credits",
    summary:
      "Model spend and limits of every live instance with an OpenRouter key, and the fleet total; each instance's figures are reused for cachedForMs, an instance OpenRouter could not answer for is unknown",
    auth: "pool",
    response: FleetCreditsSchema,
    errors: [401],
  },
  {
    method: "get",
    path: "/api/pool/instances/{id}/credits",
    summary: "One instance's model spend and limit this month, read now from OpenRouter (unknown, not an error, when OpenRouter fails), and whether it ran out",
    auth: "pool",
    response: InstanceCreditsSchema.extend({ id: z.string() }),
    errors: [400, 401, 404],
  },
  {
    method: "post",
    path: "/api/pool/instances/{id}/credits/top-up",
    summary:
      "Raise the instance's monthly limit (limitUsd: the new limit, idempotent; or addUsd) up to OPENROUTER_TOPUP_CEILING_USD (400 over_ceiling names it); recorded in its history and clears its exhausted mark",
    auth: "pool",
    body: TopUpRequestSchema,
    response: TopUpResponseSchema,
    errors: [400, 401, 404, 409, 413, 415, 502, 503],
  },
  {
    method: "get",
    path: "/api/pool/instances/{id}/credits/remaining",
    summary: "The instance's own remaining model credit (bearer: its own gateway token)",
    auth: "instance",
    response: InstanceCreditSchema,
    errors: [400, 401, 409, 502],
  },
  {
    method: "post",
    path: "/api/pool/instances/{id}/credits/exhausted",
    summary: "The instance reports that the model API refused for lack of credits (402 or OpenRouter's key limit); marks it once, a repeat changes nothing (bearer: its own gateway token)",
    auth: "instance",
    body: CreditsExhaustedReportSchema,
    response: CreditsExhaustedResultSchema,
    errors: [400, 401, 404, 413, 415],
  },
  { method: "get", path: "/api/pool/settings", summary: "Pool settings", auth: "pool", response: PoolSettingsSchema },
  { method: "put", path: "/api/pool/settings", summary: "Change pool settings", auth: "pool", body: SettingsPutSchema, response: PoolSettingsSchema, errors: [400, 401] },
  // Rollouts of the runtime image (worker/routes/rollouts.ts).
  {
    method: "get",
    path: "/api/pool/rollout",
    summary: "Rollout progress: the desired image, the newest rollout, live instances per image, in flight, failed, what is left to replace",
    auth: "pool",
    response: RolloutProgressSchema,
    errors: [401],
  },
  {
    method: "put",
    path: "/api/pool/image",
    summary:
      "Set the desired runtime image (Railway: digest-pinned; local: a runtime version label): starts a rollout that replaces idle instances, batchSize at a time, new ones first within maxTotal. Claimed instances are not touched",
    auth: "pool",
    body: DesiredImageRequestSchema,
    response: RolloutSummarySchema,
    errors: [400, 401, 413, 415],
  },
  { method: "post", path: "/api/pool/rollout/pause", summary: "Pause the running rollout", auth: "pool", response: RolloutSummarySchema, errors: [401, 409] },
  { method: "post", path: "/api/pool/rollout/resume", summary: "Resume a paused rollout (its failure count starts over)", auth: "pool", response: RolloutSummarySchema, errors: [401, 409] },
  {
    method: "post",
    path: "/api/pool/rollout/rollback",
    summary: "Roll back: the previous image becomes the desired one again and idle instances are replaced back onto it",
    auth: "pool",
    response: RolloutSummarySchema,
    errors: [401, 409],
  },
  {
    method: "post",
    path: "/api/pool/rollout/upgrade-claimed",
    summary:
      "Also upgrade every claimed instance to the desired image, batchSize redeploys at a time (each with its volume; a failed one is rolled back). After a rollback this brings claimed instances back to the previous image",
    auth: "pool",
    response: RolloutSummarySchema,
    errors: [401, 409],
  },
  {
    method: "post",
    path: "/api/pool/instances/{id}/upgrade",
    summary:
      "Upgrade one claimed instance: redeploy its service on the image (the desired one by default) with its volume, so its identity and conversation survive; if it is not healthy within the bound it is rolled back",
    auth: "pool",
    body: UpgradeRequestSchema,
    response: z.object({ ok: z.literal(true), id: z.string(), status: z.string(), image: z.string() }),
    errors: [400, 401, 404, 409, 413, 415],
  },
  { method: "get", path: "/metrics", summary: "Prometheus metrics", auth: "pool", responseType: "text/plain" },
];

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const query = r.query ? Object.entries(r.query.shape).map(([name, schema]) => ({ name, in: "query", required: false, schema: json(schema as z.ZodType) })) : [];
    const responses: Record<string, unknown> = {
      "200": {
        description: "OK",
        content: { [r.responseType ?? "application/json"]: { schema: r.response ? json(r.response) : { type: r.responseType ? "string" : "object" } } },
      },
    };
    for (const code of r.errors ?? []) {
      responses[String(code)] = { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
    }
    paths[r.path] ??= {};
    paths[r.path]![r.method] = {
      summary: r.summary,
      ...(r.auth !== "none" ? { security: [{ [r.auth === "pool" ? "poolKey" : "instanceToken"]: [] }] } : {}),
      ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
      ...(r.body ? { requestBody: { required: false, content: { "application/json": { schema: json(r.body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Convos Agent Pool", version: VERSION },
    paths,
    components: {
      securitySchemes: {
        poolKey: { type: "http", scheme: "bearer", description: "POOL_API_KEY" },
        instanceToken: { type: "http", scheme: "bearer", description: "the instance's own gateway token" },
      },
      schemas: { Error: json(ErrorBodySchema) },
    },
  };
}
