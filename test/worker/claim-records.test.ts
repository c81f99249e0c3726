import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getTableColumns } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { claimRecords } from "../../durable-objects/pool-coordinator/claim-records";
import { api, coordinatorStub, counts, fillPool, json } from "./helpers";

const claim = (body: unknown, key: string) => json(api("/api/pool/claim", { method: "POST", json: body, headers: { "idempotency-key": key } }));

/** What an upgrade does to the coordinator: a new one starts with an empty store. */
async function coordinatorWithEmptyStore(): Promise<void> {
  await runInDurableObject(coordinatorStub(), (_instance, state) => state.storage.deleteAll());
  await abortAllDurableObjects();
}

const storedRecords = () => runInDurableObject(coordinatorStub(), (_instance, state) => state.storage.sql.exec("SELECT * FROM claim_records ORDER BY key").toArray());

describe("idempotency keys in the coordinator's own storage", () => {
  it("the store's table is the one the code reads (DDL and drizzle table agree)", async () => {
    const columns = await runInDurableObject(coordinatorStub(), (_instance, state) => state.storage.sql.exec("PRAGMA table_info(claim_records)").toArray());
    const declared = Object.values(getTableColumns(claimRecords)).map((c) => ({ name: c.name, notnull: c.notNull || c.primary ? 1 : 0 }));
    expect(columns.map((c) => ({ name: c.name, notnull: c.notnull }))).toEqual(declared);
  });

  it("a keyed claim writes nothing to D1's old claims table, and replays from the coordinator", async () => {
    await fillPool(2);
    const first = await claim({ agentName: "Ada" }, "order-1");
    expect(first.status).toBe(200);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM claims").first<{ n: number }>())!.n).toBe(0);
    expect(await storedRecords()).toMatchObject([{ key: "order-1", state: "succeeded", instance_id: first.body.instanceId }]);
    const again = await claim({ agentName: "Ada" }, "order-1");
    expect(again).toMatchObject({ status: 200, body: first.body });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await counts()).claimed).toBe(1);
  });

  it("keys a coordinator kept in D1 before the upgrade still replay after it; expired ones are gone", async () => {
    await fillPool(3);
    const before = await claim({ agentName: "Ada" }, "before-upgrade");
    expect(before.status).toBe(200);
    const [record] = await storedRecords();
    // The old coordinator wrote its keys to D1: put them where it would have.
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare("INSERT INTO claims (key, body_hash, state, instance_id, result, created_at, expires_at) VALUES (?, ?, 'succeeded', ?, ?, ?, ?)").bind(
        "before-upgrade",
        record!.body_hash,
        record!.instance_id,
        record!.result,
        record!.created_at,
        record!.expires_at,
      ),
      env.DB.prepare("INSERT INTO claims (key, body_hash, state, instance_id, result, created_at, expires_at) VALUES ('long-ago', 'x', 'succeeded', NULL, '{}', ?, ?)").bind(now - 10, now - 1),
    ]);
    await coordinatorWithEmptyStore();

    const retried = await claim({ agentName: "Ada" }, "before-upgrade");
    expect(retried).toMatchObject({ status: 200, body: before.body });
    expect(retried.headers.get("idempotent-replayed")).toBe("true");
    expect((await counts()).claimed).toBe(1);
    // An expired key is not carried over: the key is free for a new claim.
    const fresh = await claim({ agentName: "Bea" }, "long-ago");
    expect(fresh.status).toBe(200);
    expect(fresh.body.instanceId).not.toBe(before.body.instanceId);
    expect((await counts()).claimed).toBe(2);
  });

  it("a coordinator starts and claims when D1 has no old claims table to copy from", async () => {
    await fillPool(1);
    await env.DB.exec("ALTER TABLE claims RENAME TO claims_gone");
    try {
      await coordinatorWithEmptyStore();
      const res = await claim({ agentName: "Ada" }, "after-drop");
      expect(res.status).toBe(200);
      expect((await claim({ agentName: "Ada" }, "after-drop")).body).toEqual(res.body);
    } finally {
      await env.DB.exec("ALTER TABLE claims_gone RENAME TO claims");
    }
  });
});
