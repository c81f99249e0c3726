import { z } from "zod";
import { INSTANCE_STATUSES } from "../domain/lifecycle";
import { PoolSettingsPatchSchema, PoolSettingsSchema } from "../domain/settings";
import { AgentNameSchema, checkProvisionBytes, InstructionsSchema, ProvisionFields } from "../../runtime-container/contract/pool-runtime";

/** Request and response bodies of the pool API; routes validate with them and /api/openapi.json describes them. */

export const SlugSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, "must be lowercase letters, digits and dashes");

/**
 * A claim is what an instance's provision carries (the pool ↔ runtime contract, so whatever
 * passes here every instance accepts, byte budget included) plus the template to start from.
 */
export const ClaimRequestSchema = z
  .strictObject({ ...ProvisionFields, template: SlugSchema.optional() })
  .superRefine(({ template: _template, ...provision }, ctx) => checkProvisionBytes(provision, ctx));
export type ClaimRequest = z.infer<typeof ClaimRequestSchema>;

export const ClaimResponseSchema = z.object({
  instanceId: z.string(),
  // null while a join waits for the conversation creator's acceptance (status pending_acceptance).
  conversationId: z.string().nullable(),
  inviteUrl: z.string().nullable(),
  joined: z.boolean(),
  status: z.enum(["created", "joined", "pending_acceptance"]),
  agentName: z.string(),
});
export type ClaimResponse = z.infer<typeof ClaimResponseSchema>;

export const IdempotencyKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

export const CountRequestSchema = z.object({ count: z.number().int().min(1).max(20).default(1) }).strict();

export const InstanceIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, "must be an instance id");

export const InstanceStatusSchema = z.enum(INSTANCE_STATUSES);

export const AgentsQuerySchema = z
  .object({
    status: InstanceStatusSchema.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

/** `GET /api/pool/counts`: one number per status, flat (`{"idle": 3, …}`), and the breaker's phase beside them. */
export const CountsResponseSchema = z.object({
  ...Object.fromEntries(INSTANCE_STATUSES.map((s) => [s, z.number().int()])),
  breaker: z.enum(["closed", "open", "half-open"]),
});

export const SettingsPutSchema = PoolSettingsPatchSchema;
export { PoolSettingsSchema };

export const InstanceEventSchema = z.object({
  at: z.number(),
  from: z.string().nullable(),
  to: z.string(),
  reason: z.string().nullable(),
  actor: z.string().nullable(),
});

/** An instance as the private API shows it: never its tokens, keys or key hashes. */
export const InstanceViewSchema = z.object({
  id: z.string(),
  status: InstanceStatusSchema,
  statusReason: z.string().nullable(),
  statusChangedAt: z.number(),
  deadlineAt: z.number().nullable(),
  createdAt: z.number(),
  readyAt: z.number().nullable(),
  provider: z.string(),
  serviceName: z.string(),
  serviceId: z.string().nullable(),
  url: z.string().nullable(),
  deploymentStatus: z.string().nullable(),
  runtimeVersion: z.string().nullable(),
  /** The image it runs (Railway: digest-pinned ref; local: runtime version label); null if created before images were recorded. */
  image: z.string().nullable(),
  /** While `upgrading`: where the redeploy is heading, and whether it is the upgrade or its rollback. */
  upgrade: z.object({ image: z.string().nullable(), previousImage: z.string().nullable(), phase: z.enum(["upgrade", "rollback"]) }).nullable(),
  lastError: z.string().nullable(),
  agentName: z.string().nullable(),
  template: z.string().nullable(),
  conversationId: z.string().nullable(),
  inviteUrl: z.string().nullable(),
  joined: z.boolean().nullable(),
  claimStatus: z.string().nullable(),
  claimedAt: z.number().nullable(),
  /** A claimed instance whose stream is down or that does not answer: since when, and why (worker/domain/claimed-health.ts). */
  degraded: z.object({ since: z.number(), reason: z.string() }).nullable(),
  /** When the instance reported its model credits used up (worker/instances/credits.ts); a top-up clears it. */
  creditsExhaustedAt: z.number().nullable(),
  resources: z.object({
    openrouterKey: z.boolean(),
    agentmailInbox: z.string().nullable(),
    phoneNumber: z.string().nullable(),
    /** The host's volume at /data (Railway), null where the host has none of its own. */
    volume: z.string().nullable(),
  }),
});
export type InstanceView = z.infer<typeof InstanceViewSchema>;

/** POST /api/pool/instances/:id/credits/top-up: the new monthly limit, or an amount to add to it (USD). */
export const TopUpRequestSchema = z
  .strictObject({
    limitUsd: z.number().positive().max(100_000).optional(),
    addUsd: z.number().positive().max(100_000).optional(),
  })
  .refine((b) => (b.limitUsd === undefined) !== (b.addUsd === undefined), "give exactly one of limitUsd (the new monthly limit) or addUsd (an amount to add to it)")
  .transform((b): { limitUsd: number } | { addUsd: number } => (b.limitUsd !== undefined ? { limitUsd: b.limitUsd } : { addUsd: b.addUsd! }));
export type TopUpRequest = z.output<typeof TopUpRequestSchema>;

/** An instance's OpenRouter figures (USD); the key's hash never appears. */
export const CreditFiguresSchema = z.object({ usageMonthlyUsd: z.number(), limitUsd: z.number().nullable(), limitRemainingUsd: z.number().nullable() });
export type CreditFigures = z.infer<typeof CreditFiguresSchema>;

/** Null: no key (or OpenRouter off); known false: OpenRouter could not say right now. */
export const CreditUsageSchema = z
  .union([
    CreditFiguresSchema.extend({ known: z.literal(true), usageTotalUsd: z.number(), limitReset: z.string().nullable(), disabled: z.boolean() }),
    z.object({ known: z.literal(false), reason: z.string() }),
  ])
  .nullable();

/** GET /api/pool/instances/:id/credits. */
export const InstanceCreditsSchema = z.object({
  /** When the instance reported its credits used up; a top-up clears it. */
  exhaustedAt: z.number().nullable(),
  usage: CreditUsageSchema,
});
export type InstanceCredits = z.infer<typeof InstanceCreditsSchema>;

export const TopUpResponseSchema = z.object({ id: z.string(), fromUsd: z.number(), toUsd: z.number(), credits: InstanceCreditsSchema });

export const FleetEntrySchema = z.intersection(
  z.object({ id: z.string(), exhaustedAt: z.number().nullable() }),
  z.union([z.object({ known: z.literal(true), figures: CreditFiguresSchema }), z.object({ known: z.literal(false), reason: z.string() })]),
);
export type FleetEntry = z.infer<typeof FleetEntrySchema>;

export const FleetTotalsSchema = z.object({
  instances: z.number(),
  known: z.number(),
  unknown: z.number(),
  exhausted: z.number(),
  usageMonthlyUsd: z.number(),
  /** Sum of the known limits; keys without a limit are counted in `unlimited` instead. */
  limitUsd: z.number(),
  unlimited: z.number(),
});
export type FleetTotals = z.infer<typeof FleetTotalsSchema>;

/** GET /api/pool/credits: every live instance with a key, figures at most `cachedForMs` old. */
export const FleetCreditsSchema = z.object({
  totals: FleetTotalsSchema,
  instances: z.array(z.intersection(FleetEntrySchema, z.object({ agentName: z.string().nullable(), status: z.string() }))),
  cachedForMs: z.number(),
});
export type FleetCredits = z.infer<typeof FleetCreditsSchema>;

export const TemplateSchema = z.object({
  slug: SlugSchema,
  // The name a template's agents get unless the claim names one: the same rules as a claimed name.
  name: AgentNameSchema,
  description: z.string().min(1).max(2_000),
  category: z.string().min(1).max(40),
  emoji: z.string().min(1).max(16),
  skills: z.array(z.string().min(1).max(40)).max(20),
  instructions: InstructionsSchema.nullable(),
  notionPageId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .nullable(),
  featured: z.boolean(),
  published: z.boolean(),
});
export type Template = z.infer<typeof TemplateSchema>;

// --- per-instance recheck and deployment webhooks (issue 15 §3–4) ---------------------------

/** What one run of the tick's checks for one instance found and did (`POST /api/pool/instances/:id/recheck`, the Railway webhook). */
export const CheckReportSchema = z.object({
  id: z.string(),
  checkedAt: z.number(),
  /** Who ran it: "recheck" (an operator) or "railway-webhook". */
  actor: z.string(),
  before: InstanceStatusSchema,
  after: InstanceStatusSchema,
  /** The host's view of the instance's service: from its list (recheck) or from the event (webhook). */
  host: z.object({
    source: z.enum(["list", "event", "none"]),
    listed: z.boolean(),
    found: z.boolean(),
    state: z.enum(["deploying", "running", "sleeping", "failed", "removed"]).nullable(),
    rawStatus: z.string().nullable(),
    error: z.string().nullable(),
  }),
  /** The instance's own answer, when it was asked (`GET /pool/health`, and `/convos/status` for a claimed one). */
  health: z.object({ ok: z.boolean(), reason: z.string().nullable(), verdict: z.string() }).nullable(),
  outcome: z.enum(["transitioned", "updated", "no_change"]),
  transition: z.object({ from: InstanceStatusSchema, to: InstanceStatusSchema, reason: z.string() }).nullable(),
  reasons: z.array(z.string()),
});
export type CheckReport = z.infer<typeof CheckReportSchema>;

/** The answer to a Railway deployment event: applied (with what the check did) or ignored, and why. */
export const WebhookAnswerSchema = z.object({
  outcome: z.enum(["applied", "ignored"]),
  /** applied | unknown_service | not_deployment | foreign | duplicate | out_of_order | superseded */
  reason: z.string(),
  message: z.string(),
  instanceId: z.string().nullable(),
  report: CheckReportSchema.nullable(),
});
export type WebhookAnswer = z.infer<typeof WebhookAnswerSchema>;
