import { z } from "zod";
import { INSTANCE_STATUSES } from "../domain/lifecycle";
import { PoolSettingsPatchSchema, PoolSettingsSchema } from "../domain/settings";

/** Request and response bodies of the pool API; routes validate with them and /api/openapi.json describes them. */

const metadataValue = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);

export const SlugSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, "must be lowercase letters, digits and dashes");

/**
 * The agent's name becomes its Convos profile name and a command-line argument of the convos
 * CLI: control characters (a NUL cannot even be passed in argv), bidi overrides that make a
 * name read differently from what it is, and unpaired surrogates are refused.
 */
const NAME_CHARS = /^[^\p{Cc}\u202A-\u202E\u2066-\u2069\uD800-\uDFFF]*$/u;

export const ClaimRequestSchema = z
  .object({
    agentName: z.string().trim().min(1).max(64).regex(NAME_CHARS, "must not contain control or bidi-override characters").optional(),
    instructions: z.string().max(32_000).refine((s) => !s.includes("\u0000"), "must not contain NUL characters").optional(),
    joinUrl: z.string().max(2_100).optional(),
    profileImage: z.url({ protocol: /^https$/ }).max(2_048).optional(),
    metadata: z
      .record(z.string().min(1).max(64), metadataValue)
      .refine((m) => Object.keys(m).length <= 32, "at most 32 keys")
      .optional(),
    template: SlugSchema.optional(),
  })
  .strict();
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

export const CountsSchema = z.record(InstanceStatusSchema, z.number().int());

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
  resources: z.object({
    openrouterKey: z.boolean(),
    agentmailInbox: z.string().nullable(),
    phoneNumber: z.string().nullable(),
    /** The host's volume at /data (Railway), null where the host has none of its own. */
    volume: z.string().nullable(),
  }),
});
export type InstanceView = z.infer<typeof InstanceViewSchema>;

export const TemplateSchema = z.object({
  slug: SlugSchema,
  name: z.string().min(1).max(80),
  description: z.string().min(1).max(2_000),
  category: z.string().min(1).max(40),
  emoji: z.string().min(1).max(16),
  skills: z.array(z.string().min(1).max(40)).max(20),
  instructions: z.string().max(32_000).nullable(),
  notionPageId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .nullable(),
  featured: z.boolean(),
  published: z.boolean(),
});
export type Template = z.infer<typeof TemplateSchema>;
