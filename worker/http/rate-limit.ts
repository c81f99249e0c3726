import { sql } from "drizzle-orm";
import { database } from "../db/client";
import { rateLimits } from "../db/schema";

export interface RateLimitResult {
  allowed: boolean;
  remaining: number;
  /** Seconds until the window resets; for Retry-After. */
  retryAfterSeconds: number;
}

/**
 * Fixed-window counter in D1, counted with one upsert so concurrent requests cannot both
 * slip under the limit. Used for admin logins and public claims.
 */
export async function hitRateLimit(d1: D1Database, key: string, limit: number, windowMs: number, now = Date.now()): Promise<RateLimitResult> {
  const windowStart = now - (now % windowMs);
  const [row] = await database(d1)
    .insert(rateLimits)
    .values({ key, windowStart, count: 1 })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`CASE WHEN ${rateLimits.windowStart} = ${windowStart} THEN ${rateLimits.count} + 1 ELSE 1 END`,
        windowStart,
      },
    })
    .returning();
  const count = row?.count ?? 1;
  return {
    allowed: count <= limit,
    remaining: Math.max(0, limit - count),
    retryAfterSeconds: Math.ceil((windowStart + windowMs - now) / 1000),
  };
}

/** Clears a key, e.g. after a successful login. */
export async function clearRateLimit(d1: D1Database, key: string): Promise<void> {
  await d1.prepare("DELETE FROM rate_limits WHERE key = ?").bind(key).run();
}

/** The client address as Cloudflare reports it; a fixed value locally. */
export function clientAddress(headers: Headers): string {
  return headers.get("cf-connecting-ip") ?? headers.get("x-real-ip") ?? "local";
}
