import { eq } from "drizzle-orm";
import type { Database } from "../../worker/db/client";
import { instances } from "../../worker/db/schema";

/** What a claim needs of an idle instance to provision it, without asking D1. */
export interface QueuedInstance {
  id: string;
  readyAt: number;
  url: string;
  gatewayTokenSealed: string;
  /** The gateway token, opened when the instance was admitted: a pre-warmed instance is ready to provision, token and all. */
  token: Promise<string>;
}

interface Entry extends Omit<QueuedInstance, "token"> {
  admittedAt: number;
  /** Started at admission; null for entries loaded at the coordinator's start (opened when taken, so a start does not open thousands at once). */
  token: Promise<string> | null;
}

/** Opens an instance's sealed gateway token (worker/crypto/sealed.ts, bound to its id). */
export type OpenToken = (sealed: string, instanceId: string) => Promise<string>;

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
  // The order lives in memory (`IdleQueue.order`); an index would only cost each take and admission a write.
  "DROP INDEX IF EXISTS idle_queue_order_idx",
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
 * The idle instances a claim may take, in the coordinator's own SQLite and mirrored in memory in
 * claim order. A claim takes the oldest-ready one synchronously, so two claims can never take the
 * same one and a claim costs no D1 round trip (nor a search of the table: one delete by key);
 * the reservation reaches D1 through the outbox (./outbox.ts). The table is what a restart
 * loads the mirror from.
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
  /** The queued instances by id; `order` may still hold entries taken out of here (skipped when reached). */
  private readonly byId = new Map<string, Entry>();
  /** Entries by (ready_at, id) from `head` on: the next claim takes `order[head]`. */
  private order: Entry[] = [];
  private head = 0;
  drift = 0;

  /**
   * `isHeld`: a claim holds the instance (in flight, or its statements not in D1 yet).
   * `d1BehindSince`: D1 may not show what the coordinator wrote for it to a read begun at that time.
   */
  constructor(
    storage: DurableObjectStorage,
    private readonly isHeld: (id: string) => boolean,
    private readonly d1BehindSince: (id: string, readAt: number) => boolean,
    private readonly openToken: OpenToken,
    private readonly now: () => number = Date.now,
  ) {
    this.sql = storage.sql;
    for (const statement of DDL) this.sql.exec(statement);
    this.reload();
  }

  /**
   * Memory from the table: at the start, and after a commit of the coordinator's storage failed
   * (a take or an admission it rolled back has already changed memory). Tokens already opened are kept.
   */
  reload(): void {
    const opened = new Map([...this.byId.values()].map((e) => [e.id, e.token] as const));
    this.byId.clear();
    this.order = [];
    this.head = 0;
    for (const r of this.sql.exec<QueueRow>("SELECT id, ready_at, url, token_sealed, admitted_at FROM idle_queue ORDER BY ready_at, id")) {
      const entry: Entry = { id: r.id, readyAt: r.ready_at, url: r.url, gatewayTokenSealed: r.token_sealed, admittedAt: r.admitted_at, token: opened.get(r.id) ?? null };
      this.byId.set(entry.id, entry);
      this.order.push(entry);
    }
  }

  size(): number {
    return this.byId.size;
  }

  /** The oldest-ready idle instance, out of the queue; null when it is empty. Synchronous. */
  take(): QueuedInstance | null {
    while (this.head < this.order.length) {
      const entry = this.order[this.head++]!;
      if (this.byId.get(entry.id) !== entry) continue;
      this.byId.delete(entry.id);
      this.sql.exec("DELETE FROM idle_queue WHERE id = ?", entry.id);
      // Taken entries are dropped from the front in one go, not one shift per claim.
      if (this.head > 1024 && this.head * 2 > this.order.length) {
        this.order = this.order.slice(this.head);
        this.head = 0;
      }
      const { admittedAt: _at, token, ...instance } = entry;
      return { ...instance, token: token ?? this.open(entry) };
    }
    return null;
  }

  release(id: string): boolean {
    if (this.isHeld(id)) return false;
    this.forget(id);
    return true;
  }

  /** Out of the queue whether or not a claim holds it (an operator's kill): no claim takes it from here on. */
  forget(id: string): void {
    this.byId.delete(id);
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
    const queued = this.byId.get(row.id);
    if (queued) queued.admittedAt = now;
    else this.enqueue({ id: row.id, readyAt: row.readyAt ?? now, url: row.url, gatewayTokenSealed: row.gatewayTokenSealed, admittedAt: now, token: null });
  }

  /** Everything out of the queue, memory and table (the benchmark's reseed, which replaces D1's rows wholesale). */
  clear(): void {
    this.sql.exec("DELETE FROM idle_queue");
    this.byId.clear();
    this.order = [];
    this.head = 0;
  }

  /** Into memory at its place in claim order, its token opening already. */
  private enqueue(entry: Entry): void {
    this.open(entry);
    this.byId.set(entry.id, entry);
    let lo = this.head;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.order[mid]!;
      if (other.readyAt < entry.readyAt || (other.readyAt === entry.readyAt && other.id < entry.id)) lo = mid + 1;
      else hi = mid;
    }
    // Admissions are mostly the newest-ready: appended, not spliced.
    if (lo === this.order.length) this.order.push(entry);
    else this.order.splice(lo, 0, entry);
  }

  private open(entry: Entry): Promise<string> {
    if (!entry.token) {
      entry.token = this.openToken(entry.gatewayTokenSealed, entry.id);
      // A token that does not open fails the claim that takes it (as it did when opened there), not the admission.
      entry.token.catch(() => {});
    }
    return entry.token;
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
    // Deleting the entry being visited is safe in a Map iteration.
    for (const q of this.byId.values()) {
      // Admitted after the read began: D1 may not have shown it yet.
      if (idle.has(q.id) || this.uncertain(q.id, readAt) || q.admittedAt >= readAt) continue;
      this.byId.delete(q.id);
      this.sql.exec("DELETE FROM idle_queue WHERE id = ?", q.id);
      removed++;
    }
    let added = 0;
    for (const r of rows) {
      if (!r.url || !r.gatewayTokenSealed || this.byId.has(r.id) || this.uncertain(r.id, readAt) || this.releasedAt.has(r.id)) continue;
      const readyAt = r.readyAt ?? now;
      this.sql.exec("INSERT INTO idle_queue (id, ready_at, url, token_sealed, admitted_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", r.id, readyAt, r.url, r.gatewayTokenSealed, now);
      this.enqueue({ id: r.id, readyAt, url: r.url, gatewayTokenSealed: r.gatewayTokenSealed, admittedAt: now, token: null });
      added++;
    }
    this.drift += removed;
    return { added, removed, size: this.size() };
  }

  /** D1's answer to a read begun at `readAt` may be stale for this instance: a claim holds it, or wrote it since. */
  private uncertain(id: string, readAt: number): boolean {
    return this.isHeld(id) || this.d1BehindSince(id, readAt);
  }
}
