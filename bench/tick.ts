import { readFileSync } from "node:fs";
import { createFakeOutbound, diff, FAKE_BASE, type FakeService } from "./lib/fake-outbound.ts";
import { BENCH_POOL_KEY, startBenchHost } from "./lib/host.ts";
import { clearInstances, seedRows, type SeedRow } from "./lib/seed.ts";

/**
 * 2. Tick cost. N instances in mixed states in D1, the same services (plus 1% orphans) in a
 * fake local supervisor, one tick through POST /api/pool/reconcile. Two ticks per N:
 * "first" right after seeding (no deployment status recorded yet, every idle row due for
 * its health re-check: the worst case, e.g. the first tick after an outage) and "steady"
 * right after it (the same pool one tick later); then unmeasured ticks until the backlog the first
 * tick left (health re-checks and teardowns beyond the per-tick caps) is worked off, at most
 * SETTLE_MAX_TICKS, and one more measured tick, "settled": a serving pool's everyday tick. Counted: D1 round trips made anywhere in the isolate,
 * every outbound request by kind, workerd CPU (Linux /proc) and the fake provider's CPU.
 */
export const SIZES = [100, 1_000, 10_000];
const TICK_MAX_MS = 300_000;
const SETTLE_MAX_TICKS = 20;

export interface TickResult {
  n: number;
  phase: "first" | "steady" | "settled";
  wallMs: number;
  durationMs: number;
  workerdCpuMs: number;
  providerCpuMs: number;
  d1RoundTrips: number;
  d1Statements: number;
  subrequests: number;
  byKind: Record<string, number>;
  listCalls: number;
  summary: Record<string, unknown>;
}

/** The state mix: mostly claimed, like a pool that has been serving users for a while. */
function mix(n: number, now: number): { rows: SeedRow[]; services: FakeService[] } {
  const rows: SeedRow[] = [];
  const services: FakeService[] = [];
  const add = (row: SeedRow, svcStatus: FakeService["status"] | null) => {
    rows.push({ serviceId: svcStatus ? `svc-${row.id}` : null, ...row });
    if (svcStatus) services.push({ id: `svc-${row.id}`, name: `convos-agent-${row.id}`, url: `${FAKE_BASE}/inst/${row.id}`, status: svcStatus });
  };
  for (let i = 0; i < n; i++) {
    const id = `t${n}x${i}`;
    const r = (i * 67) % 200; // 0.5% steps, interleaved (67 is coprime with 200)
    if (r < 140)
      add({ id, status: "claimed", conversationId: `conv-${id}`, claimId: `c-${id}` }, r === 0 ? "failed" : "running"); // 70%, 1 in 140 crashed by the provider
    else if (r < 170)
      add({ id, status: "idle", readyAt: now - 3_600_000 + i, lastHealthAt: now - 330_000 - i }, "running"); // 15%, all due for their re-check
    else if (r < 180)
      add({ id, status: "starting", deadlineAt: now + 1_800_000 }, r < 175 ? "running" : "starting"); // 5%, half deployed
    else if (r < 182)
      add({ id, status: "claiming", deadlineAt: now + 1_800_000, claimId: `c-${id}` }, "running"); // 1%, deadline ahead
    else if (r < 188)
      add({ id, status: "crashed" }, "running"); // 3%
    else if (r < 192)
      add({ id, status: "dead" }, "failed"); // 2%
    else if (r < 196)
      add({ id, status: "deleting", nextTeardownAt: r < 194 ? now - 1_000 : now + 600_000 }, "running"); // 2%, half due
    else if (r < 198)
      add({ id, status: "creating", deadlineAt: now + 1_800_000 }, null); // 1%, provider call in flight
    else services.push({ id: `svc-orphan-${id}`, name: `convos-agent-orphan-${id}`, url: `${FAKE_BASE}/inst/orphan-${id}`, status: "running" }); // 1% orphans
  }
  return { rows, services };
}

export async function benchTick(log: (s: string) => void = console.error, tickSource?: string): Promise<TickResult[]> {
  const fake = createFakeOutbound();
  const host = await startBenchHost({
    outboundService: fake.handle,
    vars: { MIN_IDLE: "3", MAX_TOTAL: "10000", MAX_CREATES_PER_TICK: "5" },
    // `--tick-source=<file>`: measure another tick.ts (e.g. `git show <rev>:durable-objects/pool-coordinator/tick.ts`).
    ...(tickSource ? { replace: { "durable-objects/pool-coordinator/tick.ts": tickSource } } : {}),
  });
  const results: TickResult[] = [];
  try {
    for (const n of SIZES) {
      await clearInstances(host.db);
      const { rows, services } = mix(n, Date.now());
      await seedRows(host.db, rows);
      fake.setServices(services);
      // Claimed rows are bound to their recorded conversation, as a serving pool's are.
      fake.setBound(rows.filter((r) => r.status === "claimed" && r.conversationId).map((r) => [r.id, r.conversationId!]));
      const reconcile = async () => {
        const res = await fetch(`${host.url}/api/pool/reconcile`, {
          method: "POST",
          headers: { authorization: `Bearer ${BENCH_POOL_KEY}`, "content-type": "application/json" },
          body: "{}",
          signal: AbortSignal.timeout(TICK_MAX_MS),
        });
        return (await res.json()) as Record<string, unknown>;
      };
      for (const phase of ["first", "steady", "settled"] as const) {
        if (phase === "settled") {
          let settleTicks = 0;
          for (; settleTicks < SETTLE_MAX_TICKS; settleTicks++) {
            const f = fake.snapshot();
            await reconcile();
            const d = diff(fake.snapshot(), f);
            if (!d.destroy && (d.health ?? 0) < 200) break;
          }
          log(`tick N=${String(n).padStart(5)}: ${settleTicks + 1} unmeasured ticks to work off the first tick's backlog`);
        }
        const c0 = await host.counters();
        const f0 = fake.snapshot();
        const w0 = host.workerdCpuSeconds();
        const p0 = process.cpuUsage();
        const t0 = performance.now();
        const summary = await reconcile();
        const wallMs = performance.now() - t0;
        const p = process.cpuUsage(p0);
        const c1 = await host.counters();
        const byKind = diff(fake.snapshot(), f0);
        const r: TickResult = {
          n,
          phase,
          wallMs,
          durationMs: Number(summary.durationMs ?? NaN),
          workerdCpuMs: (host.workerdCpuSeconds() - w0) * 1000,
          providerCpuMs: (p.user + p.system) / 1000,
          d1RoundTrips: c1.d1RoundTrips! - c0.d1RoundTrips!,
          d1Statements: c1.d1Statements! - c0.d1Statements!,
          subrequests: Object.values(byKind).reduce((a, b) => a + b, 0),
          byKind,
          listCalls: byKind.list ?? 0,
          summary,
        };
        results.push(r);
        log(
          `tick N=${String(n).padStart(5)} ${phase.padEnd(6)}: ${wallMs.toFixed(0)} ms wall, ${r.workerdCpuMs.toFixed(0)} ms workerd CPU, ${r.d1RoundTrips} D1 round trips (${r.d1Statements} statements), ${r.subrequests} subrequests ${JSON.stringify(byKind)} load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
        );
      }
    }
  } finally {
    await host.dispose();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const source = process.argv.find((a) => a.startsWith("--tick-source="))?.slice("--tick-source=".length);
  const results = await benchTick(console.error, source);
  console.log(
    JSON.stringify(
      results.map(({ summary, ...r }) => ({ ...r, summary })),
      null,
      1,
    ),
  );
}
