import type { InstanceRow } from "../db/schema";
import type { InstancePatch } from "../db/instances";

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

/** The resources enabled by the configured credentials; a provider without credentials is off. */
export function instanceResources(_env: Env): InstanceResources {
  return { enabled: [], sharedVariables: {}, list: [] };
}
