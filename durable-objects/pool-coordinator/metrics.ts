/**
 * Counters the coordinator keeps for GET /metrics. They live in the DO's own storage, so they
 * survive evictions; the Worker renders them as Prometheus text.
 */
export const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 75] as const;

export interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

export interface PoolMetrics {
  claims: Record<string, number>;
  /** The pool's own part of a claim: reservation and bookkeeping, without the instance's provision call. */
  claimPoolSeconds: Histogram;
  /** The whole claim as the caller saw it. */
  claimTotalSeconds: Histogram;
  tickSeconds: Histogram;
  ticks: number;
  creates: { ok: number; failed: number };
  teardowns: { ok: number; failed: number };
  providerErrors: Record<string, number>;
  /** Idle instances a claim found dead and skipped (never touched), by reason (worker/domain/claim-attempts.ts). */
  claimSkips: Record<string, number>;
  /** Checks of claimed instances by verdict (worker/domain/claimed-health.ts). */
  claimedChecks: Record<string, number>;
  /** Operator rechecks of one instance, by outcome (transitioned, updated, no_change). */
  rechecks: Record<string, number>;
  /** Railway deployment events by event type, then by what became of them (applied, or why ignored). */
  webhookEvents: Record<string, Record<string, number>>;
}

const histogram = (): Histogram => ({ buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 });

export function emptyMetrics(): PoolMetrics {
  return {
    claims: {},
    claimPoolSeconds: histogram(),
    claimTotalSeconds: histogram(),
    tickSeconds: histogram(),
    ticks: 0,
    creates: { ok: 0, failed: 0 },
    teardowns: { ok: 0, failed: 0 },
    providerErrors: {},
    claimSkips: {},
    claimedChecks: {},
    rechecks: {},
    webhookEvents: {},
  };
}

export function observe(h: Histogram, seconds: number): void {
  LATENCY_BUCKETS_SECONDS.forEach((bound, i) => {
    if (seconds <= bound) h.buckets[i]!++;
  });
  h.sum += seconds;
  h.count++;
}

export function bump(counter: Record<string, number>, key: string, by = 1): void {
  counter[key] = (counter[key] ?? 0) + by;
}
