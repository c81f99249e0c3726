import { eq } from "drizzle-orm";
import type { Database } from "../../worker/db/client";
import { instances } from "../../worker/db/schema";

/** What a claim needs of an idle instance to provision it, without asking D1. */
export interface QueuedInstance {
  id: string;
  readyAt: number;
  url: string;
  gatewayTokenSealed: string;
}

/**
 * The coordinator's side of "may this instance leave idle?", for every path that moves an idle
 * instance (the tick's and a recheck's failures, drains, the rollout, kills). It answers false
 * when a claim holds the instance; otherwise the instance leaves the queue at once, so no claim
 * can take it while the caller's compare-and-set is on its way to D1.
 */
export interface IdleGate {
  release(id: string): boolean;
  /** An instance D1 has just confirmed idle (a readiness check, a clean return): claimable now. */
  admit(row: { id: string; readyAt: number | null; url: string | null; gatewayTokenSealed: string | null }): void;
}

/** For operations run without a coordinator (tests of one step): nothing holds anything. */
export const OPEN_GATE: IdleGate = { release: () => true, admit: () => {} };

/** How long a released instance stays out of the queue while D1 still says idle (its write is on its way, or failed). */
const RELEASE_MEMORY_MS = 5 * 60_000;

// The store has no migration runner: a column added later goes in with its own ALTER TABLE here.
const DDL = [
  `CREATE TABLE IF NOT EXISTS idle_queue (
    id TEXT PRIMARY KEY NOT NULL,
    ready_at INTEGER NOT NULL,
    url TEXT NOT NULL,
    token_sealed TEXT NOT NULL,
    admitted_at INTEGER NOT NULL
  )`,
  "CREATE INDEX IF NOT EXISTS idle_queue_order_idx ON idle_queue (ready_at, id)",
  // Invites being joined by a claim: a second claim of the same invite is refused while the first holds it.
  "CREATE TABLE IF NOT EXISTS claim_joins (join_url TEXT PRIMARY KEY NOT NULL, instance_id TEXT NOT NULL)",
];

type IdleRow = { id: string; readyAt: number | null; url: string | null; gatewayTokenSealed: string | null };
type QueueRow = { id: string; ready_at: number; url: string; token_sealed: string; admitted_at: number };

export interface RefillResult {
  /** Instances D1 had idle that the queue lacked (readied elsewhere, seeded, or a first load). */
  added: number;
  /** Queue entries D1 no longer had idle and no claim held: drift, repaired. */
  removed: number;
  size: number;
}

/**
 * The idle instances a claim may take, in the coordinator's own SQLite. A claim takes the
 * oldest-ready one synchronously, so two claims can never take the same one and a claim costs
 * no D1 round trip; the reservation reaches D1 through the outbox (./outbox.ts).
 *
 * D1 stays the record: `reconcile` compares the queue with D1's idle rows (the ones every tick
 * reads anyway; `refill` reads them when a claim finds the queue empty), adds what D1 has and the queue lacks, and drops
 * what the queue has and D1 does not (counted as drift). Instances a claim holds (`isHeld`: in
 * flight, or with statements still in the outbox) are left as they are: D1 is behind on them.
 */
export class IdleQueue implements IdleGate {
  private readonly sql: SqlStorage;
  private readonly releasedAt = new Map<string, number>();
  private refilling: Promise<RefillResult> | null = null;
  drift = 0;

  /**
   * `isHeld`: a claim holds the instance (in flight, or its statements not in D1 yet).
   * `d1BehindSince`: D1 may not show what the coordinator wrote for it to a read begun at that time.
   */
  constructor(
    storage: DurableObjectStorage,
    private readonly isHeld: (id: string) => boolean,
    private readonly d1BehindSince: (id: string, readAt: number) => boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.sql = storage.sql;
    for (const statement of DDL) this.sql.exec(statement);
  }

  size(): number {
    return Number(this.sql.exec("SELECT count(*) AS n FROM idle_queue").one().n);
  }

  /** The oldest-ready idle instance, out of the queue; null when it is empty. Synchronous. */
  take(): QueuedInstance | null {
    const [row] = this.sql
      .exec<QueueRow>("DELETE FROM idle_queue WHERE id = (SELECT id FROM idle_queue ORDER BY ready_at, id LIMIT 1) RETURNING id, ready_at, url, token_sealed, admitted_at")
      .toArray();
    return row ? { id: row.id, readyAt: row.ready_at, url: row.url, gatewayTokenSealed: row.token_sealed } : null;
  }

  release(id: string): boolean {
    if (this.isHeld(id)) return false;
    this.forget(id);
    return true;
  }

  /** Out of the queue whether or not a claim holds it (an operator's kill): no claim takes it from here on. */
  forget(id: string): void {
    this.sql.exec("DELETE FROM idle_queue WHERE id = ?", id);
    this.releasedAt.set(id, this.now());
  }

  admit(row: { id: string; readyAt: number | null; url: string | null; gatewayTokenSealed: string | null }): void {
    if (!row.url || !row.gatewayTokenSealed) return;
    this.releasedAt.delete(row.id);
    const now = this.now();
    this.sql.exec(
      "INSERT INTO idle_queue (id, ready_at, url, token_sealed, admitted_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET admitted_at = excluded.admitted_at",
      row.id,
      row.readyAt ?? now,
      row.url,
      row.gatewayTokenSealed,
      now,
    );
  }

  /** This claim's instance holds the invite (call `joinHeld` first, in the same synchronous write). */
  holdJoin(joinUrl: string, instanceId: string): void {
    this.sql.exec("INSERT INTO claim_joins (join_url, instance_id) VALUES (?, ?)", joinUrl, instanceId);
  }

  joinHeld(joinUrl: string): boolean {
    return this.sql.exec("SELECT 1 FROM claim_joins WHERE join_url = ?", joinUrl).toArray().length > 0;
  }

  /** The claim of this instance is over (or the tick finished it): its invite is free again. */
  dropJoin(instanceId: string): void {
    this.sql.exec("DELETE FROM claim_joins WHERE instance_id = ?", instanceId);
  }

  /** Instances holding an invite, for the tick to drop the ones whose claim ended without this coordinator (a reset). */
  joinHolders(): string[] {
    return this.sql
      .exec<{ instance_id: string }>("SELECT instance_id FROM claim_joins")
      .toArray()
      .map((r) => r.instance_id);
  }

  /** Compares the queue with D1's idle rows and repairs it (see the class comment). Concurrent callers share one read. */
  refill(db: Database): Promise<RefillResult> {
    this.refilling ??= this.readAndRepair(db).finally(() => {
      this.refilling = null;
    });
    return this.refilling;
  }

  private async readAndRepair(db: Database): Promise<RefillResult> {
    const readAt = this.now();
    const rows = await db
      .select({ id: instances.id, readyAt: instances.readyAt, url: instances.url, gatewayTokenSealed: instances.gatewayTokenSealed })
      .from(instances)
      .where(eq(instances.status, "idle"));
    return this.reconcile(rows, readAt);
  }

  /**
   * The repair itself, from D1's idle rows as a read begun at `readAt` returned them (the tick
   * hands in the rows it read anyway, so this costs it no round trip). Synchronous: no claim
   * runs in between.
   */
  reconcile(rows: IdleRow[], readAt: number): RefillResult {
    const now = this.now();
    const idle = new Map(rows.map((r) => [r.id, r]));
    for (const [id, at] of this.releasedAt) if (!idle.has(id) || now - at > RELEASE_MEMORY_MS) this.releasedAt.delete(id);
    let removed = 0;
    for (const q of this.sql.exec<QueueRow>("SELECT id, admitted_at FROM idle_queue").toArray()) {
      // Admitted after the read began: D1 may not have shown it yet.
      if (idle.has(q.id) || this.uncertain(q.id, readAt) || q.admitted_at >= readAt) continue;
      this.sql.exec("DELETE FROM idle_queue WHERE id = ?", q.id);
      removed++;
    }
    let added = 0;
    for (const r of rows) {
      if (!r.url || !r.gatewayTokenSealed || this.uncertain(r.id, readAt) || this.releasedAt.has(r.id)) continue;
      const inserted = this.sql
        .exec(
          "INSERT INTO idle_queue (id, ready_at, url, token_sealed, admitted_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id",
          r.id,
          r.readyAt ?? now,
          r.url,
          r.gatewayTokenSealed,
          now,
        )
        .toArray();
      added += inserted.length;
    }
    this.drift += removed;
    return { added, removed, size: this.size() };
  }

  /** D1's answer to a read begun at `readAt` may be stale for this instance: a claim holds it, or wrote it since. */
  private uncertain(id: string, readAt: number): boolean {
    return this.isHeld(id) || this.d1BehindSince(id, readAt);
  }
}
