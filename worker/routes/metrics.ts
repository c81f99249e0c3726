import { Hono } from "hono";
import { LATENCY_BUCKETS_SECONDS, type Histogram } from "../../durable-objects/pool-coordinator/metrics";
import { coordinator } from "../coordinator";
import { database } from "../db/client";
import { countByStatus, countDegraded } from "../db/instances";
import { requirePoolKey } from "../http/auth";
import { rolloutMetricLines } from "./rollout-metrics";
import { countExhausted } from "../instances/credits";

/** GET /metrics in the Prometheus text exposition format (bearer). */
export const metricsRoutes = new Hono<{ Bindings: Env }>();

metricsRoutes.get("/metrics", requirePoolKey(), async (c) => {
  const db = database(c.env.DB);
  // The counts below come from D1: let it catch up with the coordinator first.
  const pendingInOutbox = await coordinator(c.env).settle();
  const [counts, degraded, m, rollout, exhausted] = await Promise.all([
    countByStatus(db),
    countDegraded(db),
    coordinator(c.env).getMetrics(),
    coordinator(c.env).rolloutProgress(),
    countExhausted(db),
  ]);
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, lines: string[]) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  const histogram = (name: string, help: string, h: Histogram) =>
    metric(name, "histogram", help, [
      ...LATENCY_BUCKETS_SECONDS.map((le, i) => `${name}_bucket{le="${le}"} ${h.buckets[i] ?? 0}`),
      `${name}_bucket{le="+Inf"} ${h.count}`,
      `${name}_sum ${h.sum}`,
      `${name}_count ${h.count}`,
    ]);

  metric(
    "pool_instances",
    "gauge",
    "Instances per status.",
    Object.entries(counts).map(([s, n]) => `pool_instances{status="${s}"} ${n}`),
  );
  metric(
    "pool_claims_total",
    "counter",
    "Claims by outcome.",
    Object.entries(m.claims).map(([o, n]) => `pool_claims_total{outcome="${o}"} ${n}`),
  );
  histogram("pool_claim_pool_seconds", "Time a successful claim spent in the pool itself, excluding the instance's provision call.", m.claimPoolSeconds);
  histogram("pool_claim_seconds", "Total time of a successful claim.", m.claimTotalSeconds);
  histogram("pool_tick_seconds", "Reconcile tick duration.", m.tickSeconds);
  metric("pool_idle_queue_size", "gauge", 'Idle instances in the coordinator\'s claimable queue (compare pool_instances{status="idle"} in D1).', [`pool_idle_queue_size ${m.idleQueue.size}`]);
  metric("pool_idle_queue_drift_total", "counter", "Queue entries the coordinator found no longer idle in D1 (with no claim holding them) and dropped, since it started.", [
    `pool_idle_queue_drift_total ${m.idleQueue.drift}`,
  ]);
  metric("pool_coordinator_commits_total", "counter", "Commits of the coordinator's own storage by its group commit (claims' writes share them), since it started.", [
    `pool_coordinator_commits_total ${m.commits.commits}`,
  ]);
  metric("pool_coordinator_committed_writes_total", "counter", "Writes those commits carried (÷ commits: how many shared each).", [`pool_coordinator_committed_writes_total ${m.commits.writes}`]);
  const ob = m.outbox;
  metric("pool_outbox_pending", "gauge", "Claim writes (reservations, binds, failures) the coordinator holds that D1 has not acknowledged yet (after this scrape's flush).", [
    `pool_outbox_pending ${pendingInOutbox}`,
  ]);
  metric("pool_outbox_pending_max", "gauge", "The most claim writes ever waiting for D1 at once since the coordinator started.", [`pool_outbox_pending_max ${ob.maxPending}`]);
  metric("pool_outbox_round_trips_total", "counter", "D1 round trips made by outbox flushes (apart from the claim path).", [`pool_outbox_round_trips_total ${ob.roundTrips}`]);
  metric("pool_outbox_writes_total", "counter", "Claim writes the outbox sent to D1, by result (no_row: the instance had moved on; dropped: refused too often).", [
    `pool_outbox_writes_total{result="sent"} ${ob.writes}`,
    `pool_outbox_writes_total{result="no_row"} ${ob.conflicts}`,
    `pool_outbox_writes_total{result="dropped"} ${ob.dropped}`,
  ]);
  metric("pool_outbox_statements_total", "counter", "D1 statements the outbox's flushes carried (writes of one shape share one).", [`pool_outbox_statements_total ${ob.statements}`]);
  metric("pool_outbox_flush_failures_total", "counter", "Outbox flush rounds D1 refused (their statements were kept and retried).", [`pool_outbox_flush_failures_total ${ob.failures}`]);
  metric(
    "pool_outbox_lag_seconds",
    "summary",
    "Time from a claim write committed in the coordinator to D1's acknowledgement, over recent statements.",
    ob.lagMs
      ? [
          `pool_outbox_lag_seconds{quantile="0.5"} ${ob.lagMs.p50 / 1000}`,
          `pool_outbox_lag_seconds{quantile="0.95"} ${ob.lagMs.p95 / 1000}`,
          `pool_outbox_lag_seconds{quantile="1"} ${ob.lagMs.max / 1000}`,
        ]
      : [],
  );
  metric("pool_instance_creates_total", "counter", "Instance creates by result.", [
    `pool_instance_creates_total{result="ok"} ${m.creates.ok}`,
    `pool_instance_creates_total{result="failed"} ${m.creates.failed}`,
  ]);
  metric("pool_teardowns_total", "counter", "Teardowns by result.", [`pool_teardowns_total{result="ok"} ${m.teardowns.ok}`, `pool_teardowns_total{result="failed"} ${m.teardowns.failed}`]);
  metric(
    "pool_provider_errors_total",
    "counter",
    "Provider errors by provider.",
    Object.entries(m.providerErrors).map(([p, n]) => `pool_provider_errors_total{provider="${p}"} ${n}`),
  );
  metric(
    "pool_claim_skipped_instances_total",
    "counter",
    "Idle instances a claim found dead before touching them (marked dead, the claim moved on), by reason.",
    Object.entries(m.claimSkips).map(([r, n]) => `pool_claim_skipped_instances_total{reason="${r}"} ${n}`),
  );
  metric(
    "pool_claimed_checks_total",
    "counter",
    "Health checks of claimed instances by verdict (healthy, degraded, crashed, join_accepted).",
    Object.entries(m.claimedChecks).map(([v, n]) => `pool_claimed_checks_total{verdict="${v}"} ${n}`),
  );
  // Issue 15 §3–4: deployment webhooks and rechecks.
  metric(
    "pool_webhook_events_total",
    "counter",
    "Railway deployment webhook events by event type and result (applied, or why ignored: unknown_service, not_deployment, foreign, duplicate, out_of_order, superseded).",
    Object.entries(m.webhookEvents).flatMap(([type, byResult]) => Object.entries(byResult).map(([result, n]) => `pool_webhook_events_total{type="${label(type)}",result="${result}"} ${n}`)),
  );
  metric(
    "pool_rechecks_total",
    "counter",
    "Per-instance rechecks by outcome (transitioned, updated, no_change).",
    Object.entries(m.rechecks).map(([o, n]) => `pool_rechecks_total{outcome="${o}"} ${n}`),
  );
  metric("pool_claimed_degraded", "gauge", "Claimed instances whose stream is down or that do not answer, not yet declared crashed.", [`pool_claimed_degraded ${degraded}`]);
  metric("pool_instances_credits_exhausted", "gauge", "Live instances whose model credits are used up (reported by the instance, cleared by a top-up).", [
    `pool_instances_credits_exhausted ${exhausted}`,
  ]);
  metric("pool_breaker_open", "gauge", "1 while the create circuit breaker is open.", [`pool_breaker_open ${m.breaker.phase === "open" ? 1 : 0}`]);
  metric("pool_breaker_consecutive_failures", "gauge", "Consecutive instance create failures.", [`pool_breaker_consecutive_failures ${m.breaker.consecutiveFailures}`]);
  out.push(...rolloutMetricLines(rollout));
  return c.text(`${out.join("\n")}\n`, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
});

/** A Prometheus label value: backslash, quote and newline escaped. */
const label = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
