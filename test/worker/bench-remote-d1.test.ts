import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { countingD1, emptyD1Counters } from "../../bench/worker/counting-d1";
import { remoteD1, serveRemoteD1 } from "../../bench/worker/remote-d1";
import { instances, settings } from "../../worker/db/schema";

// The benchmark's claim figures are taken with D1 in a second process, reached through this
// binding (bench/lib/host.ts `d1: "remote"`): it must answer what D1 answers, errors included.
// Here both sides run in this isolate, the request passing through `serveRemoteD1` as it would over HTTP.
const forwarded = () => {
  let requests = 0;
  const host = {
    fetch: (input: RequestInfo | URL, init?: RequestInit) => {
      requests++;
      return serveRemoteD1(new Request(input, init), { DB: env.DB });
    },
  } as unknown as Fetcher;
  return { db: remoteD1(host), requests: () => requests };
};

describe("the benchmark's remote D1 binding", () => {
  it("answers first/run/all/raw/batch/exec as D1 does, one request per call", async () => {
    const { db, requests } = forwarded();
    const stmt = db.prepare("SELECT ? AS n, ? AS s");
    expect(await stmt.bind(1, "a").first("n")).toBe(1);
    expect(await stmt.bind(2, "b").first()).toEqual({ n: 2, s: "b" });
    expect((await stmt.bind(3, "c").all()).results).toEqual([{ n: 3, s: "c" }]);
    expect(await stmt.bind(4, "d").raw()).toEqual([[4, "d"]]);
    expect(await stmt.bind(5, "e").raw({ columnNames: true })).toEqual([
      ["n", "s"],
      [5, "e"],
    ]);
    const insert = db.prepare("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)");
    const ran = await insert.bind("r1", "{}", 1).run();
    expect(ran.meta.changes).toBe(1);
    const batch = await db.batch([insert.bind("r2", "{}", 2), db.prepare("UPDATE settings SET updated_at = 9 WHERE key IN ('r1', 'r2') RETURNING key")]);
    expect(batch[1]!.meta.changes).toBe(2);
    expect((batch[1]!.results as { key: string }[]).map((r) => r.key).sort()).toEqual(["r1", "r2"]);
    expect((await db.exec("SELECT 1;\nSELECT 2;")).count).toBe(2);
    expect(requests()).toBe(8);
  });

  it("fails as D1 fails: a refused statement throws with D1's message, and a refused batch writes nothing", async () => {
    const { db } = forwarded();
    const insert = db.prepare("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)");
    await insert.bind("dup", "{}", 1).run();
    const local = await env.DB.prepare("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)")
      .bind("dup", "{}", 1)
      .run()
      .then(
        () => "",
        (err: Error) => err.message,
      );
    expect(local).toMatch(/UNIQUE constraint failed/);
    await expect(insert.bind("dup", "{}", 1).run()).rejects.toThrow(local);
    await expect(db.batch([insert.bind("fresh", "{}", 1), insert.bind("dup", "{}", 1)])).rejects.toThrow(/UNIQUE constraint failed/);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM settings WHERE key = 'fresh'").first("n")).toBe(0);
  });

  it("carries the pool's drizzle queries and booleans as D1 binds them, counted like the local binding", async () => {
    const counters = emptyD1Counters();
    const { db: remote } = forwarded();
    const db = drizzle(countingD1(remote, counters));
    await db.insert(settings).values({ key: "d", value: { x: 1 }, updatedAt: 3 });
    const [row] = await db.select().from(settings).where(eq(settings.key, "d"));
    expect(row).toMatchObject({ key: "d", value: { x: 1 }, updatedAt: 3 });
    const now = Date.now();
    await db.insert(instances).values({ id: "rd1", status: "claimed", statusReason: "t", statusActor: "t", statusChangedAt: now, createdAt: now, joined: true, provider: "local", serviceName: "rd1" });
    const [inst] = await db.select({ joined: instances.joined }).from(instances).where(eq(instances.id, "rd1"));
    expect(inst?.joined).toBe(true);
    expect(await env.DB.prepare("SELECT joined FROM instances WHERE id = 'rd1'").first("joined")).toBe(1);
    expect(counters).toEqual({ d1RoundTrips: 4, d1Statements: 4, d1Batches: 0 });
  });
});
