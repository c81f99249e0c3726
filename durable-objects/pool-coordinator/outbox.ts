import { log } from "../../worker/lib/log";

import { type RenderedStatement, transitionSetSql } from "../../worker/db/instances";

/** A drizzle statement, unexecuted (what `toSQL()` renders is what the outbox keeps), or one already rendered. */
export type OutboxStatement = { toSQL(): RenderedStatement } | RenderedStatement;

/** Statements per D1 batch of one flush round. */
const STATEMENTS_PER_ROUND = 100;
/**
 * A statement D1 refuses this many times is dropped (logged, counted): it is a CAS on the
 * instance's row, so the row stays as D1 had it and the tick's checks take it from there.
 */
export const MAX_ATTEMPTS = 20;

export interface OutboxStats {
  /** D1 round trips the flushes made (one batch each), apart from the claim path's own. */
  roundTrips: number;
  /** Statements those round trips carried: one per shape of write per round, not one per write. */
  statements: number;
  /** Writes D1 acknowledged. */
  writes: number;
  /** Writes that matched no row in D1 (the row had moved on): applied as no-ops. */
  conflicts: number;
  /** Flush rounds D1 refused; their statements stay and go again. */
  failures: number;
  dropped: number;
  /** The most statements ever waiting at once. */
  maxPending: number;
  /** ms from a statement's write in the coordinator to D1's acknowledgement, the latest at the end (LAG_SAMPLES to twice that many kept). */
  lagMs: number[];
}

const LAG_SAMPLES = 2_000;
/** How long a reservation may wait for its claim's bind to share a D1 batch with it. */
const FLUSH_SOON_MS = 25;
/** Longer than any D1 query runs before it times out. */
const ACK_MEMORY_MS = 120_000;

/** What /metrics and the benchmark show of the outbox. */
export interface OutboxView {
  pending: number;
  maxPending: number;
  roundTrips: number;
  statements: number;
  writes: number;
  conflicts: number;
  failures: number;
  dropped: number;
  /** Over the last LAG_SAMPLES statements sent, in ms; null before the first. */
  lagMs: { p50: number; p95: number; max: number } | null;
}

export function outboxView(stats: OutboxStats, pending: number): OutboxView {
  const sorted = stats.lagMs.slice(-LAG_SAMPLES).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const { lagMs: _samples, ...counters } = stats;
  return { ...counters, pending, lagMs: sorted.length ? { p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1]! } : null };
}

export const emptyOutboxStats = (): OutboxStats => ({ roundTrips: 0, statements: 0, writes: 0, conflicts: 0, failures: 0, dropped: 0, maxPending: 0, lagMs: [] });

// The store has no migration runner: a column added later goes in with its own ALTER TABLE here.
const DDL = [
  `CREATE TABLE IF NOT EXISTS d1_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    sql TEXT NOT NULL,
    params TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    shape TEXT
  )`,
  // Per-instance lookups are answered from memory (`Outbox.waiting`): an index would only cost each write.
  "DROP INDEX IF EXISTS d1_outbox_instance_idx",
];
/** Columns added after the table first shipped: ADD COLUMN fails when a store already has them. */
const ADDED_COLUMNS = ["ALTER TABLE d1_outbox ADD COLUMN shape TEXT"];

type Row = {
  seq: number;
  instance_id: string;
  sql: string;
  params: string;
  created_at: number;
  attempts: number;
  shape: string | null;
};
/** `generation`: which load of the table it belongs to (see `reload`); `gone`: acknowledged or dropped, left in the queue until the next round compacts it. */
type Entry = Row & { generation: number; gone?: boolean };

/** One statement of a flush round: a write on its own, or writes of one shape sent as one (`transitionSetSql`). */
type Send = { entries: Entry[]; statement: D1PreparedStatement; many: boolean };

/**
 * D1 writes of the claim path, kept in the coordinator's own SQLite and sent to D1 while the
 * claim moves on (the bind once the claim has answered). An entry is written in the same
 * synchronous write as the claim's other state (the idle queue, its idempotency record), so it
 * commits with it: a coordinator reset after that commit loses nothing, the next start sends it.
 *
 * Every entry is a compare-and-set on the instance's row (`WHERE id = ? AND status = ?`), so
 * sending one twice (D1 committed, the reset came before the entry was deleted here) changes
 * nothing the second time. Entries of one instance go in order; a round that D1 refuses is
 * retried one statement at a time, so only the offender (and what follows it for the same
 * instance) waits.
 */
export class Outbox {
  private readonly sql: SqlStorage;
  /**
   * The table's rows, in seq order, mirrored in memory: a flush round takes them from here
   * rather than reading them back (the table is what survives a reset; see `reload`).
   */
  private queue: Entry[] = [];
  /** Entries not yet gone: what `pending()` answers, without counting the queue. */
  private live = 0;
  private generation = 0;
  private nextSeq = 1;
  /** Entries per instance, mirrored in memory: the tick asks for every row it looks at. */
  private readonly waiting = new Map<string, number>();
  /** When D1 last acknowledged a statement of each instance (recent ones): a D1 read begun before that may not show it. */
  private readonly ackedAt = new Map<string, number>();
  private running: Promise<void> | null = null;
  private soon: ReturnType<typeof setTimeout> | null = null;
  private again = false;
  readonly stats: OutboxStats = emptyOutboxStats();

  constructor(
    storage: DurableObjectStorage,
    private readonly d1: () => D1Database,
    private readonly now: () => number = Date.now,
  ) {
    this.sql = storage.sql;
    for (const statement of DDL) this.sql.exec(statement);
    for (const statement of ADDED_COLUMNS) {
      try {
        this.sql.exec(statement);
      } catch {
        // Already there.
      }
    }
    this.reload();
  }

  /** Memory from the table: at the start, and after a commit of the coordinator's storage failed (what it added may not be there). */
  reload(): void {
    const generation = ++this.generation;
    this.queue = this.sql
      .exec<Row>("SELECT seq, instance_id, sql, params, created_at, attempts, shape FROM d1_outbox ORDER BY seq")
      .toArray()
      .map((row) => ({ ...row, generation }));
    this.live = this.queue.length;
    // AUTOINCREMENT's record of the largest seq ever used (also of rows deleted since), kept for explicit seqs too.
    const [last] = this.sql.exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'd1_outbox'").toArray();
    this.nextSeq = Number(last?.seq ?? 0) + 1;
    this.waiting.clear();
    for (const e of this.queue) this.waiting.set(e.instance_id, (this.waiting.get(e.instance_id) ?? 0) + 1);
  }

  /** Synchronous: commits with whatever else the caller writes in this turn. Call `flush()` after. */
  add(instanceId: string, statement: OutboxStatement): void {
    const { sql: text, params, shape = null } = "toSQL" in statement ? statement.toSQL() : statement;
    // A write of a known shape goes as `transitionSetSql(shape)` even alone: its own text need not be stored.
    const sql = shape !== null && transitionSetSql(shape) !== null ? "" : text;
    const entry: Entry = { seq: this.nextSeq++, instance_id: instanceId, sql, params: JSON.stringify(params), created_at: this.now(), attempts: 0, shape, generation: this.generation };
    this.sql.exec("INSERT INTO d1_outbox (seq, instance_id, sql, params, created_at, shape) VALUES (?, ?, ?, ?, ?, ?)", entry.seq, instanceId, sql, entry.params, entry.created_at, shape);
    this.queue.push(entry);
    this.live++;
    this.waiting.set(instanceId, (this.waiting.get(instanceId) ?? 0) + 1);
    if (this.live > this.stats.maxPending) this.stats.maxPending = this.live;
  }

  pending(): number {
    return this.live;
  }

  /** Whether D1 is still behind the coordinator for this instance. */
  isPending(instanceId: string): boolean {
    return this.waiting.has(instanceId);
  }

  /** Whether a D1 read that began at `readAt` may miss what the coordinator wrote for this instance. */
  behindFor(instanceId: string, readAt: number): boolean {
    return this.waiting.has(instanceId) || (this.ackedAt.get(instanceId) ?? Number.NEGATIVE_INFINITY) >= readAt;
  }

  /**
   * Sends what is waiting within `ms`, unless a flush comes first: a claim's reservation usually
   * goes to D1 in one batch with its bind, and reaches D1 on its own only while the instance is slow.
   */
  flushSoon(ms = FLUSH_SOON_MS): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.flush();
    }, ms);
  }

  /**
   * Sends what is waiting. Callers that arrive while a round is in flight share it, and one
   * more round runs for them, so when the promise settles everything added before the call
   * has been tried. It never throws: a refused round stays for the next flush.
   */
  flush(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (await this.round());
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** One batch; true when it sent everything it took and more may be waiting. */
  private async round(): Promise<boolean> {
    // What earlier rounds acknowledged leaves the queue here, in one pass (not one search and splice per entry).
    if (this.queue.length !== this.live) this.queue = this.queue.filter((e) => !e.gone);
    // Rounds run one at a time and only they remove entries, so these stay at the queue's head until this round ends.
    const entries = this.queue.slice(0, STATEMENTS_PER_ROUND);
    if (entries.length === 0) return false;
    const d1 = this.d1();
    const sends = this.plan(d1, entries);
    try {
      this.stats.roundTrips++;
      this.stats.statements += sends.length;
      const results = await d1.batch(sends.map((s) => s.statement));
      // One DELETE for the round, not one per entry (each statement costs the coordinator ~0.1 ms).
      this.sql.exec("DELETE FROM d1_outbox WHERE seq IN (SELECT value FROM json_each(?))", JSON.stringify(entries.map((e) => e.seq)));
      for (const [i, send] of sends.entries()) {
        const result = results[i];
        if (!send.many) {
          this.done(send.entries[0]!, result?.meta.changes ?? 0, true);
          continue;
        }
        const moved = new Set((result?.results as { id: string }[] | undefined)?.map((r) => r.id));
        for (const e of send.entries) this.done(e, moved.has(e.instance_id) ? 1 : 0, true);
      }
      return entries.length === STATEMENTS_PER_ROUND;
    } catch (err) {
      this.stats.failures++;
      log.warn("outbox flush refused by D1; retrying one statement at a time", { statements: entries.length, error: (err as Error).message });
    }
    // One at a time, in order, each as its own statement; an instance whose earlier statement failed waits for the next flush.
    const blocked = new Set<string>();
    for (const e of entries) {
      if (blocked.has(e.instance_id)) continue;
      try {
        this.stats.roundTrips++;
        this.stats.statements++;
        const send = this.statementFor(d1, [e]);
        const result = await send.statement.all();
        this.done(e, send.many ? result.results.length : (result.meta.changes ?? 0));
      } catch (err) {
        blocked.add(e.instance_id);
        this.refused(e, (err as Error).message);
      }
    }
    return false;
  }

  /** One statement for entries of one shape (`many`: RETURNING names the rows that moved), or for one entry of no known shape. */
  private statementFor(d1: D1Database, entries: Entry[]): Send {
    const setSql = entries[0]!.shape ? transitionSetSql(entries[0]!.shape) : null;
    if (setSql) return { entries, statement: d1.prepare(setSql).bind(`[${entries.map((e) => e.params).join(",")}]`), many: true };
    return { entries, statement: d1.prepare(entries[0]!.sql).bind(...(JSON.parse(entries[0]!.params) as unknown[])), many: false };
  }

  /**
   * The round's statements: an instance's n-th write of the round goes in the n-th layer, and
   * within a layer the writes of one shape share one statement. Layers go in order, so each
   * instance's writes reach D1 in the order they were made; different instances' rows are
   * independent, so their order does not matter.
   */
  private plan(d1: D1Database, entries: Entry[]): Send[] {
    const layerOf = new Map<string, number>();
    const groups = new Map<string, { layer: number; entries: Entry[] }>();
    for (const e of entries) {
      const layer = (layerOf.get(e.instance_id) ?? -1) + 1;
      layerOf.set(e.instance_id, layer);
      const key = e.shape && transitionSetSql(e.shape) ? `${layer} ${e.shape}` : `${layer} #${e.seq}`;
      const group = groups.get(key);
      if (group) group.entries.push(e);
      else groups.set(key, { layer, entries: [e] });
    }
    return [...groups.values()].sort((a, b) => a.layer - b.layer).map((g) => this.statementFor(d1, g.entries));
  }

  private remove(e: Entry, deleted = false): void {
    if (!deleted) this.sql.exec("DELETE FROM d1_outbox WHERE seq = ?", e.seq);
    // From an earlier load: `reload` replaced the queue meanwhile and counted from the table afresh.
    if (e.gone || e.generation !== this.generation) return;
    e.gone = true;
    this.live--;
    const left = (this.waiting.get(e.instance_id) ?? 1) - 1;
    if (left > 0) this.waiting.set(e.instance_id, left);
    else this.waiting.delete(e.instance_id);
  }

  private done(e: Entry, changes: number, deleted = false): void {
    this.remove(e, deleted);
    this.stats.writes++;
    const now = this.now();
    this.ackedAt.delete(e.instance_id);
    this.ackedAt.set(e.instance_id, now);
    // Oldest first (insertion order): forget acknowledgements no read can still be waiting on.
    for (const [id, at] of this.ackedAt) {
      if (now - at < ACK_MEMORY_MS) break;
      this.ackedAt.delete(id);
    }
    if (changes === 0) {
      this.stats.conflicts++;
      log.warn("outbox statement matched no row in D1 (the instance had moved on)", { instanceId: e.instance_id });
    }
    this.stats.lagMs.push(this.now() - e.created_at);
    // Trimmed in halves, not per sample (a shift per sample moves every other one); outboxView reads the last LAG_SAMPLES.
    if (this.stats.lagMs.length >= 2 * LAG_SAMPLES) this.stats.lagMs.splice(0, this.stats.lagMs.length - LAG_SAMPLES);
  }

  private refused(e: Entry, error: string): void {
    if (e.attempts + 1 >= MAX_ATTEMPTS) {
      this.remove(e);
      this.stats.dropped++;
      log.error("outbox statement dropped after repeated refusals", { instanceId: e.instance_id, attempts: e.attempts + 1, error: error.slice(0, 300) });
      return;
    }
    this.sql.exec("UPDATE d1_outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?", error.slice(0, 500), e.seq);
    e.attempts++;
  }
}
