import { eq } from "drizzle-orm";
import { database, type Database } from "../../worker/db/client";
import { settings as settingsTable } from "../../worker/db/schema";
import { createInstanceClient, type InstanceClient } from "../../worker/instances/client";
import { type Deadlines, SharedDeadlines } from "../../worker/lib/deadlines";
import { defaultSettings, type PoolSettings, PoolSettingsSchema } from "../../worker/domain/settings";
import { computeProvider, type ComputeProvider } from "../../worker/providers/compute";
import { instanceResources, type InstanceResources } from "../../worker/providers/resources";
import { type IdleGate, OPEN_GATE } from "./idle-queue";

/**
 * Everything the coordinator's operations touch, built once per coordinator instance.
 * Operations take this as data so tests of a single step can hand in their own.
 */
export interface PoolContext {
  env: Env;
  db: Database;
  compute: ComputeProvider;
  resources: InstanceResources;
  instances: InstanceClient;
  /** The coordinator's timeouts and delays (the instance calls', the readiness probe's), on one timer. */
  deadlines: Deadlines;
  /** Asked before an idle instance is moved by anything but a claim (./idle-queue.ts). */
  idle: IdleGate;
  now: () => number;
}

export function createPoolContext(env: Env): PoolContext {
  // The coordinator's I/O context outlives its requests, so one timer can serve them all.
  const deadlines = new SharedDeadlines();
  return {
    env,
    db: database(env.DB),
    compute: computeProvider(env),
    resources: instanceResources(env),
    instances: createInstanceClient({ deadlines }),
    deadlines,
    idle: OPEN_GATE,
    now: Date.now,
  };
}

const SETTINGS_KEY = "pool";

export async function loadSettings(ctx: PoolContext): Promise<PoolSettings> {
  const defaults = defaultSettings(ctx.env);
  const [row] = await ctx.db.select().from(settingsTable).where(eq(settingsTable.key, SETTINGS_KEY)).limit(1);
  if (!row) return defaults;
  // Stored settings are merged over the defaults so a field added later gets its default.
  const parsed = PoolSettingsSchema.safeParse({ ...defaults, ...(row.value as object) });
  return parsed.success ? parsed.data : defaults;
}

export async function saveSettings(ctx: PoolContext, value: PoolSettings): Promise<void> {
  await ctx.db
    .insert(settingsTable)
    .values({ key: SETTINGS_KEY, value, updatedAt: ctx.now() })
    .onConflictDoUpdate({ target: settingsTable.key, set: { value, updatedAt: ctx.now() } });
}
