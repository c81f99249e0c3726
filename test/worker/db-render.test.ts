import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../worker/db/client";
import { getEvents, getInstance, renderTransition, type TransitionRequest, transitionSetSql, transitionStatement } from "../../worker/db/instances";
import { defaultSettings } from "../../worker/domain/settings";

// The outbox sends renderTransition's text to D1 in place of drizzle's: the two must bind the same values.
const deadlines = defaultSettings(env);
const db = database(env.DB);
const cases: TransitionRequest[] = [
  { id: "r1", from: "idle", to: "claiming", reason: "reserved", actor: "api", now: 1_000, set: { claimId: "c1", agentName: "Ada", joinUrl: null, template: null, deadlineAt: 5_000 } },
  { id: "r2", from: "idle", to: "claiming", reason: "reserved", actor: "api", now: 2_000, set: { claimId: "c2", agentName: "Bo", joinUrl: "https://x.test/j", template: "t", deadlineAt: 6_000 } },
  {
    id: "r1",
    from: "claiming",
    to: "claimed",
    reason: "provisioned: joined",
    actor: "api",
    now: 3_000,
    set: { conversationId: "conv", inviteUrl: null, joined: true, claimStatus: "joined", claimedAt: 3_000, lastHealthAt: 3_000 },
  },
  {
    id: "r2",
    from: "claiming",
    to: "claimed",
    reason: "provisioned: created",
    actor: "api",
    now: 3_100,
    set: { conversationId: "c", inviteUrl: "https://i", joined: false, claimStatus: "created", claimedAt: 3_100, lastHealthAt: 3_100 },
  },
  { id: "r3", from: ["starting", "idle"], to: "dead", reason: "gone", actor: "tick", now: 4_000, set: { capabilities: ["voice", "email"], lastError: "x" } },
  { id: "r3", from: ["claimed"], to: "dead", reason: "not allowed", actor: "tick", now: 4_000 },
];

describe("renderTransition", () => {
  it("binds what drizzle binds, for each shape, on first render and from its cache", () => {
    for (let round = 0; round < 2; round++) {
      for (const t of cases) {
        const ours = renderTransition(db, t, deadlines);
        const drizzle = transitionStatement(db, t, deadlines)?.toSQL() ?? null;
        expect(ours && { sql: ours.sql, params: ours.params }).toEqual(drizzle);
        // Every shape here binds as drizzle does, so each may be sent many at once.
        if (ours) expect(ours.shape).toMatch(/\|\d$/);
      }
    }
    // A reused shape with other values: the text stays, the values follow.
    const a = renderTransition(db, cases[0]!, deadlines)!;
    const b = renderTransition(db, { ...cases[0]!, id: "other", set: { ...cases[0]!.set, agentName: "Zed" } }, deadlines)!;
    expect(b.sql).toBe(a.sql);
    expect(b.params).toContain("Zed");
    expect(b.params).toContain("other");
  });

  it("writes the row and its event in D1 as the drizzle statement does", async () => {
    await env.DB.prepare("INSERT INTO instances (id, status, status_changed_at, created_at, provider, service_name, health_failures) VALUES ('rr', 'idle', 0, 0, 'local', 'svc-rr', 0)").run();
    for (const t of [
      { ...cases[0]!, id: "rr" },
      { ...cases[2]!, id: "rr" },
    ]) {
      const { sql, params } = renderTransition(db, t, deadlines)!;
      await env.DB.prepare(sql)
        .bind(...params)
        .run();
    }
    const row = await getInstance(db, "rr");
    expect(row).toMatchObject({ status: "claimed", claimId: "c1", agentName: "Ada", conversationId: "conv", joined: true, claimStatus: "joined" });
    // The insert's own event, then one per transition (the status trigger).
    expect((await getEvents(db, "rr")).map((e) => e.toStatus)).toEqual(["idle", "claiming", "claimed"]);
  });

  it("sends many transitions of one shape as one statement: each row moves by its own compare-and-set, with its own event", async () => {
    const insert = (id: string, status: string) =>
      env.DB.prepare("INSERT INTO instances (id, status, status_changed_at, created_at, provider, service_name, health_failures) VALUES (?, ?, 0, 0, 'local', ?, 0)").bind(id, status, `svc-${id}`);
    await env.DB.batch([insert("s1", "idle"), insert("s2", "idle"), insert("s3", "claimed")]);
    const writes = ["s1", "s2", "s3"].map((id, i) => renderTransition(db, { ...cases[1]!, id, now: 10_000 + i, set: { ...cases[1]!.set, agentName: `agent-${id}`, joinUrl: null } }, deadlines)!);
    // Once more with the shape cached: all three share it.
    const again = ["s1", "s2", "s3"].map((id, i) => renderTransition(db, { ...cases[1]!, id, now: 10_000 + i, set: { ...cases[1]!.set, agentName: `agent-${id}`, joinUrl: null } }, deadlines)!);
    expect(new Set(again.map((w) => w.shape)).size).toBe(1);
    expect(again).toEqual(writes.map((w) => ({ ...w, shape: again[0]!.shape })));
    const setSql = transitionSetSql(again[0]!.shape!)!;
    const result = await env.DB.prepare(setSql)
      .bind(JSON.stringify(again.map((w) => w.params)))
      .run<{ id: string }>();
    // s3 was not idle: its compare-and-set fails and RETURNING leaves it out.
    expect(result.results.map((r) => r.id).sort()).toEqual(["s1", "s2"]);
    for (const id of ["s1", "s2"]) {
      expect(await getInstance(db, id)).toMatchObject({ status: "claiming", agentName: `agent-${id}`, claimId: "c2", template: "t", joinUrl: null, deadlineAt: 6_000 });
      expect((await getEvents(db, id)).map((e) => [e.toStatus, e.reason, e.actor])).toEqual([
        ["idle", null, null],
        ["claiming", "reserved", "api"],
      ]);
    }
    expect(await getInstance(db, "s3")).toMatchObject({ status: "claimed", agentName: null });
  });

  it("reads no shape it does not know", () => {
    expect(transitionSetSql("notAColumn,status|1")).toBeNull();
    expect(transitionSetSql("status|0")).toBeNull();
    expect(transitionSetSql("")).toBeNull();
  });
});
