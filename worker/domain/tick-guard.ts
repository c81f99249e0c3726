/**
 * One tick at a time: a tick asked for while one runs (the alarm, a reconcile, the cron) joins
 * it instead of doubling its work, unless the running one has gone on so long it is taken as
 * hung (a fetch or D1 call that never settles). Then a new tick starts: otherwise every later
 * tick would wait on the hung one and the pool would stop.
 */
export const HUNG_TICK_MS = 5 * 60_000;

export function joinRunningTick(runningSince: number | null, now: number): boolean {
  return runningSince !== null && now - runningSince < HUNG_TICK_MS;
}
