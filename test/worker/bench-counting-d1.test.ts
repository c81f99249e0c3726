import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { countingD1, emptyD1Counters } from "../../bench/worker/counting-d1";
import { settings } from "../../worker/db/schema";

// The benchmark's D1 counts (bench/README.md: round trips per claim and per tick) come from this
// wrapper; a miscount would print a wrong baseline for issue 17.
describe("the benchmark's counting D1 binding", () => {
  it("counts a batch as one round trip carrying all its statements, and returns D1's results", async () => {
    const counters = emptyD1Counters();
    const db = countingD1(env.DB, counters);
    const results = await db.batch([
      db.prepare("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)").bind("a", "{}", 1),
      db.prepare("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)").bind("b", "{}", 2),
      db.prepare("SELECT key FROM settings WHERE key IN ('a', 'b') ORDER BY key"),
    ]);
    expect(counters).toEqual({ d1RoundTrips: 1, d1Statements: 3, d1Batches: 1 });
    expect(results[2]!.results).toEqual([{ key: "a" }, { key: "b" }]);
  });

  it("counts each first/run/all/raw of a statement as one round trip, and exec by D1's statement count", async () => {
    const counters = emptyD1Counters();
    const db = countingD1(env.DB, counters);
    const stmt = db.prepare("SELECT ? AS n");
    expect(await stmt.bind(1).first("n")).toBe(1);
    expect((await stmt.bind(2).all()).results).toEqual([{ n: 2 }]);
    expect(await stmt.bind(3).raw()).toEqual([[3]]);
    await db.prepare("UPDATE settings SET updated_at = 0 WHERE key = 'none'").run();
    expect(counters).toEqual({ d1RoundTrips: 4, d1Statements: 4, d1Batches: 0 });
    // D1 runs one query per line.
    await db.exec("SELECT 1;\nSELECT 2;");
    expect(counters).toEqual({ d1RoundTrips: 5, d1Statements: 6, d1Batches: 0 });
  });

  it("works under drizzle as the pool uses it: a query is one round trip, a drizzle batch one more", async () => {
    const counters = emptyD1Counters();
    const db = drizzle(countingD1(env.DB, counters));
    await db.insert(settings).values({ key: "c", value: { x: 1 }, updatedAt: 3 });
    const [before] = await db.batch([db.update(settings).set({ updatedAt: 4 }).where(eq(settings.key, "c")), db.select().from(settings).where(eq(settings.key, "c"))]).then((r) => r[1]);
    expect(before?.updatedAt).toBe(4);
    expect(counters).toEqual({ d1RoundTrips: 2, d1Statements: 3, d1Batches: 1 });
  });
});
