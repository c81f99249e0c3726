import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { INSTANCE_STATUSES } from "../domain/lifecycle";
import { ROLLOUT_STATES } from "../domain/rollout";

/**
 * One row per agent instance, from the moment we decide to create it until it is deleted.
 * Every external resource an instance owns is recorded here *before* the call that depends
 * on it, so teardown can always find and release it.
 */
export const instances = sqliteTable(
  "instances",
  {
    id: text("id").primaryKey(),
    status: text("status", { enum: INSTANCE_STATUSES }).notNull(),
    // Written by the same UPDATE that changes status; the status trigger copies them into
    // instance_events, so the event exists exactly when the transition happened.
    statusReason: text("status_reason"),
    statusActor: text("status_actor"),
    statusChangedAt: integer("status_changed_at").notNull(),
    deadlineAt: integer("deadline_at"),
    createdAt: integer("created_at").notNull(),
    readyAt: integer("ready_at"),

    provider: text("provider").notNull(),
    serviceName: text("service_name").notNull(),
    serviceId: text("service_id"),
    url: text("url"),
    deploymentStatus: text("deployment_status"),
    runtimeVersion: text("runtime_version"),
    // What the instance reported it can do in /pool/health (contract CAPABILITY_LABELS ids);
    // the catalog's skill tags come from these, not from what a template claims.
    capabilities: text("capabilities", { mode: "json" }).$type<string[]>(),
    lastHealthAt: integer("last_health_at"),
    healthFailures: integer("health_failures").notNull().default(0),
    lastError: text("last_error"),
    // A claimed instance whose conversation stream is down (or that does not answer) since
    // then: shown as degraded until it recovers or the bound in worker/domain/claimed-health.ts passes.
    degradedSince: integer("degraded_since"),
    degradedReason: text("degraded_reason"),
    // When the instance reported its model key exhausted (402 / limit error); a top-up clears
    // it. Shown on the dashboard and counted in /metrics.
    creditsExhaustedAt: integer("credits_exhausted_at"),

    // AES-GCM sealed with POOL_ENCRYPTION_KEY; never leaves the coordinator in clear.
    gatewayTokenSealed: text("gateway_token_sealed"),
    openrouterKeyHash: text("openrouter_key_hash"),
    agentmailInboxId: text("agentmail_inbox_id"),
    phoneNumber: text("phone_number"),
    // The host's volume mounted at /data (identity, binding, workspace), recorded before the
    // first deploy that depends on it; deleted with the instance.
    volumeId: text("volume_id"),

    // The image the instance runs (Railway: a digest-pinned ref; local: a runtime version
    // label), written by the create or the redeploy that put it there. Null: created before
    // images were recorded, so any rollout treats it as old.
    image: text("image"),
    // While `upgrading`: the redeploy in flight (worker/domain/rollout.ts). `upgradePhase` is
    // "upgrade" on the way to `upgradeImage`, "rollback" on the way back to `upgradePreviousImage`;
    // the deployment id (where the host has them) tells the new deployment's health from the old one's.
    upgradeImage: text("upgrade_image"),
    upgradePreviousImage: text("upgrade_previous_image"),
    upgradePhase: text("upgrade_phase", { enum: ["upgrade", "rollback"] }),
    upgradeDeploymentId: text("upgrade_deployment_id"),

    claimId: text("claim_id"),
    agentName: text("agent_name"),
    template: text("template"),
    joinUrl: text("join_url"),
    conversationId: text("conversation_id"),
    inviteUrl: text("invite_url"),
    joined: integer("joined", { mode: "boolean" }),
    claimStatus: text("claim_status", { enum: ["created", "joined", "pending_acceptance"] }),
    claimedAt: integer("claimed_at"),

    teardownAttempts: integer("teardown_attempts").notNull().default(0),
    nextTeardownAt: integer("next_teardown_at"),
    deletedAt: integer("deleted_at"),
  },
  (t) => [
    index("instances_status_idx").on(t.status, t.readyAt),
    uniqueIndex("instances_service_name_idx").on(t.serviceName),
    // The same invite is never provisioned twice at once: the reservation that would be the
    // second one fails on this index instead of racing.
    uniqueIndex("instances_join_url_claiming_idx").on(t.joinUrl).where(sql`status = 'claiming' AND join_url IS NOT NULL`),
  ],
);

export const instanceEvents = sqliteTable(
  "instance_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    instanceId: text("instance_id").notNull(),
    at: integer("at").notNull(),
    fromStatus: text("from_status"),
    toStatus: text("to_status").notNull(),
    reason: text("reason"),
    actor: text("actor"),
  },
  (t) => [index("instance_events_instance_idx").on(t.instanceId, t.id)],
);

/**
 * Idempotency keys of claims, as coordinators before the claim records moved into the
 * coordinator's own storage (durable-objects/pool-coordinator/claim-records.ts) kept them.
 * Nothing writes here any more; a coordinator reads it once at its first start. Dropped in a
 * later migration, once every environment has run that import.
 */
export const claims = sqliteTable(
  "claims",
  {
    key: text("key").primaryKey(),
    bodyHash: text("body_hash").notNull(),
    state: text("state", { enum: ["pending", "succeeded", "failed"] }).notNull(),
    instanceId: text("instance_id"),
    result: text("result", { mode: "json" }),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("claims_expires_idx").on(t.expiresAt)],
);

export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const templates = sqliteTable(
  "templates",
  {
    slug: text("slug").primaryKey(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    category: text("category").notNull(),
    emoji: text("emoji").notNull(),
    skills: text("skills", { mode: "json" }).$type<string[]>().notNull(),
    instructions: text("instructions"),
    notionPageId: text("notion_page_id"),
    featured: integer("featured", { mode: "boolean" }).notNull().default(false),
    published: integer("published", { mode: "boolean" }).notNull().default(true),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("templates_category_idx").on(t.category)],
);

/**
 * Rollouts of the runtime image, newest last. The newest row says which image this pool wants
 * (its target, or its previous image once rolled back); every state change is a
 * compare-and-set on `state`, so a coordinator restart resumes from what the row says.
 */
export const rollouts = sqliteTable(
  "rollouts",
  {
    id: text("id").primaryKey(),
    targetImage: text("target_image").notNull(),
    previousImage: text("previous_image"),
    state: text("state", { enum: ROLLOUT_STATES }).notNull(),
    stateReason: text("state_reason"),
    /** At most this many new instances booting (and claimed upgrades in flight) at once. */
    batchSize: integer("batch_size").notNull(),
    /** The operator asked to upgrade every claimed instance too, in batches of `batchSize`. */
    upgradeClaimed: integer("upgrade_claimed", { mode: "boolean" }).notNull().default(false),
    /** Instances of this rollout that failed (boot on the target, or an upgrade rolled back). */
    failed: integer("failed").notNull().default(0),
    upgraded: integer("upgraded").notNull().default(0),
    actor: text("actor").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("rollouts_created_idx").on(t.createdAt)],
);

/** Telnyx numbers we own; released numbers are reused before buying new ones. */
export const phoneNumbers = sqliteTable(
  "phone_numbers",
  {
    phoneNumber: text("phone_number").primaryKey(),
    telnyxId: text("telnyx_id"),
    instanceId: text("instance_id"),
    releasedAt: integer("released_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("phone_numbers_instance_idx").on(t.instanceId)],
);

/** Fixed-window counters for login attempts and public claims. */
export const rateLimits = sqliteTable("rate_limits", {
  key: text("key").primaryKey(),
  windowStart: integer("window_start").notNull(),
  count: integer("count").notNull(),
});

export type InstanceRow = typeof instances.$inferSelect;
export type InstanceEventRow = typeof instanceEvents.$inferSelect;
export type RolloutRow = typeof rollouts.$inferSelect;
export type TemplateRow = typeof templates.$inferSelect;
