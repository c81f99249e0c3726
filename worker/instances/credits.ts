import { and, isNotNull, notInArray } from "drizzle-orm";
import type { CreditsExhaustedReport, InstanceCredit } from "../../runtime-container/contract/pool-runtime";
import type { Database } from "../db/client";
import { type InstanceRow, instances } from "../db/schema";
import type { FleetCredits, InstanceCredits, TopUpRequest } from "../api/schemas";
import { type CreditFailureCode, decideTopUp, exhaustedByFigures, fleetTotals, markOutlived, topUpCeilingUsd } from "../domain/credits";
import { mapLimit } from "../lib/concurrency";
import { log } from "../lib/log";
import { instanceUsage, type KeyUsage, keyLimitUsd, openRouterFromEnv, usageFigures } from "../providers/openrouter";

/**
 * The I/O side of credits: OpenRouter reads and limit updates for an instance's key, the
 * exhausted mark on its row and the history lines they leave. Decisions are in worker/domain/credits.ts.
 */

export type CreditFailure = { ok: false; code: CreditFailureCode; message: string; field?: string };

/** How long a fleet view reuses an instance's figures: a dashboard refresh is not N OpenRouter calls each time. */
export const FLEET_CACHE_MS = 30_000;
/** OpenRouter calls in flight at once while a fleet view refreshes. */
export const FLEET_CONCURRENCY = 6;
// Statuses whose key may still be spending: a deleted instance's key is revoked.
const GONE = ["deleting", "deleted"] as const;

type CreditsView = InstanceCredits;

const figuresOf = (u: KeyUsage) => ({ known: true as const, ...usageFigures(u) });

// Per isolate: enough to spare OpenRouter a call per instance on every dashboard refresh;
// a top-up through this isolate replaces its entry, others age out within FLEET_CACHE_MS.
const cache = new Map<string, { at: number; usage: NonNullable<CreditsView["usage"]> }>();

function client(env: Env) {
  // Short and barely retried: an operator (or the agent) is waiting.
  return openRouterFromEnv(env, { timeoutMs: 5_000, retries: 1, baseDelayMs: 200 });
}

// The instance API's own read (instanceUsage), cached for the fleet view when it found figures.
async function readUsage(env: Env, hash: string): Promise<NonNullable<CreditsView["usage"]> | null> {
  const read = await instanceUsage(env, hash);
  if (!read) return null;
  if ("error" in read) return { known: false, reason: read.error };
  const usage = { known: true as const, ...read };
  cache.set(hash, { at: Date.now(), usage });
  return usage;
}

/** One instance's credits, read fresh from OpenRouter. */
export async function instanceCredits(env: Env, row: InstanceRow): Promise<CreditsView> {
  const usage = row.openrouterKeyHash ? await readUsage(env, row.openrouterKeyHash) : null;
  return { exhaustedAt: await clearIfOutlived(env.DB, row, usage), usage };
}

/** The row's exhausted mark after this read: cleared (compare-and-set on its value) once a monthly reset has outlived it. */
async function clearIfOutlived(d1: D1Database, row: InstanceRow, usage: CreditsView["usage"], now = Date.now()): Promise<number | null> {
  if (!usage?.known || !markOutlived(row.creditsExhaustedAt, usage, now)) return row.creditsExhaustedAt;
  const [cleared] = await d1.batch([
    d1.prepare("UPDATE instances SET credits_exhausted_at = NULL WHERE id = ? AND credits_exhausted_at = ?").bind(row.id, row.creditsExhaustedAt),
    d1
      .prepare(
        "INSERT INTO instance_events (instance_id, at, from_status, to_status, reason, actor) SELECT id, ?, status, status, 'credits available again: the monthly limit reset', 'pool' FROM instances WHERE id = ? AND credits_exhausted_at IS NULL AND changes() = 1",
      )
      .bind(now, row.id),
  ]);
  return (cleared?.meta.changes ?? 0) === 1 ? null : row.creditsExhaustedAt;
}

export interface FleetOptions {
  now?: number;
  /**
   * How long a page may wait for OpenRouter: lines not read by then are unknown ("not read
   * yet") and their reads go on in `waitUntil`, filling the cache for the next view.
   * Unset (the API): the answer waits for every read.
   */
  budgetMs?: number;
  waitUntil?: (work: Promise<unknown>) => void;
}

const NOT_READ_YET = "not read yet; OpenRouter is slow, the figures follow on the next view";

/** Every live instance with a key, each from the cache when fresh, the rest fetched a few at a time. */
export async function fleetCredits(env: Env, db: Database, opts: FleetOptions = {}): Promise<FleetCredits> {
  const now = opts.now ?? Date.now();
  const rows = await db
    .select()
    .from(instances)
    .where(and(isNotNull(instances.openrouterKeyHash), notInArray(instances.status, [...GONE])));
  // Aged entries go, so keys of instances deleted since do not stay in memory.
  for (const [hash, hit] of cache) if (now - hit.at >= FLEET_CACHE_MS) cache.delete(hash);
  const fresh = (row: InstanceRow) => {
    const hit = cache.get(row.openrouterKeyHash!);
    return hit && now - hit.at < FLEET_CACHE_MS ? hit.usage : undefined;
  };
  const reads = mapLimit(rows, FLEET_CONCURRENCY, async (row) => fresh(row) ?? (await readUsage(env, row.openrouterKeyHash!)));
  let usages: (CreditsView["usage"] | undefined)[] | null;
  if (opts.budgetMs === undefined) usages = await reads;
  else {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), opts.budgetMs);
    });
    usages = await Promise.race([reads, late]);
    if (timer !== null) clearTimeout(timer);
    if (!usages) {
      opts.waitUntil?.(reads);
      usages = rows.map(fresh);
    }
  }
  const entries = await Promise.all(
    rows.map(async (row, i) => {
      const usage = usages[i];
      const base = { id: row.id, agentName: row.agentName, status: row.status, exhaustedAt: await clearIfOutlived(env.DB, row, usage ?? null, now) };
      if (usage === undefined) return { ...base, known: false as const, reason: NOT_READ_YET };
      if (!usage) return { ...base, known: false as const, reason: "OpenRouter is not configured" };
      if (!usage.known) return { ...base, known: false as const, reason: usage.reason };
      return { ...base, known: true as const, figures: { usageMonthlyUsd: usage.usageMonthlyUsd, limitUsd: usage.limitUsd, limitRemainingUsd: usage.limitRemainingUsd } };
    }),
  );
  return { totals: fleetTotals(entries), instances: entries, cachedForMs: FLEET_CACHE_MS };
}

export type TopUpResult = { ok: true; id: string; fromUsd: number; toUsd: number; credits: CreditsView } | CreditFailure;

/**
 * Raises the instance's limit at OpenRouter within the ceiling, then records it in the
 * instance's history and clears its exhausted mark. A limit given as `limitUsd` is
 * idempotent; two concurrent `addUsd` top-ups may apply once (OpenRouter has no
 * compare-and-set), never beyond the ceiling.
 */
export async function topUp(env: Env, row: InstanceRow, request: TopUpRequest, actor: string): Promise<TopUpResult> {
  if (!row.openrouterKeyHash || GONE.includes(row.status as (typeof GONE)[number])) {
    return { ok: false, code: "no_key", message: `instance ${row.id} has no OpenRouter key to top up` };
  }
  const c = client(env);
  if (!c) return { ok: false, code: "openrouter_off", message: "OpenRouter is not configured on this pool (OPENROUTER_MANAGEMENT_KEY)" };
  let ceiling: ReturnType<typeof topUpCeilingUsd>;
  try {
    ceiling = topUpCeilingUsd(env.OPENROUTER_TOPUP_CEILING_USD, keyLimitUsd(env));
  } catch (err) {
    ceiling = { ok: false, message: (err as Error).message };
  }
  if (!ceiling.ok) return { ok: false, code: "bad_ceiling", message: ceiling.message };

  const unavailable = (err: unknown): CreditFailure => {
    log.warn("openrouter top-up failed", { instanceId: row.id, error: (err as Error).message });
    return { ok: false, code: "openrouter_unavailable", message: "OpenRouter could not be reached; the limit was not changed" };
  };
  let current: KeyUsage | null;
  try {
    current = await c.usage(row.openrouterKeyHash);
  } catch (err) {
    return unavailable(err);
  }
  if (!current) return { ok: false, code: "key_gone", message: `instance ${row.id}'s key no longer exists at OpenRouter` };
  const decision = decideTopUp(current.limit, request, ceiling.usd);
  if (!decision.ok) return { ok: false, code: decision.code, message: decision.message, ...("field" in decision ? { field: decision.field } : {}) };

  let updated: KeyUsage | null;
  try {
    updated = await c.setLimit(row.openrouterKeyHash, decision.toUsd);
  } catch (err) {
    return unavailable(err);
  }
  if (!updated) return { ok: false, code: "key_gone", message: `instance ${row.id}'s key no longer exists at OpenRouter` };
  const usage = figuresOf(updated);
  cache.set(row.openrouterKeyHash, { at: Date.now(), usage });
  const reason = `credits topped up: monthly limit $${decision.fromUsd.toFixed(2)} → $${decision.toUsd.toFixed(2)}`;
  await env.DB.batch([env.DB.prepare("UPDATE instances SET credits_exhausted_at = NULL WHERE id = ?").bind(row.id), historyLine(env.DB, row.id, Date.now(), reason, actor)]);
  return { ok: true, id: row.id, fromUsd: decision.fromUsd, toUsd: decision.toUsd, credits: { exhaustedAt: null, usage } };
}

/** A line in the instance's history that is not a status change: from and to are its current status. */
function historyLine(d1: D1Database, id: string, at: number, reason: string, actor: string): D1PreparedStatement {
  return d1.prepare("INSERT INTO instance_events (instance_id, at, from_status, to_status, reason, actor) SELECT id, ?, status, status, ?, ? FROM instances WHERE id = ?").bind(at, reason, actor, id);
}

export type ExhaustedResult = { ok: true; id: string; exhaustedAt: number; newlyMarked: boolean } | CreditFailure;

/**
 * Marks the instance's credits exhausted, as the instance reports it. Compare-and-set on
 * the mark being unset, and the history line is written only by the report that set it, so
 * a retried or repeated report changes nothing.
 */
export async function markExhausted(d1: D1Database, row: InstanceRow, report: CreditsExhaustedReport, now = Date.now()): Promise<ExhaustedResult> {
  if (GONE.includes(row.status as (typeof GONE)[number])) return { ok: false, code: "not_found", message: `instance ${row.id} does not exist` };
  const what = report.status ? `the model API answered ${report.status}` : "the model API refused for lack of credits";
  const reason = `credits exhausted: ${what}${report.detail ? ` (${report.detail.slice(0, 200)})` : ""}`;
  const [marked] = await d1.batch([
    d1.prepare("UPDATE instances SET credits_exhausted_at = ? WHERE id = ? AND credits_exhausted_at IS NULL AND status NOT IN ('deleting', 'deleted')").bind(now, row.id),
    d1
      .prepare(
        "INSERT INTO instance_events (instance_id, at, from_status, to_status, reason, actor) SELECT id, ?, status, status, ?, 'instance' FROM instances WHERE id = ? AND credits_exhausted_at = ? AND changes() = 1",
      )
      .bind(now, reason, row.id, now),
  ]);
  if ((marked?.meta.changes ?? 0) === 1) return { ok: true, id: row.id, exhaustedAt: now, newlyMarked: true };
  const [current] = await d1.prepare("SELECT credits_exhausted_at AS at FROM instances WHERE id = ?").bind(row.id).raw<[number | null]>();
  if (!current || current[0] === null) return { ok: false, code: "not_found", message: `instance ${row.id} does not exist` };
  return { ok: true, id: row.id, exhaustedAt: current[0], newlyMarked: false };
}

/** What the instance is told about its own credit. */
export function ownCredit(view: CreditsView): InstanceCredit | CreditFailure {
  if (!view.usage) return { ok: false, code: "no_key", message: "this instance has no OpenRouter key the pool manages" };
  if (!view.usage.known) return { ok: false, code: "openrouter_unavailable", message: view.usage.reason };
  const u = view.usage;
  return {
    limitUsd: u.limitUsd,
    usageMonthlyUsd: u.usageMonthlyUsd,
    remainingUsd: u.limitRemainingUsd,
    limitReset: u.limitReset,
    exhausted: view.exhaustedAt !== null || exhaustedByFigures(u),
  };
}

/** Live instances marked exhausted, for /metrics. */
export async function countExhausted(db: Database): Promise<number> {
  const rows = await db
    .select({ id: instances.id })
    .from(instances)
    .where(and(isNotNull(instances.creditsExhaustedAt), notInArray(instances.status, [...GONE])));
  return rows.length;
}
