/**
 * How a claim treats an idle instance that turns out not to be able to serve it (SPEC §3:
 * a claim is served by a healthy instance whenever one exists). Plain decisions on data;
 * the claim path in durable-objects/pool-coordinator/claim.ts does the I/O.
 *
 * An instance that refused the provision request before doing anything, gave no answer at all, or
 * did not answer the readiness probe sent with it was never handed to anyone: no user had it, so it is `dead` (replaced by the pool), not `crashed`
 * (a state for instances a user was talking to), and the claim moves on to the next idle
 * instance within the same request.
 */

/** Idle instances one claim tries before giving up. */
export const CLAIM_MAX_ATTEMPTS = 3;
/** No further instance is tried once this long has passed since the claim began. */
export const CLAIM_RETRY_WINDOW_MS = 8_000;
/**
 * The readiness probe (`GET /pool/health`) sent alongside the provision request. A healthy
 * instance answers it in milliseconds; one that does not answer within this long (a stopped
 * process) or answers not-ready is given up on, and its provision request with it: it costs the
 * client this long instead of the provision timeout (75 s). The probe runs beside the provision,
 * not before it, so a healthy instance's claim waits for no extra round trip.
 */
export const READINESS_PROBE_TIMEOUT_MS = 2_000;
/**
 * The probe goes out this long into the provision call, if that has not answered yet: an instance
 * that answers sooner has proved itself and needs no probe (one request per claim, not two). A
 * real provision takes seconds, so it is probed; a hung instance costs the client this much more.
 */
export const READINESS_PROBE_DELAY_MS = 250;

/** Why an instance was skipped by a claim: the label of `pool_claim_skipped_instances_total`. */
export type SkipReason = "probe_failed" | "not_ready" | "unreachable";

export type ProbeResult = { ok: true } | { ok: false; reason: string };

/** What a failed provision call tells us about the instance. */
export interface ProvisionFailure {
  kind: "already_bound" | "failed" | "timed_out" | "not_ready" | "unreachable" | "invalid_invite";
  reason: string;
}

/** Never touched by this claim: mark it dead and try the next idle instance. */
export type Untouched = { verdict: "untouched"; skip: SkipReason; reason: string };

export type AttemptVerdict =
  | Untouched
  /** The instance may have started on this claim: resolve it as before (clean → idle, else crashed, or wait for its deadline). */
  | { verdict: "touched" };

/**
 * A probe that fails before the provision has answered: the instance is stopped, gone or not
 * ready. Whatever it may still do with the abandoned request, it is destroyed as `dead`, so no
 * user can ever be handed what it does.
 */
export function probeVerdict(probe: ProbeResult): Untouched | null {
  if (!probe.ok) return { verdict: "untouched", skip: "probe_failed", reason: `readiness probe failed: ${probe.reason}` };
  return null;
}

/**
 * A 503 `not_ready` is the front server refusing before it forwards anything (its gateway is
 * down); no answer at all (connection refused or reset) means the request never got a reply.
 * Either way nothing can have been handed to a user. A timeout is different: the instance
 * may still bind after we stop waiting.
 */
export function provisionVerdict(failure: ProvisionFailure): AttemptVerdict {
  if (failure.kind === "not_ready") return { verdict: "untouched", skip: "not_ready", reason: `never touched: ${failure.reason}` };
  if (failure.kind === "unreachable") return { verdict: "untouched", skip: "unreachable", reason: `never touched: ${failure.reason}` };
  return { verdict: "touched" };
}

/** Whether the claim may try one more idle instance after `attempts` were skipped. */
export function mayTryAnother(attempts: number, startedAt: number, now: number): boolean {
  return attempts < CLAIM_MAX_ATTEMPTS && now - startedAt < CLAIM_RETRY_WINDOW_MS;
}
