/**
 * How a claim treats an idle instance that turns out not to be able to serve it (SPEC §3:
 * a claim is served by a healthy instance whenever one exists). Plain decisions on data;
 * the claim path in durable-objects/pool-coordinator/claim.ts does the I/O.
 *
 * An instance that never received the provision request, or refused it before doing anything,
 * was never touched: no user had it, so it is `dead` (replaced by the pool), not `crashed`
 * (a state for instances a user was talking to), and the claim moves on to the next idle
 * instance within the same request.
 */

/** Idle instances one claim tries before giving up. */
export const CLAIM_MAX_ATTEMPTS = 3;
/** No further instance is tried once this long has passed since the claim began. */
export const CLAIM_RETRY_WINDOW_MS = 8_000;
/**
 * The readiness probe (`GET /pool/health`) asked of the reserved instance before it is
 * provisioned. A healthy instance answers in milliseconds; a stopped or hung one costs the
 * client this long instead of the provision timeout (75 s).
 */
export const READINESS_PROBE_TIMEOUT_MS = 2_000;

/** Why an instance was skipped by a claim: the label of `pool_claim_skipped_instances_total`. */
export type SkipReason = "probe_failed" | "probe_bound" | "not_ready" | "unreachable";

export type ProbeResult = { ok: true; bound: boolean } | { ok: false; reason: string };

/** What a failed provision call tells us about the instance. */
export interface ProvisionFailure {
  kind: "already_bound" | "failed" | "timed_out" | "not_ready" | "unreachable";
  reason: string;
}

export type AttemptVerdict =
  /** Never touched by this claim: mark it dead and try the next idle instance. */
  | { verdict: "untouched"; skip: SkipReason; reason: string }
  /** The instance may have started on this claim: resolve it as before (clean → idle, else crashed, or wait for its deadline). */
  | { verdict: "touched" };

/** The probe is side-effect-free, so any answer but "ready and unbound" leaves the instance untouched. */
export function probeVerdict(probe: ProbeResult): AttemptVerdict | null {
  if (!probe.ok) return { verdict: "untouched", skip: "probe_failed", reason: `readiness probe failed: ${probe.reason}` };
  // Bound while idle: a provision landed behind our back. Handing it out would earn the user a 409.
  if (probe.bound) return { verdict: "untouched", skip: "probe_bound", reason: "tainted: bound to a conversation while idle (readiness probe)" };
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
