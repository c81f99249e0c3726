import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export function database(d1: D1Database) {
  return drizzle(d1, { schema });
}
export type Database = ReturnType<typeof database>;

/** Statements per D1 batch when many rows' updates go at once. */
const STATEMENTS_PER_BATCH = 100;

/**
 * Sends the statements as D1 batches (one round trip per STATEMENTS_PER_BATCH, none when
 * there are none) and returns each statement's result, in order: a row array for a query
 * with RETURNING.
 */
export async function batchAll(db: Database, statements: BatchItem<"sqlite">[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (let i = 0; i < statements.length; i += STATEMENTS_PER_BATCH) {
    const part = statements.slice(i, i + STATEMENTS_PER_BATCH) as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
    results.push(...((await db.batch(part)) as unknown[]));
  }
  return results;
}

/** Every message down an error's cause chain: drizzle wraps D1's error, and SQLite's own words are on the cause. */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) parts.push(e.message ?? "");
  return parts.join(" / ");
}
