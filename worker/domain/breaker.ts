/**
 * Circuit breaker over instance creation: after `threshold` consecutive failures, stop
 * creating for a backoff that doubles on every failed probe, so a broken provider is not
 * hammered every tick. Plain data in, plain data out; the coordinator persists it.
 */
export interface BreakerState {
  consecutiveFailures: number;
  openedAt: number | null;
  openUntil: number | null;
  /** How many times it opened in a row without a success; drives the exponential backoff. */
  trips: number;
  lastError: string | null;
}

export interface BreakerSettings {
  breakerThreshold: number;
  breakerBackoffMs: number;
}

const MAX_BACKOFF_MS = 60 * 60_000;

export const closedBreaker: BreakerState = { consecutiveFailures: 0, openedAt: null, openUntil: null, trips: 0, lastError: null };

export type BreakerPhase = "closed" | "open" | "half-open";

export function breakerPhase(state: BreakerState, now: number): BreakerPhase {
  if (state.openUntil === null) return "closed";
  return now < state.openUntil ? "open" : "half-open";
}

/** Creation is allowed when closed, and for a probe once the backoff has passed. */
export function breakerAllows(state: BreakerState, now: number): boolean {
  return breakerPhase(state, now) !== "open";
}

/** A half-open breaker lets one probe through rather than a full wave. */
export function probeLimit(state: BreakerState, now: number, count: number): number {
  return breakerPhase(state, now) === "half-open" ? Math.min(count, 1) : count;
}

export function recordSuccess(_state: BreakerState): BreakerState {
  return closedBreaker;
}

export function recordFailure(state: BreakerState, now: number, error: string, s: BreakerSettings): BreakerState {
  const consecutiveFailures = state.consecutiveFailures + 1;
  const halfOpen = breakerPhase(state, now) === "half-open";
  if (!halfOpen && consecutiveFailures < s.breakerThreshold) {
    return { ...state, consecutiveFailures, lastError: error };
  }
  const trips = state.trips + 1;
  const backoff = Math.min(MAX_BACKOFF_MS, s.breakerBackoffMs * 2 ** (trips - 1));
  return { consecutiveFailures, openedAt: now, openUntil: now + backoff, trips, lastError: error };
}
