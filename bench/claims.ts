import { createFakeOutbound, FAKE_BASE } from "./lib/fake-outbound.ts";
import { BENCH_POOL_KEY, type BenchHost, startBenchHost } from "./lib/host.ts";
import { runLoad, serverTiming, type LoadRequest, type LoadRun } from "./lib/load.ts";
import { clearInstances, countWhere, seedRows } from "./lib/seed.ts";
import { summarize, type Summary } from "./lib/stats.ts";

/**
 * 1. Claims. The Worker under Miniflare (real workerd, D1, Durable Object), 2,000 idle rows
 * seeded before the claim runs of each concurrency, fake instances that provision at once. For
 * each concurrency, one after the other: GET /healthz (the runtime's ceiling), GET
 * /_bench/d1-one (one D1 query), POST /_bench/do-noop (Worker → Durable Object RPC, nothing
 * else), then POST /_bench/floor (the claim floor of issue 17) and POST /api/pool/claim (the
 * coordinator) alternating (floor, claims, floor, claims, floor), then POST
 * /_bench/naive-claim (read-then-write from the Worker, no coordinator). The D1 round trips and
 * statements of every run are counted (bench/worker/counting-d1.ts).
 */
export const CONCURRENCY = [1, 16, 64, 256];
export const IDLE_ROWS = 2_000;
export const CLAIMS_PER_RUN = 400;
export const NOOP_PER_RUN = 2_000;
export const KEYED_CLAIMS = 100;
/**
 * Claim runs per concurrency, each followed by a claim-floor run (one more floor run before the
 * first). Segments of a shared 2-core machine drift by ±20 % within seconds; four pairs keep the
 * ratio's spread between whole runs near ±0.05 (two pairs: ±0.1), and 4 × 400 claims fit the 2,000 seeded rows.
 */
export const CLAIM_SEGMENTS = 4;
/**
 * At c=64, where the claim ceiling ratio is read, more pairs: a segment's rate drifts ±20 % on
 * this machine, so four pairs left whole runs' ratios ±0.08 apart (0.79 to 0.95 in three runs of
 * one tree). The pool is reseeded every CLAIM_SEGMENTS claim runs, outside the timed segments.
 */
export const CEILING_SEGMENTS = 12;
const segmentsAt = (c: number) => (c === 64 ? CEILING_SEGMENTS : CLAIM_SEGMENTS);
const RUN_MAX_MS = 60_000;

/** One claim-floor call. Each provisions the fresh fake instance `id` (a second provision of one would be a 409). */
export const floorCall = (id: string, headers: Record<string, string>): LoadRequest => ({
  method: "POST",
  path: "/_bench/floor",
  headers,
  body: JSON.stringify({ id, url: `${FAKE_BASE}/inst/${id}` }),
});

export interface ClaimRunResult {
  kind: "noop" | "d1one" | "doNoop" | "floor" | "coordinator" | "coordinatorKeyed" | "naive";
  concurrency: number;
  sent: number;
  ok: number;
  errors: number;
  non2xx: Record<string, number>;
  perSecond: number;
  /** Client-observed latency. */
  latency: Summary;
  /** Client-observed latency minus the provision call (Server-Timing provision): the pool's own part as the caller pays it. */
  poolPart: Summary | null;
  /** The coordinator's own timing of its part (Server-Timing pool). */
  poolInternal: Summary | null;
  provision: Summary | null;
  uniqueInstances: number;
  /** Successful claims that got an instance another claim of the same run also got. */
  doubleAssigned: number;
  /** Second provision calls the fake instances saw (they answer 409, as a real one would). */
  secondProvisions: number;
  rowsClaimed: number;
  cutShort: boolean;
  /** D1 round trips and statements the Worker and the coordinator made during the run, on the claim path (the outbox's flushes not included). */
  d1RoundTrips: number;
  d1Statements: number;
  /** Round trips and statements of the coordinator's outbox flushes during the run (durable-objects/pool-coordinator/outbox.ts). */
  flushRoundTrips: number;
  flushStatements: number;
  /** The outbox at the end of the run: statements left unsent, the most ever waiting, and D1's lag behind the coordinator (ms). */
  outbox: { pendingAfter: number; maxPending: number; lagP50: number | null; lagP95: number | null; lagMax: number | null };
  /** Successes per second of each run this result combines (the claim floor and the coordinator run in several, interleaved). */
  segmentsPerSecond: number[];
  /** CPU the Worker's workerd process (Worker, coordinator; D1 too when it shares the process), D1's own process (0 when shared) and this Node process (load, fake instances) used while the runs went, ms. */
  cpuMs: { workerd: number; d1: number; node: number };
  /** Claim floor only: how many writes shared a commit, on average over its calls. */
  meanCommitSize?: number;
  /** Claim floor only: mean ms from a commit's first write to its `storage.sync()` resolving, per call. */
  meanCommitMs?: number;
}

function summarizeRun(
  kind: ClaimRunResult["kind"],
  concurrency: number,
  run: LoadRun,
): Omit<ClaimRunResult, "secondProvisions" | "rowsClaimed" | "d1RoundTrips" | "d1Statements" | "flushRoundTrips" | "flushStatements" | "outbox" | "segmentsPerSecond" | "cpuMs"> {
  const ok = run.results.filter((r) => r.status >= 200 && r.status < 300);
  const non2xx: Record<string, number> = {};
  for (const r of run.results) if (r.status >= 300 || r.status < 200) non2xx[r.status] = (non2xx[r.status] ?? 0) + 1;
  const timed = ok.map((r) => ({ r, t: serverTiming(r.headers["server-timing"]) })).filter((x) => "provision" in x.t);
  const ids = ok.map((r) => (JSON.parse(r.body) as { instanceId?: string }).instanceId).filter((x): x is string => !!x);
  const seen = new Map<string, number>();
  for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  const doubleAssigned = [...seen.values()].filter((n) => n > 1).reduce((a, n) => a + n, 0);
  return {
    kind,
    concurrency,
    sent: run.results.length + run.errors,
    ok: ok.length,
    errors: run.errors,
    non2xx,
    perSecond: (ok.length / run.wallMs) * 1000,
    latency: summarize(ok.map((r) => r.ms)),
    poolPart: timed.length ? summarize(timed.map((x) => x.r.ms - x.t.provision!)) : null,
    poolInternal: timed.length ? summarize(timed.map((x) => x.t.pool!)) : null,
    provision: timed.length ? summarize(timed.map((x) => x.t.provision!)) : null,
    uniqueInstances: seen.size,
    doubleAssigned,
    cutShort: run.cutShort,
  };
}

/** The claim ceiling again with D1 on the Worker's own thread (Miniflare's default), for comparison with the figures of record (D1 apart). */
export interface ColocatedCeiling {
  claimsPerSecond: number;
  floorPerSecond: number;
  /** workerd CPU per call, ms. */
  claimCpuMs: number;
  floorCpuMs: number;
}

/**
 * Replaces D1's instances with IDLE_ROWS idle ones (ids `<prefix><seedN × 10⁶ + i>`, never reused)
 * and has the coordinator reload its queue: seeded behind its back, it would not know of them.
 */
async function seedIdle(host: BenchHost, prefix: string, seedN: number): Promise<void> {
  await clearInstances(host.db);
  const base = seedN * 1_000_000;
  await seedRows(
    host.db,
    Array.from({ length: IDLE_ROWS }, (_, i) => ({ id: `${prefix}${base + i}`, status: "idle", readyAt: Date.now() - 600_000 + i, lastHealthAt: Date.now() })),
  );
  const resync = await host.postJson<{ queued: number }>("/_bench/resync", {});
  if (resync.status !== 200 || resync.body.queued !== IDLE_ROWS) throw new Error(`the coordinator queued ${JSON.stringify(resync.body)} of ${IDLE_ROWS} seeded idle rows`);
}

/** One claim, as every claim run sends it. */
export const claimCall = (headers: Record<string, string>): LoadRequest => ({
  method: "POST",
  path: "/api/pool/claim",
  headers,
  body: JSON.stringify({ agentName: "Bench", instructions: "be brief" }),
});

/**
 * D1 runs apart (bench/lib/host.ts `d1: "remote"`), as production's D1 is a service of its own:
 * on the Worker's thread its SQLite work for the outbox's flushes would count against the
 * coordinator's ceiling (bench/worker/remote-d1.ts). The ceiling with D1 on that thread is
 * measured first, on a host of its own, for comparison.
 */
export async function benchClaims(log: (s: string) => void = console.error): Promise<{ runs: ClaimRunResult[]; metricsDelta: string; colocated: ColocatedCeiling }> {
  const colocated = await benchColocatedCeiling(log);
  const fake = createFakeOutbound();
  const host = await startBenchHost({ outboundService: fake.handle, d1: "remote" });
  const runs: ClaimRunResult[] = [];
  let seedN = 0;
  const reseed = async () => {
    fake.reset();
    await seedIdle(host, "i", ++seedN);
  };
  const auth = { authorization: `Bearer ${BENCH_POOL_KEY}`, "content-type": "application/json" };
  try {
    // Warm-up: JIT, DO instantiation, D1 statement caches.
    await reseed();
    await runLoad(host.url, { concurrency: 4, total: 200, maxMs: 10_000, request: () => ({ method: "GET", path: "/healthz" }) });
    await runLoad(host.url, { concurrency: 4, total: 40, maxMs: 10_000, request: () => ({ method: "GET", path: "/_bench/d1-one", headers: auth }) });
    await runLoad(host.url, { concurrency: 4, total: 40, maxMs: 10_000, request: () => ({ method: "POST", path: "/_bench/do-noop", headers: auth, body: "{}" }) });
    await runLoad(host.url, {
      concurrency: 4,
      total: 40,
      maxMs: 10_000,
      request: (i) => floorCall(`warm-${i}`, auth),
    });
    await runLoad(host.url, { concurrency: 4, total: 40, maxMs: 10_000, request: () => claimCall(auth) });
    await runLoad(host.url, { concurrency: 4, total: 40, maxMs: 10_000, request: () => ({ method: "POST", path: "/_bench/naive-claim", headers: auth, body: "{}" }) });
    const metricsBefore = await (await fetch(`${host.url}/metrics`, { headers: { authorization: `Bearer ${BENCH_POOL_KEY}` } })).text();

    let floorN = 0;
    const floorRequest = () => floorCall(`floor-${++floorN}`, auth);
    // One closed-loop run, with the D1 round trips and statements made while it ran.
    const segment = async (c: number, total: number, request: () => LoadRequest) => {
      const c0 = await host.counters();
      const [w0, d0, n0] = [host.workerdCpuSeconds(), host.d1CpuSeconds(), process.cpuUsage()];
      const run = await runLoad(host.url, { concurrency: c, total, maxMs: RUN_MAX_MS, request });
      const n1 = process.cpuUsage(n0);
      const cpuMs = { workerd: (host.workerdCpuSeconds() - w0) * 1000, d1: (host.d1CpuSeconds() - d0) * 1000, node: (n1.user + n1.system) / 1000 };
      const c1 = await host.counters();
      // The outbox's flushes happen after the claims answered: counted apart from the claim path's own.
      const flushRoundTrips = c1.outboxRoundTrips! - c0.outboxRoundTrips!;
      const flushStatements = c1.outboxStatements! - c0.outboxStatements!;
      return {
        run,
        cpuMs,
        d1RoundTrips: c1.d1RoundTrips! - c0.d1RoundTrips! - flushRoundTrips,
        d1Statements: c1.d1Statements! - c0.d1Statements! - flushStatements,
        flushRoundTrips,
        flushStatements,
        outbox: { pendingAfter: c1.outboxPending!, maxPending: c1.outboxMaxPending!, lagP50: c1.outboxLagP50 ?? null, lagP95: c1.outboxLagP95 ?? null, lagMax: c1.outboxLagMax ?? null },
      };
    };
    type Segment = Awaited<ReturnType<typeof segment>>;
    const combine = (kind: ClaimRunResult["kind"], c: number, segs: Segment[]) => {
      const run: LoadRun = {
        results: segs.flatMap((s) => s.run.results),
        wallMs: segs.reduce((a, s) => a + s.run.wallMs, 0),
        errors: segs.reduce((a, s) => a + s.run.errors, 0),
        cutShort: segs.some((s) => s.run.cutShort),
      };
      return {
        ...summarizeRun(kind, c, run),
        d1RoundTrips: segs.reduce((a, s) => a + s.d1RoundTrips, 0),
        d1Statements: segs.reduce((a, s) => a + s.d1Statements, 0),
        flushRoundTrips: segs.reduce((a, s) => a + s.flushRoundTrips, 0),
        flushStatements: segs.reduce((a, s) => a + s.flushStatements, 0),
        cpuMs: { workerd: segs.reduce((a, s) => a + s.cpuMs.workerd, 0), d1: segs.reduce((a, s) => a + s.cpuMs.d1, 0), node: segs.reduce((a, s) => a + s.cpuMs.node, 0) },
        // The lag samples restart with each concurrency's claim runs, so the last segment's figures cover them all.
        outbox: segs.at(-1)!.outbox,
        segmentsPerSecond: segs.map((s) => (s.run.results.filter((r) => r.status >= 200 && r.status < 300).length / s.run.wallMs) * 1000),
      };
    };
    const measured = async (kind: ClaimRunResult["kind"], c: number, total: number, request: () => LoadRequest) => combine(kind, c, [await segment(c, total, request)]);
    const cpuPer = (r: ClaimRunResult) => `${(r.cpuMs.workerd / r.ok).toFixed(2)} ms, node ${(r.cpuMs.node / r.ok).toFixed(2)} ms`;
    const refLog = (r: ClaimRunResult) =>
      log(
        `claims ${r.kind.padEnd(11)} c=${String(r.concurrency).padStart(3)}: ${r.ok}/${r.sent} ok, ${r.perSecond.toFixed(0)}/s, p50 ${r.latency.p50.toFixed(2)} ms, pool p50 ${r.poolPart?.p50.toFixed(2) ?? "–"} ms, D1 ${r.d1RoundTrips} round trips, CPU per call workerd ${cpuPer(r)}`,
      );

    for (const c of CONCURRENCY) {
      runs.push({ ...(await measured("noop", c, NOOP_PER_RUN, () => ({ method: "GET", path: "/healthz" }))), secondProvisions: 0, rowsClaimed: 0 });
      // One D1 round trip and nothing else: what a single D1 query costs in this runtime.
      runs.push({ ...(await measured("d1one", c, CLAIMS_PER_RUN, () => ({ method: "GET", path: "/_bench/d1-one", headers: auth }))), secondProvisions: 0, rowsClaimed: 0 });
      const doNoop = { ...(await measured("doNoop", c, CLAIMS_PER_RUN, () => ({ method: "POST", path: "/_bench/do-noop", headers: auth, body: "{}" }))), secondProvisions: 0, rowsClaimed: 0 };
      runs.push(doNoop);
      refLog(doNoop);

      // Claim runs sandwiched between claim-floor runs (floor, claims, floor, …, floor): the
      // shared machine's load drifts within seconds, and the ratio is what is compared.
      await reseed();
      await host.counters(true);
      const floorSegs = [await segment(c, CLAIMS_PER_RUN, floorRequest)];
      const claimSegs: Segment[] = [];
      // What a reseed clears, tallied before it: the double-assignment checks cover every claim run.
      const tally = { secondProvisions: 0, rowsClaimed: 0 };
      const count = async () => {
        tally.secondProvisions += [...fake.provisions.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
        tally.rowsClaimed += await countWhere(host.db, "status = 'claimed'");
      };
      for (let i = 0; i < segmentsAt(c); i++) {
        if (i > 0 && i % CLAIM_SEGMENTS === 0) {
          await count();
          await reseed();
        }
        claimSegs.push(await segment(c, CLAIMS_PER_RUN, () => claimCall(auth)));
        floorSegs.push(await segment(c, CLAIMS_PER_RUN, floorRequest));
      }
      await count();
      const coordinator = { ...combine("coordinator", c, claimSegs), ...tally };
      const answers = floorSegs.flatMap((g) => g.run.results.map((r) => JSON.parse(r.body) as { commitSize?: number; commitMs?: number }));
      const mean = (xs: number[]) => xs.reduce((a, n) => a + n, 0) / xs.length;
      const floor = {
        ...combine("floor", c, floorSegs),
        secondProvisions: 0,
        rowsClaimed: 0,
        meanCommitSize: mean(answers.map((a) => Number(a.commitSize ?? NaN))),
        meanCommitMs: mean(answers.map((a) => Number(a.commitMs ?? NaN))),
      };
      runs.push(coordinator, floor);
      refLog(floor);
      log(
        `claims coordinator c=${String(c).padStart(3)}: ${coordinator.ok}/${coordinator.sent} ok, ${coordinator.perSecond.toFixed(0)}/s (segments ${coordinator.segmentsPerSecond.map((x) => x.toFixed(0)).join(", ")}), p50 ${coordinator.latency.p50.toFixed(1)} ms, pool p50 ${coordinator.poolPart?.p50.toFixed(1)} ms, double ${coordinator.doubleAssigned}, rows claimed ${coordinator.rowsClaimed}, D1 ${coordinator.d1RoundTrips} round trips (${coordinator.d1Statements} statements), CPU per claim workerd ${cpuPer(coordinator)}; claim floor segments ${floor.segmentsPerSecond.map((x) => x.toFixed(0)).join(", ")}/s, mean commit size ${floor.meanCommitSize.toFixed(1)}, ${floor.meanCommitMs.toFixed(1)} ms`,
      );

      await reseed();
      const naiveRun = await measured("naive", c, CLAIMS_PER_RUN, () => ({ method: "POST", path: "/_bench/naive-claim", headers: auth, body: "{}" }));
      const naive = {
        ...naiveRun,
        secondProvisions: [...fake.provisions.values()].reduce((a, n) => a + Math.max(0, n - 1), 0),
        rowsClaimed: await countWhere(host.db, "status = 'claimed'"),
      };
      runs.push(naive);
      log(
        `claims naive       c=${String(c).padStart(3)}: ${naive.ok}/${naive.sent} ok, ${naive.perSecond.toFixed(0)}/s, p50 ${naive.latency.p50.toFixed(1)} ms, pool p50 ${naive.poolPart?.p50.toFixed(1)} ms, double ${naive.doubleAssigned}, rows claimed ${naive.rowsClaimed}, D1 ${naive.d1RoundTrips} round trips`,
      );
      const n = runs.find((r) => r.kind === "noop" && r.concurrency === c)!;
      const d = runs.find((r) => r.kind === "d1one" && r.concurrency === c)!;
      log(
        `claims noop        c=${String(c).padStart(3)}: ${n.ok}/${n.sent} ok, ${n.perSecond.toFixed(0)}/s, p50 ${n.latency.p50.toFixed(2)} ms; one-D1 route ${d.perSecond.toFixed(0)}/s, p50 ${d.latency.p50.toFixed(2)} ms`,
      );
    }
    const metricsAfter = await (await fetch(`${host.url}/metrics`, { headers: { authorization: `Bearer ${BENCH_POOL_KEY}` } })).text();
    // The same claims with an Idempotency-Key (a fresh key each), serially: the D1 work a key adds.
    await reseed();
    const keyed = await measured("coordinatorKeyed", 1, KEYED_CLAIMS, () => claimCall({ ...auth, "idempotency-key": `bench-${crypto.randomUUID()}` }));
    runs.push({ ...keyed, secondProvisions: [...fake.provisions.values()].reduce((a, n) => a + Math.max(0, n - 1), 0), rowsClaimed: await countWhere(host.db, "status = 'claimed'") });
    log(`claims keyed       c=  1: ${keyed.ok}/${keyed.sent} ok, ${keyed.perSecond.toFixed(0)}/s, D1 ${keyed.d1RoundTrips} round trips (${keyed.d1Statements} statements)`);
    return { runs, metricsDelta: histogramDelta(metricsBefore, metricsAfter, "pool_claim_pool_seconds"), colocated };
  } finally {
    await host.dispose();
  }
}

/** The /metrics histogram of the pool's part, as a delta over the measured runs (cross-check of Server-Timing). */
function histogramDelta(before: string, after: string, name: string): string {
  const read = (text: string) => {
    const m = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (!line.startsWith(name)) continue;
      const [k, v] = [line.slice(0, line.lastIndexOf(" ")), Number(line.slice(line.lastIndexOf(" ") + 1))];
      m.set(k, v);
    }
    return m;
  };
  const a = read(after);
  const b = read(before);
  return [...a.entries()].map(([k, v]) => `${k} ${+(v - (b.get(k) ?? 0)).toFixed(4)}`).join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { runs, metricsDelta } = await benchClaims();
  console.log(JSON.stringify(runs, null, 1));
  console.log(metricsDelta);
}

/** Claim-floor and claim runs alternating at c=64 (as in benchClaims; 2 × CLAIM_SEGMENTS pairs), with D1 sharing the Worker's workerd thread. */
async function benchColocatedCeiling(log: (s: string) => void): Promise<ColocatedCeiling> {
  const fake = createFakeOutbound();
  const host = await startBenchHost({ outboundService: fake.handle, d1: "local" });
  const auth = { authorization: `Bearer ${BENCH_POOL_KEY}`, "content-type": "application/json" };
  const claim = () => claimCall(auth);
  let n = 0;
  const floor = () => floorCall(`colocated-${++n}`, auth);
  let seedN = 0;
  const reseed = () => seedIdle(host, "l", ++seedN);
  try {
    await reseed();
    await runLoad(host.url, { concurrency: 4, total: 40, maxMs: 10_000, request: floor });
    await runLoad(host.url, { concurrency: 4, total: 40, maxMs: 10_000, request: claim });
    const totals = { claim: { ok: 0, ms: 0, cpu: 0 }, floor: { ok: 0, ms: 0, cpu: 0 } };
    const segment = async (kind: "claim" | "floor") => {
      const w0 = host.workerdCpuSeconds();
      const run = await runLoad(host.url, { concurrency: 64, total: CLAIMS_PER_RUN, maxMs: RUN_MAX_MS, request: kind === "claim" ? claim : floor });
      const t = totals[kind];
      t.ok += run.results.filter((r) => r.status === 200).length;
      t.ms += run.wallMs;
      t.cpu += (host.workerdCpuSeconds() - w0) * 1000;
    };
    await segment("floor");
    for (let i = 0; i < CLAIM_SEGMENTS * 2; i++) {
      if (i === CLAIM_SEGMENTS) await reseed();
      await segment("claim");
      await segment("floor");
    }
    const result = {
      claimsPerSecond: (totals.claim.ok / totals.claim.ms) * 1000,
      floorPerSecond: (totals.floor.ok / totals.floor.ms) * 1000,
      claimCpuMs: totals.claim.cpu / totals.claim.ok,
      floorCpuMs: totals.floor.cpu / totals.floor.ok,
    };
    log(
      `claims with D1 on the Worker's thread c= 64: ${result.claimsPerSecond.toFixed(0)} claims/s, claim floor ${result.floorPerSecond.toFixed(0)}/s, workerd CPU per call ${result.claimCpuMs.toFixed(2)} / ${result.floorCpuMs.toFixed(2)} ms`,
    );
    return result;
  } finally {
    await host.dispose();
  }
}
