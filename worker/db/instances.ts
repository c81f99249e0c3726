import { and, asc, desc, eq, getTableColumns, inArray, ne, or, sql } from "drizzle-orm";
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
  const from = fromStates(t);
  if (from.length === 0) return null;
  return db
    .update(instances)
    .set(transitionSet(t, deadlines))
    .where(and(eq(instances.id, t.id), inArray(instances.status, from)));
}

function fromStates(t: TransitionRequest): InstanceStatus[] {
  return (Array.isArray(t.from) ? t.from : [t.from]).filter((s) => allowedFrom(t.to).includes(s));
}

function transitionSet(t: TransitionRequest, deadlines: DeadlineSettings): InstancePatch & Pick<InstanceRow, "status" | "statusReason" | "statusActor" | "statusChangedAt"> {
  return { deadlineAt: deadlineFor(t.to, t.now, deadlines), ...t.set, status: t.to, statusReason: t.reason, statusActor: t.actor, statusChangedAt: t.now };
}

/** A statement as SQL text and its bound values. */
export interface RenderedStatement {
  sql: string;
  params: unknown[];
  /** Set for a transition whose values are laid out as `transitionSetSql(shape)` reads them: many of one shape go to D1 as one statement. */
  shape?: string;
}

const instanceColumns = getTableColumns(instances);
type ColumnKey = keyof typeof instanceColumns;
const columnOrder = new Map((Object.keys(instanceColumns) as ColumnKey[]).map((k, i) => [k, i]));
/** SQL text by statement shape (the columns set, how many `from` states): the values never change the text. */
const renderedShapes = new Map<string, string>();

/**
 * `transitionStatement(...).toSQL()`, without building the query each time: drizzle renders
 * each shape once, and later statements of that shape reuse its text with their own values,
 * mapped the way drizzle maps them (booleans, JSON). Building a query is most of what a claim
 * costs the coordinator in CPU; the outbox stores SQL text, so it needs the text, not a builder.
 * A shape whose values drizzle would bind differently is never cached (test/worker/db-render.test.ts).
 */
export function renderTransition(db: Database, t: TransitionRequest, deadlines: DeadlineSettings): RenderedStatement | null {
  const from = fromStates(t);
  if (from.length === 0) return null;
  const set = transitionSet(t, deadlines) as Partial<Record<ColumnKey, unknown>>;
  // drizzle's UPDATE lists the defined values in the table's column order.
  const keys = (Object.keys(set) as ColumnKey[]).filter((k) => set[k] !== undefined).sort((a, b) => columnOrder.get(a)! - columnOrder.get(b)!);
  const params: unknown[] = keys.map((k) => (set[k] === null ? null : instanceColumns[k].mapToDriverValue(set[k] as never)));
  params.push(t.id, ...from);
  const shape = `${keys.join(",")}|${from.length}`;
  const text = renderedShapes.get(shape);
  if (text !== undefined) return { sql: text, params, shape };
  const rendered = transitionStatement(db, t, deadlines)!.toSQL();
  if (JSON.stringify(rendered.params) !== JSON.stringify(params)) return { sql: rendered.sql, params: rendered.params };
  renderedShapes.set(shape, rendered.sql);
  return { sql: rendered.sql, params, shape };
}

const setShapes = new Map<string, string | null>();

/**
 * Many transitions of one shape as one statement, for the outbox's flush: bound to a JSON array
 * whose items are the single statements' params (`renderTransition`'s layout: the set values in
 * column order, the id, the `from` states), it applies each item's compare-and-set to its own
 * row, and RETURNING names the rows that moved (an instance left out had moved on). Each
 * instance must appear once: the caller sends an instance's later writes in a later statement.
 * The status trigger writes each row's event, as for the single statement. Null for a shape it cannot read.
 */
export function transitionSetSql(shape: string): string | null {
  const known = setShapes.get(shape);
  if (known !== undefined) return known;
  const [list = "", n = ""] = shape.split("|");
  const keys = list.split(",") as ColumnKey[];
  const fromCount = Number(n);
  const valid = keys.length > 0 && keys.every((k) => Object.hasOwn(instanceColumns, k)) && Number.isInteger(fromCount) && fromCount >= 1;
  const text = valid
    ? `UPDATE "instances" SET ${keys.map((k, i) => `"${instanceColumns[k].name}" = w.value ->> ${i}`).join(", ")} FROM json_each(?) AS w ` +
      `WHERE "instances"."id" = w.value ->> ${keys.length} AND "instances"."status" IN (${Array.from({ length: fromCount }, (_, j) => `w.value ->> ${keys.length + 1 + j}`).join(", ")}) ` +
      `RETURNING "instances"."id" AS id`
    : null;
  setShapes.set(shape, text);
  return text;
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
