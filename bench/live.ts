import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFakeOutbound } from "./lib/fake-outbound.ts";
import { BENCH_POOL_KEY, startBenchHost } from "./lib/host.ts";
import { serverTiming } from "./lib/load.ts";
import { FAKE_CONVOS, OPENCLAW_INSTALLED, rssKiB, startRuntime, type RuntimeProcess } from "./lib/runtime.ts";
import { clearInstances, GATEWAY_TOKEN, seedRows } from "./lib/seed.ts";
import { summarize, type Summary } from "./lib/stats.ts";
import { ROOT } from "../local/worker-host.ts";

/**
 * 3. Claim to live: real runtime processes (front server + the convos plugin in the stand-in
 * gateway, fake convos CLI) registered as idle rows, claimed through the Worker one at a time.
 * The same runtime build is also called directly (provision on the front server; the plugin's
 * create route) and the fake CLI alone, so the total splits into pool / front server / plugin / CLI.
 *
 * 4. Runtime boot: spawn → first 200 from /pool/health, one at a time, with the stand-in
 * gateway and (when installed) the real OpenClaw gateway; resident memory once idle.
 */
const ROUNDS = 8;
/** Claims on runtimes that register their XMTP identity at claim time (the "before" figure). */
const UNREGISTERED_ROUNDS = 6;
const STUB_BOOTS = 3;
const OPENCLAW_BOOTS = 2;
const BOOT_TIMEOUT_MS = 240_000;
/** A warm-booted gateway keeps loading plugins and reconciling its scheduler for a while after ready. */
const IDLE_SETTLE_MS = 20_000;
const BEFORE_18_TEMPLATE = join(ROOT, "bench/fixtures/openclaw.template.before-issue-18.json");

/** RSS after the instance has sat idle: the median of three samples a second apart. */
async function idleRss(pid: number, settleMs: number): Promise<{ self: number; descendants: number }> {
  await new Promise((r) => setTimeout(r, settleMs));
  const samples: { self: number; descendants: number }[] = [];
  for (let i = 0; i < 3; i++) {
    if (i) await new Promise((r) => setTimeout(r, 1_000));
    samples.push(rssKiB(pid));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[1]!;
  return { self: median(samples.map((s) => s.self)), descendants: median(samples.map((s) => s.descendants)) };
}

export interface LiveResult {
  claimToLive: Summary;
  /** The same claim on runtimes started with CONVOS_PREREGISTER=off: the identity is created and registered by the claim. */
  claimToLiveUnregistered: Summary;
  pool: Summary;
  provisionViaPool: Summary;
  /** The provision call as the Node side of Miniflare's outbound service saw it. */
  provisionAtOutbound: Summary;
  provisionDirect: Summary;
  pluginDirect: Summary;
  cli: Summary;
  claims: number;
  /** Boot of the runtimes used here, started four at a time (section 4 boots them one at a time). */
  bootMs: Summary;
  failures: string[];
}

export interface BootResult {
  gateway: "stub" | "openclaw";
  /** Which openclaw.template.json the instances rendered: the image's, or the one before issue 18. */
  config?: "image" | "before #18";
  boots: number[];
  failed: number;
  frontRssMiB: number;
  gatewayRssMiB: number;
  note?: string;
}

async function inBatches<T>(n: number, size: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += size) out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => make(i + j)))));
  return out;
}

function timeCli(): Promise<number> {
  const home = mkdtempSync(join(tmpdir(), "bench-cli-"));
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(FAKE_CONVOS, ["conversations", "create", "--name", "Bench", "--profile-name", "Bench", "--permissions", "all-members", "--json", "--env", "dev", "--home", home], {
      env: { PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`, HOME: home },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.resume();
    child.stderr.resume();
    child.once("error", reject);
    child.once("exit", (code) => {
      rmSync(home, { recursive: true, force: true });
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`fake convos exited ${code}`));
    });
  });
}

export async function benchLive(log: (s: string) => void = console.error): Promise<LiveResult> {
  const failures: string[] = [];
  // Rounds interleave the four measurements so the machine's load hits them alike; each round
  // uses three fresh runtimes (a runtime binds once) and stops them when done.
  const n = ROUNDS * 3;
  const runtimes = await inBatches(n, 4, (i) => startRuntime({ id: `live${i}`, token: GATEWAY_TOKEN, gateway: "stub", readyTimeoutMs: 60_000 }));
  const unregistered = await inBatches(UNREGISTERED_ROUNDS, 3, (i) =>
    startRuntime({ id: `live-unreg${i}`, token: GATEWAY_TOKEN, gateway: "stub", readyTimeoutMs: 60_000, env: { CONVOS_PREREGISTER: "off" } }),
  );
  const fake = createFakeOutbound({ passLoopback: true });
  const host = await startBenchHost({ outboundService: fake.handle });
  const cli: number[] = [];
  const plugin: number[] = [];
  const provision: number[] = [];
  const e2e: number[] = [];
  const e2eUnregistered: number[] = [];
  const pool: number[] = [];
  const viaPool: number[] = [];
  const post = async (url: string, token: string, body: unknown) => {
    const t0 = performance.now();
    const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await res.text();
    return { res, text, ms: performance.now() - t0 };
  };
  const claim = async (rt: RuntimeProcess) => {
    await seedRows(host.db, [{ id: rt.id, status: "idle", readyAt: Date.now(), lastHealthAt: Date.now(), url: rt.url }]);
    const r = await post(`${host.url}/api/pool/claim`, BENCH_POOL_KEY, { agentName: "Bench", instructions: "be brief" });
    const body = JSON.parse(r.text) as { inviteUrl?: string };
    if (!r.res.ok || !body.inviteUrl) {
      failures.push(`claim answered ${r.res.status} ${r.text.slice(0, 200)}`);
      return null;
    }
    return { ms: r.ms, provision: serverTiming(r.res.headers.get("server-timing") ?? "").provision! };
  };
  try {
    const notReady = runtimes.filter((r) => Number.isNaN(r.readyMs)).length;
    if (notReady) failures.push(`${notReady} of ${n} runtimes did not get ready`);
    await clearInstances(host.db);
    fake.loopbackMs.length = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const [forPool, forProvision, forPlugin] = runtimes.slice(round * 3, round * 3 + 3) as [RuntimeProcess, RuntimeProcess, RuntimeProcess];
      // The fake CLI alone (one process per call, as the plugin runs it).
      cli.push(await timeCli());
      // The plugin's create route, through the front server's proxy to the gateway.
      if (!Number.isNaN(forPlugin.readyMs)) {
        const r = await post(`${forPlugin.url}/convos/conversation`, forPlugin.token, { name: "Bench", profileName: "Bench", env: "dev", instructions: "be brief", permissions: "all-members" });
        r.res.ok ? plugin.push(r.ms) : failures.push(`plugin create answered ${r.res.status}`);
      }
      // The front server's provision (readiness, INSTRUCTIONS.md, then the plugin).
      if (!Number.isNaN(forProvision.readyMs)) {
        const r = await post(`${forProvision.url}/pool/provision`, forProvision.token, { agentName: "Bench", instructions: "be brief" });
        r.res.ok ? provision.push(r.ms) : failures.push(`direct provision answered ${r.res.status}`);
      }
      // Through the pool: one idle row pointing at the runtime, one claim.
      if (!Number.isNaN(forPool.readyMs)) {
        const r = await claim(forPool);
        if (r) {
          e2e.push(r.ms);
          viaPool.push(r.provision);
          pool.push(r.ms - r.provision);
        }
      }
      // The same claim where the identity is still to be registered (as before pre-registration).
      const before = unregistered[round];
      if (before && !Number.isNaN(before.readyMs)) {
        const r = await claim(before);
        if (r) e2eUnregistered.push(r.ms);
        await before.stop();
      }
      await Promise.all([forPool, forProvision, forPlugin].map((rt) => rt.stop()));
    }
    const r: LiveResult = {
      claimToLive: summarize(e2e),
      claimToLiveUnregistered: summarize(e2eUnregistered),
      pool: summarize(pool),
      provisionViaPool: summarize(viaPool),
      provisionAtOutbound: summarize(fake.loopbackMs),
      provisionDirect: summarize(provision),
      pluginDirect: summarize(plugin),
      cli: summarize(cli),
      claims: e2e.length,
      bootMs: summarize(runtimes.map((r) => r.readyMs).filter((x) => !Number.isNaN(x))),
      failures,
    };
    log(
      `claim to live: p50 ${r.claimToLive.p50.toFixed(0)} ms (n=${r.claims}; identity registered at claim time: p50 ${r.claimToLiveUnregistered.p50.toFixed(0)} ms, n=${r.claimToLiveUnregistered.n}); pool ${r.pool.p50.toFixed(0)}, provision via pool ${r.provisionViaPool.p50.toFixed(0)} (at the outbound service ${r.provisionAtOutbound.p50.toFixed(0)}), direct provision ${r.provisionDirect.p50.toFixed(0)}, plugin ${r.pluginDirect.p50.toFixed(0)}, CLI ${r.cli.p50.toFixed(0)}${failures.length ? `; failures: ${failures.join("; ")}` : ""}`,
    );
    return r;
  } finally {
    await host.dispose();
    await Promise.all([...runtimes, ...unregistered].map((r) => r.stop()));
  }
}

export async function benchBoot(log: (s: string) => void = console.error): Promise<BootResult[]> {
  const results: BootResult[] = [];
  const modes: ("stub" | "openclaw")[] = OPENCLAW_INSTALLED ? ["stub", "openclaw"] : ["stub"];
  const runs: { gateway: "stub" | "openclaw"; config: "image" | "before #18" }[] = modes.map((gateway) => ({ gateway, config: "image" }));
  // Idle memory of the image's config (scheduler, quiet heartbeat, gated skills, and whatever
  // else the template configures) against the config the image shipped before issue 18.
  if (OPENCLAW_INSTALLED) runs.push({ gateway: "openclaw", config: "before #18" });
  for (const { gateway, config } of runs) {
    const boots: number[] = [];
    let failed = 0;
    let rss = { self: NaN, descendants: NaN };
    const count = gateway === "stub" ? STUB_BOOTS : config === "image" ? OPENCLAW_BOOTS : 1;
    const env = config === "before #18" ? { OPENCLAW_CONFIG_TEMPLATE: BEFORE_18_TEMPLATE } : undefined;
    for (let i = 0; i < count; i++) {
      let rt: RuntimeProcess | null = null;
      try {
        rt = await startRuntime({ id: `boot-${gateway}-${i}`, token: GATEWAY_TOKEN, gateway, readyTimeoutMs: BOOT_TIMEOUT_MS, env });
        if (Number.isNaN(rt.readyMs)) failed++;
        else boots.push(rt.readyMs);
        if (i === count - 1 && !Number.isNaN(rt.readyMs)) rss = await idleRss(rt.child.pid!, gateway === "openclaw" ? IDLE_SETTLE_MS : 3_000);
      } finally {
        await rt?.stop();
      }
    }
    const r: BootResult = { gateway, config, boots, failed, frontRssMiB: rss.self / 1024, gatewayRssMiB: rss.descendants / 1024 };
    results.push(r);
    log(
      `boot ${gateway} (${config} config): ${boots.map((b) => b.toFixed(0)).join(", ")} ms${failed ? `, ${failed} not ready in ${BOOT_TIMEOUT_MS / 1000} s` : ""}; idle RSS front ${r.frontRssMiB.toFixed(0)} MiB, gateway tree ${r.gatewayRssMiB.toFixed(0)} MiB`,
    );
  }
  if (!OPENCLAW_INSTALLED) results.push({ gateway: "openclaw", boots: [], failed: 0, frontRssMiB: NaN, gatewayRssMiB: NaN, note: "runtime-container/node_modules/openclaw is not installed" });
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const what = process.argv[2] ?? "all";
  if (what === "all" || what === "live") console.log(JSON.stringify(await benchLive(), null, 1));
  if (what === "all" || what === "boot") console.log(JSON.stringify(await benchBoot(), null, 1));
}
