import { and, inArray, like, lt, sql } from "drizzle-orm";
import { database } from "../db/client";
import { settings } from "../db/schema";
import type { Session } from "./session";

/**
 * Server-side session revocation, kept in the `settings` table (key/value rows; no migration):
 * - `admin-session-revoked:<sid>` → `{ exp }`: a logged-out session, kept until it would have
 *   expired anyway;
 * - `admin-sessions-not-before` → `{ at }`: "log out everywhere" ends every session issued
 *   before `at`.
 * A change of POOL_API_KEY needs no row: sessions carry a fingerprint of the key they were
 * opened with (session.ts).
 */
const REVOKED_PREFIX = "admin-session-revoked:";
const NOT_BEFORE_KEY = "admin-sessions-not-before";

export async function recordedRevocation(d1: D1Database, session: Session): Promise<{ revoked: boolean; notBefore: number | null }> {
  const rows = await database(d1)
    .select({ key: settings.key, value: settings.value })
    .from(settings)
    .where(inArray(settings.key, [REVOKED_PREFIX + session.sid, NOT_BEFORE_KEY]));
  const notBefore = rows.find((r) => r.key === NOT_BEFORE_KEY)?.value as { at?: unknown } | undefined;
  return { revoked: rows.some((r) => r.key !== NOT_BEFORE_KEY), notBefore: typeof notBefore?.at === "number" ? notBefore.at : null };
}

export async function revokeSession(d1: D1Database, session: Session, now = Date.now()): Promise<void> {
  const db = database(d1);
  await db.batch([
    db
      .insert(settings)
      .values({ key: REVOKED_PREFIX + session.sid, value: { exp: session.exp }, updatedAt: now })
      .onConflictDoNothing(),
    // Rows of sessions that have expired by now prove nothing more.
    db.delete(settings).where(and(like(settings.key, `${REVOKED_PREFIX}%`), lt(sql`json_extract(${settings.value}, '$.exp')`, now))),
  ]);
}

export async function revokeAllSessions(d1: D1Database, now = Date.now()): Promise<void> {
  const db = database(d1);
  await db
    .insert(settings)
    .values({ key: NOT_BEFORE_KEY, value: { at: now }, updatedAt: now })
    .onConflictDoUpdate({ target: settings.key, set: { value: { at: now }, updatedAt: now } });
  // Individually revoked sessions are all covered now.
  await db.delete(settings).where(like(settings.key, `${REVOKED_PREFIX}%`));
}
