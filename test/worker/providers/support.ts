import { env } from "cloudflare:workers";
import { isNotNull } from "drizzle-orm";
import type { PoolContext } from "../../../durable-objects/pool-coordinator/context";
import { createInstance } from "../../../durable-objects/pool-coordinator/create-instance";
import { OPEN_GATE } from "../../../durable-objects/pool-coordinator/idle-queue";
import { teardownMany } from "../../../durable-objects/pool-coordinator/teardown";
import { runTick } from "../../../durable-objects/pool-coordinator/tick";
import { countByStatus } from "../../../worker/db/instances";
import type { PoolSettings } from "../../../worker/domain/settings";
import { database } from "../../../worker/db/client";
import { phoneNumbers } from "../../../worker/db/schema";
import { defaultSettings } from "../../../worker/domain/settings";
import { createInstanceClient } from "../../../worker/instances/client";
import { perCallDeadlines } from "../../../worker/lib/deadlines";
import { createRailwayProvider } from "../../../worker/providers/compute/railway";
import type { TokenBucket } from "../../../worker/providers/http";
import { instanceResources } from "../../../worker/providers/resources";
import { FAKE_CREDENTIALS } from "../../support/fakes/credentials";
import { providerState } from "../helpers";

/** The Worker's env with every provider configured against the fakes. */
export const providerEnv = { ...env, ...FAKE_CREDENTIALS, COMPUTE_PROVIDER: "railway", SERVICE_PREFIX: "convos-agent" } as Env;

/** Short waits so retry paths run in milliseconds. */
export const FAST = { baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 500 };

/**
 * A pool context wired to the real Railway/OpenRouter/AgentMail/Telnyx clients, all talking to
 * the fakes: the create and teardown pipelines run exactly as in the coordinator.
 */
export function providerContext(overrides: { limiter?: TokenBucket; envOverrides?: Partial<Env> } = {}): PoolContext {
  const e = { ...providerEnv, ...overrides.envOverrides } as Env;
  return {
    env: e,
    db: database(env.DB),
    idle: OPEN_GATE,
    compute: createRailwayProvider({
      token: e.RAILWAY_API_TOKEN,
      projectId: e.RAILWAY_PROJECT_ID,
      environmentId: e.RAILWAY_ENVIRONMENT_ID,
      image: e.RAILWAY_RUNTIME_IMAGE,
      prefix: e.SERVICE_PREFIX,
      limiter: overrides.limiter,
      ...FAST,
    }),
    resources: instanceResources(e, FAST),
    instances: createInstanceClient({ healthTimeoutMs: 500 }),
    deadlines: perCallDeadlines,
    now: Date.now,
  };
}

export const settings = () => defaultSettings(providerEnv);

/** What every provider still holds: the numbers a leak-free teardown must bring back to zero. */
export async function liveResources() {
  const s = await providerState();
  const assigned = await database(env.DB).select().from(phoneNumbers).where(isNotNull(phoneNumbers.instanceId));
  return {
    services: s.railway.services.length as number,
    volumes: s.railway.volumes.length as number,
    keys: s.openrouter.keys.length as number,
    inboxes: s.agentmail.inboxes.length as number,
    assignedNumbers: assigned.length,
  };
}

export const NOTHING = { services: 0, volumes: 0, keys: 0, inboxes: 0, assignedNumbers: 0 };

/** One reconcile pass of the real tick, with Railway and every resource provider behind it. */
export function tickWith(ctx: PoolContext, s: PoolSettings) {
  return runTick(
    {
      ctx,
      settings: s,
      inFlightClaims: new Set(),
      creatingNow: new Set(),
      async replenish() {
        const counts = await countByStatus(ctx.db);
        const want = Math.max(0, Math.min(s.maxCreatesPerTick, s.minIdle - counts.idle - counts.starting - counts.creating));
        let created = 0;
        let failed = 0;
        for (let i = 0; i < want; i++) (await createInstance(ctx, s, "tick", "replenish", new Set())).ok ? created++ : failed++;
        return { created, failed };
      },
      teardown: async (rows) => (await teardownMany(ctx, rows, s, "tick")).deleted.length,
    },
    "test",
  );
}
