/**
 * The Cron Trigger's check of the coordinator's alarm, the pool's heartbeat. A fresh
 * deployment has no alarm until something asks the coordinator for work, and an alarm can be
 * lost; either way nothing would fill the pool. Every minute the cron asks: is an alarm set,
 * and is it on time?
 */
/** Later than this past its time, an alarm is taken as lost (alarms fire within seconds). */
export const ALARM_OVERDUE_MS = 2 * 60_000;

export type KeepAlive = { action: "arm" } | { action: "tick"; lateMs: number } | { action: "none" };

export function keepAliveAction(alarmAt: number | null, now: number): KeepAlive {
  if (alarmAt === null) return { action: "arm" };
  const late = now - alarmAt;
  return late > ALARM_OVERDUE_MS ? { action: "tick", lateMs: late } : { action: "none" };
}
