import type { ClaimOutcome } from "../../durable-objects/pool-coordinator/outcomes";
import type { InviteProblem } from "../../runtime-container/contract/pool-runtime";

/**
 * What a claim can end in, for every surface that makes one (API, dashboard, catalog): the
 * coordinator's outcomes plus the ones the Worker decides before asking it.
 */
export type ClaimResult =
  | ClaimOutcome
  | { ok: false; code: "invalid_join_url"; problem: Exclude<InviteProblem, "unreadable">; message: string }
  /** The template's instructions live in Notion and Notion cannot be read, with no inline fallback. */
  | { ok: false; code: "template_unavailable"; message: string; retryAfterSeconds: number };
export type ClaimFailure = Extract<ClaimResult, { ok: false }>;
export type ClaimFailureCode = ClaimFailure["code"];

export interface ClaimFailureHttp {
  status: 400 | 404 | 409 | 422 | 502 | 503;
  /** The request field the failure is about, for forms that show it next to the field. */
  field: "joinUrl" | "template" | null;
}

/** The one mapping from a failed claim to HTTP. */
export const CLAIM_FAILURE_HTTP: Record<ClaimFailureCode, ClaimFailureHttp> = {
  invalid_join_url: { status: 400, field: "joinUrl" },
  template_not_found: { status: 404, field: "template" },
  join_in_progress: { status: 409, field: "joinUrl" },
  // The IETF Idempotency-Key draft's answer to a key reused with another body.
  idempotency_conflict: { status: 422, field: null },
  provision_failed: { status: 502, field: null },
  pool_empty: { status: 503, field: null },
  claim_interrupted: { status: 503, field: null },
  template_unavailable: { status: 503, field: null },
};

/** Status, field and the Retry-After header (seconds) of a failed claim. */
export function claimFailureHttp(failure: ClaimFailure): ClaimFailureHttp & { retryAfterSeconds: number | null } {
  return { ...CLAIM_FAILURE_HTTP[failure.code], retryAfterSeconds: "retryAfterSeconds" in failure ? failure.retryAfterSeconds : null };
}

/**
 * Whether an exception from the coordinator's RPC means the claim was cut off rather than
 * failed inside the coordinator. The runtime marks exceptions thrown by the object's own code
 * (a D1 error, a bug) `remote: true`: those are ours, an internal error. The rest come from
 * the infrastructure (the object was reset by a deploy, evicted, moved or overloaded).
 */
export function isInterruption(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { remote?: unknown }).remote !== true;
}
