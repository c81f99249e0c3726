import type { InstanceRow } from "../db/schema";
import type { InstancePatch } from "../db/instances";
import { database } from "../db/client";
import { agentMailResource, createAgentMailClient } from "./agentmail";
import { bankrVariables } from "./bankr";
import type { HttpTuning } from "./http";
import { keyLimitUsd, openRouterFromEnv, openRouterResource } from "./openrouter";
import { createTelnyxClient, telnyxResource } from "./telnyx";

/**
 * Per-instance external resources (OpenRouter key, AgentMail inbox, phone number). Each
 * resource records its id on the row through `record` *before* its secret is handed out, so
 * teardown can always find and release it; release is idempotent and a provider's "not
 * found" counts as released.
 */
export interface InstanceResource {
  readonly name: string;
  /** Creates the resource; returns the variables the instance needs from it. */
  provision(row: InstanceRow, record: (patch: InstancePatch) => Promise<void>): Promise<Record<string, string>>;
  /** Releases what `row` records; returns the columns to clear. */
  release(row: InstanceRow): Promise<InstancePatch>;
}

export interface InstanceResources {
  /** Names of the enabled providers, for /api/pool/info. */
  enabled: string[];
  /** Variables shared by every instance (e.g. a shared Bankr key). */
  sharedVariables: Record<string, string>;
  list: InstanceResource[];
}

/**
 * The resources enabled by the configured credentials; a provider without credentials is off
 * and its instances are created without that skill. Order matters only for the variables.
 */
export function instanceResources(env: Env, tuning: HttpTuning = {}): InstanceResources {
  const enabled: string[] = [];
  const list: InstanceResource[] = [];
  const openrouter = openRouterFromEnv(env, tuning);
  if (openrouter) {
    enabled.push("openrouter");
    list.push(openRouterResource(openrouter, { limitUsd: () => keyLimitUsd(env), model: env.OPENCLAW_PRIMARY_MODEL ?? "" }));
  }
  if (env.AGENTMAIL_API_KEY) {
    enabled.push("agentmail");
    list.push(agentMailResource(createAgentMailClient({ apiKey: env.AGENTMAIL_API_KEY, ...tuning }), env.AGENTMAIL_DOMAIN || undefined, env.AGENTMAIL_API_KEY));
  }
  // A number without a messaging profile cannot send SMS, so both are needed.
  if (env.TELNYX_API_KEY && env.TELNYX_MESSAGING_PROFILE_ID) {
    enabled.push("telnyx");
    list.push(
      telnyxResource(createTelnyxClient({ apiKey: env.TELNYX_API_KEY, ...tuning }), database(env.DB), {
        messagingProfileId: env.TELNYX_MESSAGING_PROFILE_ID,
        apiKey: env.TELNYX_API_KEY,
      }),
    );
  }
  const sharedVariables = bankrVariables(env);
  if (sharedVariables.BANKR_API_KEY) enabled.push("bankr");
  if (env.NOTION_API_KEY) enabled.push("notion");
  return { enabled, sharedVariables, list };
}
