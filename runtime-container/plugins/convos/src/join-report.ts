// Tells the pool how a pending join ended, so its record of the instance follows the instance
// (the pool's tick also asks, slowly; this makes it immediate). Authenticated, like the
// self-destruct request, by the instance's own gateway token (the call is pool-client.ts's
// reportJoin). Nothing is imported here: the Worker imports this file's outcomes and types for
// its side of the contract.

/** The body of POST /api/pool/instances/:id/join-resolution. */
export type JoinReport = { outcome: "accepted"; conversationId: string } | { outcome: "refused"; reason?: string };

export const JOIN_REPORT_OUTCOMES = ["accepted", "refused"] as const;

export function joinReportPath(instanceId: string): string {
  return `/api/pool/instances/${encodeURIComponent(instanceId)}/join-resolution`;
}
