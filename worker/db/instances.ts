import { and, asc, desc, eq, inArray, ne, or, sql } from "drizzle-orm";
import { type InstanceStatus, allowedFrom, deadlineFor, type DeadlineSettings } from "../domain/lifecycle";
import { emptyCounts, type StatusCounts } from "../domain/replenish";
import type { Database } from "./client";
import { instanceEvents, instances, type InstanceRow } from "./schema";

export type InstancePatch = Partial<Omit<InstanceRow, "id" | "status" | "statusReason" | "statusActor" | "statusChangedAt">>;

export interface TransitionRequest {
  id: string;
  /** The state the caller believes the instance is in; the write happens only if it still is. */
  from: InstanceStatus | readonly InstanceStatus[];
  to: InstanceStatus;
  reason: string;
  actor: string;
  now: number;
  set?: InstancePatch;
}

/**
 * Compare-and-set transition. Returns the updated row, or null when the instance was no
 * longer in `from` (someone else moved it first). The event row is written by the status
 * trigger inside the same statement.
 */
export async function transition(db: Database, t: TransitionRequest, deadlines: DeadlineSettings): Promise<InstanceRow | null> {
  const query = transitionQuery(db, t, deadlines);
  if (!query) return null;
  const [row] = await query;
  return row ?? null;
}

/** The statement behind `transition`, unexecuted, so callers can send several in one batch; null when `to` cannot follow any of `from`. */
export function transitionQuery(db: Database, t: TransitionRequest, deadlines: DeadlineSettings) {
  return transitionStatement(db, t, deadlines)?.returning() ?? null;
}

/** The same compare-and-set without RETURNING, for writes nobody reads back (the coordinator's outbox). */
export function transitionStatement(db: Database, t: TransitionRequest, deadlines: DeadlineSettings) {
  const from = (Array.isArray(t.from) ? t.from : [t.from]).filter((s) => allowedFrom(t.to).includes(s));
  if (from.length === 0) return null;
  return db
    .update(instances)
    .set({
      deadlineAt: deadlineFor(t.to, t.now, deadlines),
      ...t.set,
      status: t.to,
      statusReason: t.reason,
      statusActor: t.actor,
      statusChangedAt: t.now,
    })
    .where(and(eq(instances.id, t.id), inArray(instances.status, from)));
}

/** Updates columns without a state change, only while the instance is still in `status`. */
export async function patchInState(db: Database, id: string, status: InstanceStatus, set: InstancePatch): Promise<InstanceRow | null> {
  const [row] = await db
    .update(instances)
    .set(set)
    .where(and(eq(instances.id, id), eq(instances.status, status)))
    .returning();
  return row ?? null;
}

export async function countByStatus(db: Database): Promise<StatusCounts> {
  const rows = await db.select({ status: instances.status, n: sql<number>`count(*)` }).from(instances).groupBy(instances.status);
  const counts = emptyCounts();
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

/** Claimed instances shown as degraded right now (worker/domain/claimed-health.ts). */
export async function countDegraded(db: Database): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(instances)
    .where(and(eq(instances.status, "claimed"), sql`${instances.degradedSince} IS NOT NULL`));
  return Number(row?.n ?? 0);
}

export function listNotDeleted(db: Database): Promise<InstanceRow[]> {
  return db.select().from(instances).where(ne(instances.status, "deleted"));
}

export function listByStatus(db: Database, status: InstanceStatus | undefined, limit: number): Promise<InstanceRow[]> {
  const q = db.select().from(instances);
  return (status ? q.where(eq(instances.status, status)) : q.where(ne(instances.status, "deleted"))).orderBy(desc(instances.createdAt)).limit(limit);
}

export async function getInstance(db: Database, id: string): Promise<InstanceRow | null> {
  const [row] = await db.select().from(instances).where(eq(instances.id, id)).limit(1);
  return row ?? null;
}

export function getEvents(db: Database, id: string) {
  return db.select().from(instanceEvents).where(eq(instanceEvents.instanceId, id)).orderBy(asc(instanceEvents.id));
}

/** The latest event of each of the given instances, for lists that show "last event". */
export async function lastEvents(db: Database, ids: string[]) {
  if (ids.length === 0) return new Map<string, typeof instanceEvents.$inferSelect>();
  const rows = await db
    .select()
    .from(instanceEvents)
    .where(
      inArray(
        instanceEvents.id,
        db
          .select({ id: sql<number>`max(${instanceEvents.id})` })
          .from(instanceEvents)
          .where(inArray(instanceEvents.instanceId, ids))
          .groupBy(instanceEvents.instanceId),
      ),
    );
  return new Map(rows.map((r) => [r.instanceId, r]));
}

/** The live row owning a host service, by the service's id or (a create that never recorded the id) its name. */
export async function findByService(db: Database, serviceId: string, serviceName: string | null): Promise<InstanceRow | null> {
  const owns = serviceName ? or(eq(instances.serviceId, serviceId), eq(instances.serviceName, serviceName)) : eq(instances.serviceId, serviceId);
  const [row] = await db
    .select()
    .from(instances)
    .where(and(ne(instances.status, "deleted"), owns))
    .orderBy(desc(instances.createdAt))
    .limit(1);
  return row ?? null;
}
