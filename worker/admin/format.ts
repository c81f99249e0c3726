/** Display helpers shared by the admin pages. */

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  return h % 24 ? `${Math.floor(h / 24)}d ${h % 24}h` : `${Math.floor(h / 24)}d`;
}

export function isoTime(at: number | null | undefined): string {
  return at ? new Date(at).toISOString() : "";
}

/** "2026-11-21 12:41:03 UTC": unambiguous for operators in different time zones. */
export function utcTime(at: number | null | undefined): string {
  return at ? `${new Date(at).toISOString().replace("T", " ").slice(0, 19)} UTC` : "—";
}

/** How instance statuses are labelled: `idle` instances are what operators call "ready". */
const STATUS_LABELS: Record<string, string> = {
  creating: "creating",
  starting: "starting",
  idle: "ready",
  claiming: "claiming",
  claimed: "claimed",
  upgrading: "upgrading",
  crashed: "crashed",
  dead: "dead",
  deleting: "deleting",
  deleted: "deleted",
};

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status;
}
