import type { ClaimInput, ClaimOutcome, PoolCoordinator } from "../durable-objects/pool-coordinator";
import { log } from "./lib/log";

/** The one coordinator of this pool (one per environment: each has its own namespace). */
export function coordinator(env: Env): DurableObjectStub<PoolCoordinator> {
  const ns = env.POOL_COORDINATOR as DurableObjectNamespace<PoolCoordinator>;
  return ns.get(ns.idFromName("pool"));
}

/**
 * A claim through the coordinator, for every caller (API, admin, catalog). An RPC that throws
 * means the coordinator was reset (deploy, eviction, crash) while it held this claim: whatever
 * it had reserved is finished by the tick, and a retry with the same key never takes a second
 * agent, so callers answer "retry shortly" rather than an error page.
 */
export async function claimAgent(env: Env, input: ClaimInput): Promise<ClaimOutcome> {
  try {
    return await coordinator(env).claim(input);
  } catch (err) {
    log.error("claim interrupted by a coordinator reset", { actor: input.actor, error: (err as Error).message });
    return {
      ok: false,
      code: "claim_interrupted",
      message: "the pool restarted while handling this claim; retry it (with the same Idempotency-Key, if you sent one)",
      retryAfterSeconds: 2,
    };
  }
}
