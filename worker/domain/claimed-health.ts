/**
 * What the tick concludes about a claimed instance from its two side-effect-free answers
 * (`GET /pool/health`, `GET /convos/status`). Plain decisions on data; the tick does the I/O.
 *
 * - lost its conversation (came back unbound, bound to another one, a pending join that ended
 *   without one) → `crashed`, with the reason in its history;
 * - conversation stream down, or the instance not answering → degraded (shown in the API and
 *   the dashboard, re-checked every DEGRADED_RECHECK_MS) until it recovers, or `crashed` once it
 *   has been degraded for STREAM_DOWN_LIMIT_MS;
 * - a pending join the creator accepted → recorded on the row.
 */

/** A healthy claimed instance is asked again after this long: slow on purpose, users are talking to it. */
export const CLAIMED_CHECK_INTERVAL_MS = 2 * 60_000;
/** A degraded one is watched more closely. */
export const DEGRADED_RECHECK_MS = 30_000;
/**
 * How long a claimed instance may stay degraded before it is declared dead (`crashed`). Long
 * enough for a container restart with its volume (the real gateway boots in 1–3 min) and for
 * the stream's own reconnect backoff; short enough that a deaf agent does not sit in a chat
 * for hours.
 */
export const STREAM_DOWN_LIMIT_MS = 10 * 60_000;

export interface ClaimedRow {
  conversationId: string | null;
  claimStatus: string | null;
  degradedSince: number | null;
  lastHealthAt: number | null;
  claimedAt: number | null;
}

export interface ClaimedObservation {
  health: { ok: true } | { ok: false; reason: string };
  /** null: the instance did not give its status (unreachable, wrong token, unexpected body). */
  status: { conversationId: string | null; pending?: boolean; clean: boolean; streaming?: boolean } | null;
}

export type ClaimedVerdict = { action: "healthy"; acceptedConversationId?: string } | { action: "degraded"; since: number; reason: string } | { action: "crash"; reason: string };

export function claimedCheckDue(row: ClaimedRow, now: number): boolean {
  const last = row.lastHealthAt ?? row.claimedAt ?? 0;
  return last + (row.degradedSince !== null ? DEGRADED_RECHECK_MS : CLAIMED_CHECK_INTERVAL_MS) <= now;
}

export function claimedVerdict(row: ClaimedRow, seen: ClaimedObservation, now: number): ClaimedVerdict {
  const degraded = (reason: string): ClaimedVerdict => {
    const since = row.degradedSince ?? now;
    if (now - since >= STREAM_DOWN_LIMIT_MS) {
      return { action: "crash", reason: `degraded for more than ${STREAM_DOWN_LIMIT_MS / 60_000} minutes: ${reason}` };
    }
    return { action: "degraded", since, reason };
  };

  if (!seen.health.ok) return degraded(`not answering: ${seen.health.reason}`);
  const status = seen.status;
  if (!status) return degraded("its conversation status is unavailable");

  const waitingForJoin = row.claimStatus === "pending_acceptance" && row.conversationId === null;
  if (status.pending) {
    return waitingForJoin ? { action: "healthy" } : { action: "crash", reason: "lost its conversation: the instance is waiting on a join we never recorded" };
  }
  if (status.conversationId === null) {
    if (waitingForJoin) {
      return {
        action: "crash",
        reason: status.clean ? "lost its pending join: the instance came back blank (restarted without its volume?)" : "the pending join ended without a conversation (refused or expired)",
      };
    }
    return { action: "crash", reason: "lost its conversation: the instance came back unbound (restarted without its volume?)" };
  }
  if (row.conversationId !== null && status.conversationId !== row.conversationId) {
    return { action: "crash", reason: `bound to another conversation (${status.conversationId}) than the one recorded` };
  }
  if (status.streaming === false) return degraded("conversation stream down");
  return waitingForJoin ? { action: "healthy", acceptedConversationId: status.conversationId } : { action: "healthy" };
}
