import type { CheckReport, ClaimRequest, ClaimResponse } from "../../worker/api/schemas";
import type { BreakerPhase } from "../../worker/domain/breaker";
import type { PoolSettings } from "../../worker/domain/settings";

/**
 * What the coordinator's RPC methods return. Errors thrown across DO RPC lose their details,
 * so every expected failure is a value here and the Worker maps `code` to an HTTP answer.
 */
export type ClaimOutcome =
  | { ok: true; claim: ClaimResponse; replayed: boolean; timings?: { poolMs: number; provisionMs: number } }
  | { ok: false; code: "pool_empty"; message: string; retryAfterSeconds: number }
  | { ok: false; code: "idempotency_conflict"; message: string }
  | { ok: false; code: "join_in_progress"; message: string }
  | { ok: false; code: "template_not_found"; message: string }
  | { ok: false; code: "provision_failed"; message: string; instanceId: string }
  /** The instance's CLI could not read the invite the claim gave it; the instance went back to the pool. */
  | { ok: false; code: "invalid_join_url"; problem: "unreadable"; message: string }
  /** Made by the Worker, not the coordinator: the coordinator was reset while it held the claim. */
  | { ok: false; code: "claim_interrupted"; message: string; retryAfterSeconds: number };

export interface ClaimInput {
  request: ClaimRequest;
  idempotencyKey?: string;
  /** Who asked: "api", "admin", "catalog"… recorded on the instance's events. */
  actor?: string;
  /** The template `request.template` names, as the Worker read it for this claim, so the coordinator does not read it again. */
  template?: ClaimTemplate;
}

/** What a claim takes from its template. */
export interface ClaimTemplate {
  slug: string;
  name: string;
  instructions: string | null;
}

export interface ReplenishOutcome {
  requested: number;
  created: string[];
  failed: number;
  limitedBy: "none" | "maxTotal" | "breaker";
}

export interface DrainOutcome {
  requested: number;
  drained: string[];
}

export type InstanceActionOutcome = { ok: true; id: string; status: string } | { ok: false; code: "not_found" | "invalid_state" | "unauthorized"; message: string };

export interface TickSummary {
  trigger: string;
  startedAt: number;
  durationMs: number;
  observed: number | null;
  listError: string | null;
  readied: number;
  failed: number;
  crashed: number;
  recoveredClaims: number;
  orphansDeleted: number;
  created: number;
  createFailures: number;
  tornDown: number;
  /** Checks of starting and idle instances. */
  healthChecks: number;
  /** Checks of claimed instances, by verdict (worker/domain/claimed-health.ts). */
  claimedChecks: { healthy: number; degraded: number; crashed: number; join_accepted: number };
}

export interface BreakerView {
  phase: BreakerPhase;
  consecutiveFailures: number;
  openedAt: number | null;
  openUntil: number | null;
  lastError: string | null;
}

export interface CoordinatorStatus {
  breaker: BreakerView;
  lastTick: TickSummary | null;
  nextTickAt: number | null;
}

export type SettingsOutcome = { ok: true; settings: PoolSettings } | { ok: false; field: string; message: string };

// --- per-instance recheck (issue 15 §4) -----------------------------------------------------

export type RecheckOutcome = { ok: true; report: CheckReport } | { ok: false; code: "not_found"; message: string };
