import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT } from "../local/worker-host.ts";
import { benchClaims, CEILING_SEGMENTS, CLAIM_SEGMENTS, CLAIMS_PER_RUN, type ColocatedCeiling, IDLE_ROWS, KEYED_CLAIMS, NOOP_PER_RUN, type ClaimRunResult } from "./claims.ts";
import { benchBoot, benchLive, type BootResult, type LiveResult } from "./live.ts";
import { benchSize, type SizeResult } from "./size.ts";
import { benchTick, type TickResult } from "./tick.ts";
import { int, ms } from "./lib/stats.ts";

/**
 * `npm run bench` (all) or `npm run bench -- claims tick live boot size` (some): runs the
 * benchmarks, prints the tables, writes bench/last-run.json and the figures section of
 * bench/README.md. Benchmarks print; they never assert times.
 */
if (process.argv[2] === "profile") {
  const { profileClaims } = await import("./profile.ts");
  await profileClaims(Number(process.argv[3] ?? 64), Number(process.argv[4] ?? 800), process.argv[5] === "floor" ? "floor" : "claim");
  process.exit(0);
}
const ALL = ["size", "claims", "tick", "live", "boot"] as const;
type Section = (typeof ALL)[number];
const asked = process.argv.slice(2).filter((a): a is Section => (ALL as readonly string[]).includes(a));
const sections: readonly Section[] = asked.length ? asked : ALL;
const log = (s: string) => process.stderr.write(`${s}\n`);

const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "?";
  }
};
const pkgVersion = (name: string) => {
  try {
    return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
};

const machine = {
  date: new Date().toISOString(),
  commit: sh("git", ["rev-parse", "--short", "HEAD"]),
  dirtyFiles: sh("git", ["status", "--porcelain"]).split("\n").filter(Boolean).length,
  nproc: sh("nproc", []),
  cpu: cpus()[0]?.model ?? "?",
  memGiB: +(totalmem() / 2 ** 30).toFixed(1),
  kernel: release(),
  node: process.version,
  workerd: pkgVersion("workerd"),
  miniflare: pkgVersion("miniflare"),
  wrangler: pkgVersion("wrangler"),
  loadStart: loadavg(),
  loadEnd: "",
};
log(`bench: ${sections.join(", ")} on ${machine.nproc} cores, ${machine.memGiB} GiB, node ${machine.node}, load ${machine.loadStart}`);

const results: {
  claims?: { runs: ClaimRunResult[]; metricsDelta: string; colocated: ColocatedCeiling };
  tick?: TickResult[];
  live?: LiveResult;
  boot?: BootResult[];
  size?: SizeResult;
  errors: Record<string, string>;
} = {
  errors: {},
};
for (const s of sections) {
  const t0 = performance.now();
  try {
    if (s === "claims") results.claims = await benchClaims(log);
    if (s === "tick") results.tick = await benchTick(log);
    if (s === "live") results.live = await benchLive(log);
    if (s === "boot") results.boot = await benchBoot(log);
    if (s === "size") results.size = await benchSize(log);
  } catch (err) {
    results.errors[s] = (err as Error).stack ?? String(err);
    log(`bench ${s} failed: ${(err as Error).message}`);
  }
  log(`bench ${s}: ${((performance.now() - t0) / 1000).toFixed(0)} s, load ${loadavg()}`);
}
machine.loadEnd = loadavg();

// --- tables ---------------------------------------------------------------------------------
const lines: string[] = [];
const out = (s = "") => lines.push(s);
const verdict = (ok: boolean) => (ok ? "**met**" : "**missed**");

out(
  `Run ${machine.date} at ${machine.commit}${machine.dirtyFiles ? ` (+${machine.dirtyFiles} uncommitted files in the tree)` : ""}: ${machine.nproc} cores (${machine.cpu}), ${machine.memGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, workerd ${machine.workerd}, miniflare ${machine.miniflare}, wrangler ${machine.wrangler}. Load average (1/5/15 min) ${machine.loadStart} at the start, ${machine.loadEnd} at the end.`,
);
out();

if (results.claims) {
  const runs = results.claims.runs;
  const get = (kind: ClaimRunResult["kind"], c: number) => runs.find((r) => r.kind === kind && r.concurrency === c);
  out(
    `### 1. Claims (${IDLE_ROWS.toLocaleString("en-US")} idle rows before each concurrency's claim runs; ${CLAIM_SEGMENTS} × ${CLAIMS_PER_RUN} claims per concurrency, ${CEILING_SEGMENTS} × ${CLAIMS_PER_RUN} at c=64, ${NOOP_PER_RUN} no-op requests)`,
  );
  out();
  out(
    "D1 runs in a workerd process of its own, reached through `bench/worker/remote-d1.ts` one HTTP request per D1 call, as production's D1 is a service apart; among issue 17's measures below, the claim ceiling is repeated with Miniflare's default, D1 on the Worker's thread.",
  );
  out();
  out(
    "| c | no-op req/s | no-op p50 ms | one-D1-query route req/s, p50 ms | claims/s | ÷ no-op | pool part p50 / p95 / p99 ms | coordinator's own p50 / p95 / p99 ms | ok | double-assigned | naive claims/s | naive pool part p50 / p95 ms | naive double-assigned |",
  );
  out("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const c of [...new Set(runs.map((r) => r.concurrency))]) {
    const n = get("noop", c);
    const k = get("coordinator", c);
    const v = get("naive", c);
    const d = get("d1one", c);
    if (!n || !k || !v) continue;
    out(
      `| ${c} | ${int(n.perSecond)} | ${ms(n.latency.p50, 2)} | ${d ? `${int(d.perSecond)}, ${ms(d.latency.p50)}` : "–"} | ${int(k.perSecond)} | ${(k.perSecond / n.perSecond).toFixed(2)} | ${ms(k.poolPart?.p50 ?? NaN)} / ${ms(k.poolPart?.p95 ?? NaN)} / ${ms(k.poolPart?.p99 ?? NaN)} | ${ms(k.poolInternal?.p50 ?? NaN, 0)} / ${ms(k.poolInternal?.p95 ?? NaN, 0)} / ${ms(k.poolInternal?.p99 ?? NaN, 0)} | ${k.ok}/${k.sent} | ${k.doubleAssigned} (rows claimed ${k.rowsClaimed}, second provisions ${k.secondProvisions}) | ${int(v.perSecond)} | ${ms(v.poolPart?.p50 ?? NaN)} / ${ms(v.poolPart?.p95 ?? NaN)} | **${v.doubleAssigned} of ${v.ok}** (${v.uniqueInstances} distinct instances, rows claimed ${v.rowsClaimed}) |`,
    );
  }
  out();
  const n64 = get("noop", 64);
  const k64 = get("coordinator", 64);
  const n1 = get("noop", 1);
  const k1 = get("coordinator", 1);
  if (n64 && k64)
    out(
      `- Earlier target (superseded by issue 17's claim floor) claims/s at c=64 ≥ 0.8 × no-op: ${int(k64.perSecond)} vs ${int(0.8 * n64.perSecond)} → ${verdict(k64.perSecond >= 0.8 * n64.perSecond)} (ratio ${(k64.perSecond / n64.perSecond).toFixed(2)}).`,
    );
  if (n1 && k1?.poolPart)
    out(
      `- Earlier target (superseded by issue 17) serial pool-part p50 within 3 ms of the no-op's p50: ${ms(k1.poolPart.p50)} vs ${ms(n1.latency.p50, 2)} ms (+${ms(k1.poolPart.p50 - n1.latency.p50)}) → ${verdict(k1.poolPart.p50 - n1.latency.p50 <= 3)}.`,
    );
  out();
  out(
    `Reference routes of issue 17, in the same run, per c: the DO RPC no-op, then the claim floor and the claims alternating (floor, claims, floor, …, floor: ${CLAIM_SEGMENTS} claim runs between ${CLAIM_SEGMENTS + 1} floor runs, ${CEILING_SEGMENTS} between ${CEILING_SEGMENTS + 1} at c=64, ${CLAIMS_PER_RUN} requests each, ${IDLE_ROWS.toLocaleString("en-US")} idle rows seeded before every ${CLAIM_SEGMENTS} claim runs), then the naive route. The claim floor is one durable row write in a Durable Object's own SQLite, group-committed across concurrent calls, plus one provision call to the fake instance through the claim's instance client and outbound path (\`bench/worker/floor.ts\`). Rates combine all segments (successes ÷ their summed wall time); the segments' own rates are in brackets. D1 counts are the round trips the Worker and the coordinator made during the claim runs (\`bench/worker/counting-d1.ts\`), ÷ successful claims, without the outbox's flushes, which are counted apart (the bind reaches D1 after the claim answered; \`durable-objects/pool-coordinator/outbox.ts\`). D1 lag: from a bind's commit in the coordinator to D1's acknowledgement, over the concurrency's claims.`,
  );
  out();
  out(
    "| c | DO RPC no-op req/s, p50 ms | claim floor req/s (segments) | claim floor p50 ms, its pool part p50 ms | floor commits: mean writes, mean ms (write → sync) | claims/s (segments) | claims ÷ claim floor | D1 round trips (statements) per claim | outbox flushes: round trips (statements) per claim | D1 lag p50 / p95 / max ms, most pending | workerd CPU ms per call: floor, claim (floor ÷ claim) | naive: D1 round trips per claim |",
  );
  out("|---|---|---|---|---|---|---|---|---|---|---|---|");
  const cpu = (r: ClaimRunResult) => r.cpuMs.workerd / r.ok;
  const seg = (r: ClaimRunResult) => r.segmentsPerSecond.map((x) => int(x)).join(", ");
  const lag = (r: ClaimRunResult) => (r.outbox.lagP50 === null ? "–" : `${int(r.outbox.lagP50)} / ${int(r.outbox.lagP95 ?? NaN)} / ${int(r.outbox.lagMax ?? NaN)}, ${r.outbox.maxPending}`);
  for (const c of [...new Set(runs.map((r) => r.concurrency))]) {
    const o = get("doNoop", c);
    const f = get("floor", c);
    const k = get("coordinator", c);
    const v = get("naive", c);
    if (!o || !f || !k) continue;
    out(
      `| ${c} | ${int(o.perSecond)}, ${ms(o.latency.p50, 2)} | ${int(f.perSecond)} (${seg(f)}) | ${ms(f.latency.p50, 2)}, ${ms(f.poolPart?.p50 ?? NaN, 2)} | ${ms(f.meanCommitSize ?? NaN)}, ${ms(f.meanCommitMs ?? NaN)} | ${int(k.perSecond)} (${seg(k)}) | ${(k.perSecond / f.perSecond).toFixed(2)} | ${(k.d1RoundTrips / k.ok).toFixed(2)} (${(k.d1Statements / k.ok).toFixed(2)}) | ${(k.flushRoundTrips / k.ok).toFixed(2)} (${(k.flushStatements / k.ok).toFixed(2)}) | ${lag(k)} | ${ms(cpu(f), 2)}, ${ms(cpu(k), 2)} (${(cpu(f) / cpu(k)).toFixed(2)}) | ${v ? (v.d1RoundTrips / v.ok).toFixed(2) : "–"} |`,
    );
  }
  out();
  const f64 = get("floor", 64);
  const f1 = get("floor", 1);
  const keyed = runs.find((r) => r.kind === "coordinatorKeyed");
  out("Issue 17's measures (its targets in brackets):");
  out();
  if (k64 && f64)
    out(
      `- Claim ceiling ratio: ${(k64.perSecond / f64.perSecond).toFixed(2)} (${int(k64.perSecond)} claims/s at c=64 ÷ ${int(f64.perSecond)} claim floor req/s, interleaved) [≥ 0.9] → ${verdict(k64.perSecond / f64.perSecond >= 0.9)}`,
    );
  if (k64 && f64)
    out(
      `- workerd CPU per call at c=64: claim ${ms(cpu(k64), 2)} ms, claim floor ${ms(cpu(f64), 2)} ms (floor ÷ claim ${(cpu(f64) / cpu(k64)).toFixed(2)}): the Worker and the coordinator share the workerd process's one busy thread, so the ceiling ratio follows this one, less the machine's drift between segments; D1's own process ${ms(k64.cpuMs.d1 / k64.ok, 2)} ms per claim (the outbox's flushes)`,
    );
  const colocated = results.claims.colocated;
  out(
    `- Claim ceiling ratio with D1 on the Worker's thread (Miniflare's default, not production's layout): ${(colocated.claimsPerSecond / colocated.floorPerSecond).toFixed(2)} (${int(colocated.claimsPerSecond)} ÷ ${int(colocated.floorPerSecond)} req/s at c=64, ${2 * CLAIM_SEGMENTS} claim runs between ${2 * CLAIM_SEGMENTS + 1} floor runs; workerd CPU per call claim ${ms(colocated.claimCpuMs, 2)} ms, floor ${ms(colocated.floorCpuMs, 2)} ms): D1's SQLite work for the flushes then runs on the coordinator's thread`,
  );
  if (k1)
    out(
      `- D1 round trips per claim: ${(k1.d1RoundTrips / k1.ok).toFixed(2)} (serial, c=1: ${k1.d1RoundTrips} round trips carrying ${k1.d1Statements} statements for ${k1.ok} claims; every c is in the table; the outbox's flushes apart: ${k1.flushRoundTrips} round trips carrying ${k1.flushStatements} statements) [0] → ${verdict(k1.d1RoundTrips === 0 && runs.filter((r) => r.kind === "coordinator").every((r) => r.d1RoundTrips === 0))}`,
    );
  if (k64)
    out(
      `- D1 behind the coordinator (outbox) at c=64: lag p50 / p95 / max ${lag(k64).replace(/, (\d+)$/, " ms, at most $1 statements pending")}; ${(k64.flushRoundTrips / k64.ok).toFixed(2)} flush round trips (${(k64.flushStatements / k64.ok).toFixed(2)} statements) per claim, ${k64.outbox.pendingAfter} left unsent after the runs`,
    );
  if (keyed)
    out(`- D1 round trips per claim with an Idempotency-Key: ${(keyed.d1RoundTrips / keyed.ok).toFixed(2)} (serial, ${keyed.ok}/${KEYED_CLAIMS} claims, ${keyed.d1Statements} statements) [0]`);
  if (k1?.poolPart && f1) {
    const floorP50 = f1.latency.p50;
    out(
      `- Serial (c=1) pool part p50 vs claim floor p50: ${ms(k1.poolPart.p50, 2)} ms vs ${ms(floorP50, 2)} ms (×${(k1.poolPart.p50 / floorP50).toFixed(2)}) [≤ ×1.5] → ${verdict(k1.poolPart.p50 <= 1.5 * floorP50)}`,
    );
  }
  out();
  const dbl = runs.filter((r) => r.kind === "coordinator").reduce((a, r) => a + r.doubleAssigned + r.secondProvisions + Math.abs(r.rowsClaimed - r.ok), 0);
  const metric = (name: string) => Number(new RegExp(`^pool_claim_pool_seconds_${name} (\\S+)$`, "m").exec(results.claims?.metricsDelta ?? "")?.[1] ?? NaN);
  const coord = runs.filter((r) => r.kind === "coordinator" && r.poolInternal);
  const ownMean = coord.reduce((a, r) => a + r.poolInternal!.mean * r.poolInternal!.n, 0) / coord.reduce((a, r) => a + r.poolInternal!.n, 0);
  out(
    `- Cross-check: GET /metrics \`pool_claim_pool_seconds\` over the measured runs: ${int(metric("count"))} claims, mean ${ms((metric("sum") / metric("count")) * 1000)} ms; the same claims' \`Server-Timing: pool\` mean ${ms(ownMean)} ms.`,
  );
  out(`- Double assignments through the coordinator, all runs: ${dbl} (every instanceId unique, D1 rows claimed = successes, no instance provisioned twice): ${verdict(dbl === 0)}.`);
  out();
}

if (results.tick) {
  out("### 2. Tick cost (one tick via POST /api/pool/reconcile; mixed states, 1% orphans)");
  out();
  out("| N | tick | wall ms | tick's own ms | workerd CPU ms | D1 round trips (statements) | subrequests | of which list / health / destroy / status / create |");
  out("|---|---|---|---|---|---|---|---|");
  for (const t of results.tick) {
    const k = t.byKind;
    out(
      `| ${int(t.n)} | ${t.phase} | ${int(t.wallMs)} | ${int(t.durationMs)} | ${int(t.workerdCpuMs)} | ${int(t.d1RoundTrips)} (${int(t.d1Statements)}) | ${int(t.subrequests)} | ${k.list ?? 0} / ${k.health ?? 0} / ${k.destroy ?? 0} / ${k.status ?? 0} / ${k.create ?? 0} |`,
    );
  }
  out();
  const at = (n: number, phase: TickResult["phase"]) => results.tick!.find((t) => t.n === n && t.phase === phase);
  const big = results.tick.filter((t) => t.n === Math.max(...results.tick!.map((x) => x.n)));
  const maxSub = Math.max(...big.map((t) => t.subrequests));
  const lists = results.tick.map((t) => t.listCalls);
  out(`- Provider list calls per tick: ${[...new Set(lists)].join(", ")} at every N → ${verdict(Math.max(...lists) <= 1)} (O(pages); the local supervisor answers one page).`);
  out(`- Subrequests per tick at N=${int(big[0]?.n ?? NaN)}: at most ${int(maxSub)} → ${verdict(maxSub < 1000)} (< 1,000).`);
  for (const t of results.tick.filter((x) => x.phase === "settled")) {
    const f = at(t.n, "first");
    const s = at(t.n, "steady");
    out(
      `- D1 per tick at N=${int(t.n)}: settled ${int(t.d1RoundTrips)} round trips carrying ${int(t.d1Statements)} statements; steady ${int(s?.d1RoundTrips ?? NaN)} (${int(s?.d1Statements ?? NaN)}); first ${int(f?.d1RoundTrips ?? NaN)} (${int(f?.d1Statements ?? NaN)}) [issue 17: ≤ 10 round trips on a steady tick] → ${verdict(t.d1RoundTrips <= 10)}.`,
    );
  }
  const f1 = at(1_000, "first");
  const f10 = at(10_000, "first");
  if (f1 && f10) out(`- Wall time N=1,000 → 10,000 (first tick): ×${(f10.wallMs / f1.wallMs).toFixed(1)} for ×10 N → ${verdict(f10.wallMs / f1.wallMs <= 10)}.`);
  out();
}

if (results.live) {
  const l = results.live;
  out(`### 3. Claim to live (real front server + convos plugin in the stand-in gateway + the convos CLI model with the real CLI's costs, FAKE_CONVOS_LATENCY=real; ${l.claims} claims, one at a time)`);
  out();
  out("| what | p50 ms | p95 ms | n |");
  out("|---|---|---|---|");
  const row = (name: string, s: { p50: number; p95: number; n: number }) => out(`| ${name} | ${int(s.p50)} | ${int(s.p95)} | ${s.n} |`);
  row("**claim → invite URL** (POST /api/pool/claim, end to end; identity pre-registered at boot)", l.claimToLive);
  if (l.claimToLiveUnregistered) row("claim → invite URL with the identity registered by the claim (CONVOS_PREREGISTER=off, as before)", l.claimToLiveUnregistered);
  row("pool's part (end to end − provision)", l.pool);
  row("provision as the Worker timed it", l.provisionViaPool);
  row("provision as the outbound service saw it", l.provisionAtOutbound);
  row("front server /pool/provision, called directly", l.provisionDirect);
  row("plugin POST /convos/conversation (through the front proxy)", l.pluginDirect);
  row("CLI model `convos conversations create --json` alone, fresh home (process start + registration + create)", l.cli);
  out();
  out(`- Target p50 < 300 ms: ${int(l.claimToLive.p50)} ms → ${verdict(l.claimToLive.p50 < 300)}.${l.failures.length ? ` Failures: ${l.failures.join("; ")}.` : ""}`);
  out();
}

if (results.boot) {
  out("### 4. Runtime boot (spawn → first 200 from /pool/health, one at a time) and idle memory");
  out();
  out("| gateway | config | boots ms | front server RSS MiB | gateway tree RSS MiB |");
  out("|---|---|---|---|---|");
  for (const b of results.boot) {
    out(
      `| ${b.gateway} | ${b.config ?? "image"} | ${b.note ? b.note : b.boots.map((x) => int(x)).join(", ") + (b.failed ? `; ${b.failed} not ready in time` : "")} | ${int(b.frontRssMiB)} | ${int(b.gatewayRssMiB)} |`,
    );
  }
  if (results.live) out(`\nThe ${results.live.bootMs.n} stand-in runtimes of section 3, started four at a time: p50 ${int(results.live.bootMs.p50)} ms, p95 ${int(results.live.bootMs.p95)} ms.`);
  out();
}

if (results.size) {
  const z = results.size;
  out("### 5. Worker size (`wrangler deploy --dry-run --outdir`)");
  out();
  out(
    `${(z.totalBytes / 1024).toFixed(1)} KiB raw, ${(z.totalGzipBytes / 1024).toFixed(1)} KiB gzip -9; wrangler: "${z.wranglerSays}". Largest parts (unminified): ${z.topInputs.map((i) => `${i.name} ${(i.bytes / 1024).toFixed(0)} KiB`).join(", ")}.`,
  );
  out();
}

for (const [s, e] of Object.entries(results.errors)) out(`**${s} failed:** \`${e.split("\n")[0]}\``);

const table = lines.join("\n");
process.stdout.write(`${table}\n`);
writeFileSync(join(ROOT, "bench/last-run.json"), JSON.stringify({ machine, sections, results }, null, 1));
if (sections.length === ALL.length) {
  const readmePath = join(ROOT, "bench/README.md");
  try {
    const readme = readFileSync(readmePath, "utf8");
    const start = readme.indexOf("<!-- figures:start -->");
    const end = readme.indexOf("<!-- figures:end -->");
    if (start >= 0 && end > start) {
      writeFileSync(readmePath, `${readme.slice(0, start)}<!-- figures:start -->\n${table}\n${readme.slice(end)}`);
      log("bench/README.md figures updated");
    }
  } catch {}
}
