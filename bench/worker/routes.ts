import { Hono } from "hono";
import { open } from "../../worker/crypto/sealed";
import { requirePoolKey } from "../../worker/http/auth";
import { ApiError } from "../../worker/http/errors";
import { createInstanceClient } from "../../worker/instances/client";
import { newId } from "../../worker/lib/ids";
import type { PoolCoordinator as BenchCoordinator } from "./entry";
import type { BenchFloor } from "./floor";

/**
 * Benchmark-only routes (bench/README.md), mounted by the benchmark's own Worker entry
 * (bench/worker/entry.ts): the deployed bundle (worker/index.ts) never contains them.
 *
 * POST /_bench/naive-claim is the baseline the claim benchmark compares the coordinator with:
 * a read-then-write claim straight from the Worker, with no single writer and no conditional
 * update. Under concurrency two requests read the same idle row and both "win" it; the
 * benchmark counts how often. Never use this shape for real claims.
 */
export const benchRoutes = new Hono<{ Bindings: Env & { BENCH_FLOOR: DurableObjectNamespace<BenchFloor> } }>();

const instanceClient = createInstanceClient();

benchRoutes.use("*", requirePoolKey());

interface IdleRow {
  id: string;
  url: string;
  gateway_token_sealed: string;
}

benchRoutes.post("/naive-claim", async (c) => {
  const t0 = Date.now();
  const db = c.env.DB;
  // Read…
  const row = await db.prepare("SELECT id, url, gateway_token_sealed FROM instances WHERE status = 'idle' ORDER BY ready_at, id LIMIT 1").first<IdleRow>();
  if (!row) throw new ApiError(503, "pool_empty", "no idle instance");
  // …then write, without checking that the row is still idle.
  const claimId = newId("c");
  await db
    .prepare("UPDATE instances SET status = 'claiming', status_reason = 'naive claim', status_actor = 'bench', status_changed_at = ?, claim_id = ? WHERE id = ?")
    .bind(Date.now(), claimId, row.id)
    .run();
  const token = await open(c.env.POOL_ENCRYPTION_KEY, row.gateway_token_sealed, row.id);
  const tProvision = Date.now();
  const provisioned = await instanceClient.provision(row.url, token, { agentName: "Assistant", instructions: "" });
  const tAfter = Date.now();
  if (provisioned.ok) {
    await db
      .prepare("UPDATE instances SET status = 'claimed', status_reason = 'naive claim', status_changed_at = ?, conversation_id = ?, invite_url = ?, claimed_at = ? WHERE id = ?")
      .bind(Date.now(), provisioned.result.conversationId, provisioned.result.inviteUrl ?? null, Date.now(), row.id)
      .run();
  }
  const poolMs = tProvision - t0 + (Date.now() - tAfter);
  return c.json(
    { instanceId: row.id, claimId, provisioned: provisioned.ok, reason: provisioned.ok ? null : provisioned.reason },
    { headers: { "Server-Timing": `pool;dur=${poolMs}, provision;dur=${tAfter - tProvision}` } },
  );
});

/**
 * Counters a benchmark build of the Worker keeps (bench/lib/host.ts wraps D1); zeros otherwise.
 * The coordinator's outbox is flushed first and its figures ride along (`outbox*`: the flushes'
 * own round trips and statements, included in `d1*`); `?reset=1` restarts its lag samples.
 */
/** After the benchmark reseeds D1: the coordinator's queue of idle instances reloaded from it. */
benchRoutes.post("/resync", async (c) => {
  const ns = c.env.POOL_COORDINATOR as unknown as DurableObjectNamespace<BenchCoordinator>;
  return c.json({ queued: await ns.get(ns.idFromName("pool")).benchResync() });
});

benchRoutes.get("/counters", async (c) => {
  const ns = c.env.POOL_COORDINATOR as unknown as DurableObjectNamespace<BenchCoordinator>;
  const outbox = await ns.get(ns.idFromName("pool")).benchOutbox(c.req.query("reset") === "1");
  const counters = (globalThis as { __benchCounters?: Record<string, number> }).__benchCounters ?? {};
  return c.json({
    ...counters,
    coordinatorCommits: outbox.commits,
    coordinatorCommittedWrites: outbox.committedWrites,
    outboxRoundTrips: outbox.roundTrips,
    outboxStatements: outbox.statements,
    outboxPending: outbox.pending,
    outboxMaxPending: outbox.maxPending,
    outboxLagP50: outbox.lagMs?.p50 ?? null,
    outboxLagP95: outbox.lagMs?.p95 ?? null,
    outboxLagMax: outbox.lagMs?.max ?? null,
  });
});

/** Serial D1 round trips from the Worker, to tell D1's own latency in this runtime from the pool's. */
benchRoutes.get("/d1-probe", async (c) => {
  const n = Math.min(200, Math.max(1, Number(c.req.query("n") ?? 20)));
  const db = c.env.DB;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await db.prepare("SELECT 1 AS one").first();
  const t1 = Date.now();
  for (let i = 0; i < n; i++) await db.prepare("SELECT id FROM instances WHERE status = 'idle' ORDER BY ready_at, id LIMIT 1").first();
  const t2 = Date.now();
  for (let i = 0; i < n; i++) await db.prepare("UPDATE settings SET updated_at = ? WHERE key = '__bench_probe__'").bind(i).run();
  const t3 = Date.now();
  return c.json({ n, selectOneMs: (t1 - t0) / n, selectIdleMs: (t2 - t1) / n, updateMs: (t3 - t2) / n });
});

/** One D1 round trip and nothing else: with GET /healthz (none) it brackets what a claim's D1 writes cost here. */
benchRoutes.get("/d1-one", async (c) => {
  const row = await c.env.DB.prepare("SELECT count(*) AS n FROM instances WHERE status = 'idle'").first<{ n: number }>();
  return c.json({ idle: row?.n ?? 0 });
});

/** The reference Durable Object (./floor.ts), reached the way the claim route reaches the coordinator: one named object. */
const floorStub = (ns: DurableObjectNamespace<BenchFloor>) => ns.get(ns.idFromName("floor"));

/** Worker → Durable Object RPC that does nothing: the hop every coordinated claim pays. */
benchRoutes.post("/do-noop", async (c) => c.json({ ok: (await floorStub(c.env.BENCH_FLOOR).noop()) === 0 }));

/**
 * The claim floor (issue 17): one durable, group-committed row write in the Durable Object's
 * SQLite plus one provision call to the instance at `url`, then the answer, with the same
 * Server-Timing split as a claim (pool = everything but the provision call).
 */
benchRoutes.post("/floor", async (c) => {
  const body = (await c.req.json().catch(() => null)) as { url?: unknown; id?: unknown } | null;
  if (typeof body?.url !== "string" || typeof body.id !== "string") throw new ApiError(400, "invalid_request", 'body must be {"url": string, "id": string}');
  const answer = await floorStub(c.env.BENCH_FLOOR).floor(body.url, body.id);
  return c.json(
    { instanceId: body.id, ...answer },
    { status: answer.ok ? 200 : 502, headers: { "Server-Timing": `pool;dur=${answer.totalMs - answer.provisionMs}, provision;dur=${answer.provisionMs}` } },
  );
});
