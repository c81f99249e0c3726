import type { PoolCoordinator } from "../durable-objects/pool-coordinator";

/** The one coordinator of this pool (one per environment: each has its own namespace). */
export function coordinator(env: Env): DurableObjectStub<PoolCoordinator> {
  const ns = env.POOL_COORDINATOR as DurableObjectNamespace<PoolCoordinator>;
  return ns.get(ns.idFromName("pool"));
}
