import type { ConvosStatus } from "../../runtime-container/contract/pool-runtime";

/**
 * After a claim that failed (or whose deadline passed), the instance goes back to the pool only
 * if it says it never bound: clean and without a conversation. Bound, pending or unreachable,
 * it is crashed: kept for an operator, never handed to another user. One rule for the claim
 * path and the tick.
 */
export function returnsToPool(status: ConvosStatus | null): boolean {
  return status?.clean === true && !status.conversationId;
}
