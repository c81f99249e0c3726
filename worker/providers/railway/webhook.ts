import { z } from "zod";

/**
 * Railway's project webhooks (docs.railway.com/observability/webhooks), in both shapes Railway
 * has documented:
 * - legacy: `{ type: "DEPLOY", status, timestamp, project, environment, service: {id, name}, deployment: {id, creator, meta} }`
 *   (railwayapp/docs src/docs/guides/webhooks.md);
 * - current: `{ type: "Deployment.failed", details: {id, status, …}, resource: {workspace, project, environment, service, deployment}, severity, timestamp }`.
 * Railway adds fields over time, so unknown fields are kept, not refused; what the pool reads is
 * required and bounded. Railway does not sign its webhooks: the route authenticates by the
 * secret in its URL (RAILWAY_WEBHOOK_SECRET).
 */

const Id = z.string().min(1).max(128);
const Name = z.string().min(1).max(200);
const Ref = z.looseObject({ id: Id, name: Name.optional() });
const Status = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[A-Za-z_]+$/, "must be a Railway deployment status word such as SUCCESS or CRASHED");
const Timestamp = z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" });

export const LegacyRailwayEventSchema = z.looseObject({
  type: z.literal("DEPLOY"),
  status: Status,
  timestamp: Timestamp,
  service: Ref,
  deployment: z.looseObject({ id: Id }).optional(),
  project: Ref.optional(),
  environment: Ref.optional(),
});

export const RailwayEventSchema = z.looseObject({
  type: z
    .string()
    .min(3)
    .max(80)
    .regex(/^[A-Za-z]+\.[A-Za-z_]+$/, 'must be a Railway event type such as "Deployment.crashed"'),
  timestamp: Timestamp,
  details: z.looseObject({ id: Id.optional(), status: Status.optional() }).optional(),
  resource: z.looseObject({
    project: Ref.optional(),
    environment: Ref.optional(),
    service: Ref.optional(),
    deployment: z.looseObject({ id: Id }).optional(),
  }),
  severity: z.string().max(40).optional(),
});

export type LegacyRailwayEvent = z.infer<typeof LegacyRailwayEventSchema>;
export type RailwayEvent = z.infer<typeof RailwayEventSchema>;

/** The schema a body is read with: `type: "DEPLOY"` is the legacy shape, anything else the current one. */
export function railwayEventSchema(raw: unknown): typeof LegacyRailwayEventSchema | typeof RailwayEventSchema {
  return typeof raw === "object" && raw !== null && (raw as { type?: unknown }).type === "DEPLOY" ? LegacyRailwayEventSchema : RailwayEventSchema;
}
