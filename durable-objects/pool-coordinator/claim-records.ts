import { and, eq, lt, sql } from "drizzle-orm";
import { drizzle, type DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { ClaimResponse } from "../../worker/api/schemas";
import { claims as d1Claims } from "../../worker/db/schema";
import { type Database, errorChain } from "../../worker/db/client";

/**
 * Idempotency keys of claims, kept in the coordinator's own SQLite. Every claim runs in the
 * coordinator, so nobody else needs them, and checking a key costs no D1 round trip: a
 * keyed claim makes the same two D1 statements (reserve, bind) as one without a key.
 * Writes here are synchronous and commit with the turn that makes them.
 */
export const claimRecords = sqliteTable("claim_records", {
  key: text("key").primaryKey(),
  bodyHash: text("body_hash").notNull(),
  state: text("state", { enum: ["pending", "succeeded"] }).notNull(),
  instanceId: text("instance_id"),
  result: text("result", { mode: "json" }).$type<ClaimResponse>(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
});
export type ClaimRecord = typeof claimRecords.$inferSelect;

// The table above as DDL: the store has no migration runner, and a column added later goes
// in with its own `ALTER TABLE` here (test/worker/claim-records.test.ts compares the two).
const DDL = [
  `CREATE TABLE IF NOT EXISTS claim_records (
    key TEXT PRIMARY KEY NOT NULL,
    body_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    instance_id TEXT,
    result TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  )`,
  "CREATE INDEX IF NOT EXISTS claim_records_expires_idx ON claim_records (expires_at)",
  "CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
];

/** Set once the keys D1 held before this store existed were copied in. */
const IMPORTED = "claims-imported-from-d1";

export class ClaimRecords {
  private readonly db: DrizzleSqliteDODatabase;
  private readonly sqlStorage: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.sqlStorage = storage.sql;
    for (const statement of DDL) this.sqlStorage.exec(statement);
    this.db = drizzle(storage);
  }

  /**
   * A coordinator that predates this store kept its keys in D1's `claims` table: copy them
   * once, before the first claim, so a retry of a claim made before the upgrade still
   * replays. Run inside blockConcurrencyWhile. A D1 without that table has nothing to give;
   * any other failure leaves the mark unset, so the next start tries again.
   */
  async importFromD1(d1: Database, now: number): Promise<number> {
    if (this.sqlStorage.exec("SELECT 1 FROM store_meta WHERE key = ?", IMPORTED).toArray().length > 0) return 0;
    let rows: (typeof d1Claims.$inferSelect)[];
    try {
      rows = await d1.select().from(d1Claims).where(sql`${d1Claims.expiresAt} >= ${now} AND ${d1Claims.state} IN ('pending', 'succeeded')`);
    } catch (err) {
      if (!/no such table/i.test(errorChain(err))) throw err;
      rows = [];
    }
    for (const r of rows) {
      this.db
        .insert(claimRecords)
        .values({ ...r, state: r.state as ClaimRecord["state"], result: (r.result as ClaimResponse | null) ?? null })
        .onConflictDoNothing()
        .run();
    }
    this.sqlStorage.exec("INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)", IMPORTED, String(now));
    return rows.length;
  }

  get(key: string): ClaimRecord | null {
    return this.db.select().from(claimRecords).where(eq(claimRecords.key, key)).get() ?? null;
  }

  /** False when the key is already there. */
  insertPending(key: string, bodyHash: string, now: number, ttlMs: number): boolean {
    const inserted = this.db
      .insert(claimRecords)
      .values({ key, bodyHash, state: "pending", createdAt: now, expiresAt: now + ttlMs })
      .onConflictDoNothing()
      .returning()
      .all();
    return inserted.length > 0;
  }

  setInstance(key: string, instanceId: string): void {
    this.db.update(claimRecords).set({ instanceId }).where(eq(claimRecords.key, key)).run();
  }

  succeed(key: string, result: ClaimResponse): void {
    this.db.update(claimRecords).set({ state: "succeeded", result }).where(eq(claimRecords.key, key)).run();
  }

  /** Drops a key whose claim did not succeed, so a retry with it starts over. */
  forgetPending(key: string): void {
    this.db
      .delete(claimRecords)
      .where(and(eq(claimRecords.key, key), eq(claimRecords.state, "pending")))
      .run();
  }

  delete(key: string): void {
    this.db.delete(claimRecords).where(eq(claimRecords.key, key)).run();
  }

  purgeExpired(now: number): void {
    this.db.delete(claimRecords).where(lt(claimRecords.expiresAt, now)).run();
  }
}
