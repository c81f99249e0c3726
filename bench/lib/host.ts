import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Plugin } from "esbuild";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { applyMigrations, bundleWorker, ROOT, wranglerWorkerOptions } from "../../local/worker-host.ts";
import { transformSync } from "esbuild";

/**
 * The Worker as local/worker-host.ts runs it (Miniflare's API, wrangler.toml bindings,
 * migrations applied), built from the benchmark's own entry (bench/worker/entry.ts): the
 * production app and coordinator with their D1 binding counting round trips and statements
 * (GET /_bench/counters), the /_bench routes and the reference Durable Object (BENCH_FLOOR).
 * Outbound fetches all go to `outboundService`, so nothing leaves this machine.
 */
/** The D1 binding as Miniflare hands it to Node. */
export type BenchD1 = Awaited<ReturnType<Miniflare["getD1Database"]>>;

export const BENCH_POOL_KEY = "bench-pool-key-0123456789abcdef";
export const BENCH_ENCRYPTION_KEY = "bench-encryption-key-0123456789abcdef";

/** Builds with one module's source taken from another file (e.g. an older tick.ts for a before/after comparison). */
function substitute(replace: Record<string, string>): Plugin {
  return {
    name: "bench-substitute",
    setup(b) {
      for (const [suffix, file] of Object.entries(replace)) {
        const filter = new RegExp(`${suffix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\//g, "[\\\\/]")}$`);
        b.onLoad({ filter }, (args) => ({ loader: "ts", resolveDir: dirname(args.path), contents: readFileSync(file, "utf8") }));
      }
    },
  };
}

export function bundleBenchWorker(outfile = join(ROOT, "bench/.out/worker.mjs"), replace: Record<string, string> = {}): Promise<string> {
  return bundleWorker(outfile, { entryPoints: [join(ROOT, "bench/worker/entry.ts")], plugins: [substitute(replace)] });
}

export interface BenchHost {
  url: string;
  mf: Miniflare;
  db: BenchD1;
  /** GET with the pool key; JSON body. */
  getJson<T>(path: string): Promise<T>;
  postJson<T>(path: string, body: unknown): Promise<{ status: number; body: T; ms: number }>;
  /** D1 counters and the coordinator's outbox figures (after a flush); `reset` restarts the outbox's lag samples. */
  counters(reset?: boolean): Promise<Record<string, number>>;
  /** CPU seconds (user+system) the Worker's workerd process has used so far (Linux /proc), or NaN. */
  workerdCpuSeconds(): number;
  /** The same for D1's own process when it runs apart (`d1: "remote"`); 0 when D1 shares the Worker's. */
  d1CpuSeconds(): number;
  dispose(): Promise<void>;
}

export async function startBenchHost(opts: {
  vars?: Record<string, string>;
  outboundService: (request: Request) => Promise<Response> | Response;
  /** Module path suffix → file whose source replaces it in the bundle. */
  replace?: Record<string, string>;
  /** Opens V8's inspector on this port (bench/profile.ts). */
  inspectorPort?: number;
  /**
   * "remote": D1 in a second workerd process, as production's D1 is a service of its own
   * (bench/worker/remote-d1.ts says why); "local" (the default): Miniflare's D1 on the Worker's own thread.
   */
  d1?: "local" | "remote";
}): Promise<BenchHost> {
  // BENCH_REPLACE="<module path suffix>=<file>,…" swaps modules for an experiment without touching the tree.
  const fromEnv = Object.fromEntries(
    (process.env.BENCH_REPLACE ?? "")
      .split(",")
      .filter(Boolean)
      .map((kv) => kv.split("=") as [string, string]),
  );
  const scriptPath = await bundleBenchWorker(undefined, { ...fromEnv, ...(opts.replace ?? {}) });
  const workerOptions = wranglerWorkerOptions();
  const { modulesRules: _rules, d1Databases, ...fromWrangler } = workerOptions as Record<string, unknown>;
  const remote = opts.d1 === "remote" ? await startRemoteD1(String(fromWrangler.compatibilityDate)) : null;
  const before = new Set(workerdPids());
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      ...fromWrangler,
      modules: true,
      scriptPath,
      durableObjects: {
        ...((workerOptions as { durableObjects?: object }).durableObjects ?? {}),
        BENCH_FLOOR: { className: "BenchFloor", useSQLite: true },
      },
      // With D1 apart this process has none: every D1 call goes through BENCH_D1 (bench/worker/entry.ts).
      ...(remote ? { serviceBindings: { BENCH_D1: { external: { address: remote.address, http: {} } } } } : { d1Databases }),
      bindings: {
        ...((workerOptions as { bindings?: object }).bindings ?? {}),
        POOL_API_KEY: BENCH_POOL_KEY,
        POOL_ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY,
        SESSION_SECRET: "bench-session-secret-0123456789abcdef",
        LOCAL_SUPERVISOR_TOKEN: "bench-supervisor-token",
        COMPUTE_PROVIDER: "local",
        LOCAL_SUPERVISOR_URL: "http://127.0.0.1:9/sup",
        // No tick during claim runs unless a benchmark asks for one.
        TICK_INTERVAL_MS: "3600000",
        MIN_IDLE: "0",
        MAX_TOTAL: "10000",
        ...(opts.vars ?? {}),
      },
      host: "127.0.0.1",
      cf: false,
      port: 0,
      ...(opts.inspectorPort ? { inspectorPort: opts.inspectorPort } : {}),
      log: new Log(LogLevel.WARN),
      // The Worker's own info logs (e.g. one line per orphan deleted) would bury the tables: keep warnings and errors only.
      handleStructuredLogs: (l: { level?: string; message?: string }) => {
        if (l.level === "warn" || l.level === "error") process.stderr.write(`[worker] ${l.message ?? ""}\n`);
      },
      outboundService: opts.outboundService as never,
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const db = remote ? remote.db : await mf.getD1Database("DB");
  await applyMigrations(db as never);
  const pid = workerdPids().find((p) => !before.has(p));
  const auth = { authorization: `Bearer ${BENCH_POOL_KEY}` };
  return {
    url,
    mf,
    db,
    async getJson<T>(path: string) {
      const res = await fetch(`${url}${path}`, { headers: auth });
      if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as T;
    },
    async postJson<T>(path: string, body: unknown) {
      const t0 = performance.now();
      const res = await fetch(`${url}${path}`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as T, ms: performance.now() - t0 };
    },
    async counters(reset = false) {
      const res = await fetch(`${url}/_bench/counters${reset ? "?reset=1" : ""}`, { headers: auth });
      return (await res.json()) as Record<string, number>;
    },
    workerdCpuSeconds: () => cpuSeconds(pid),
    d1CpuSeconds: () => (remote ? cpuSeconds(remote.pid) : 0),
    dispose: async () => {
      await mf.dispose();
      await remote?.mf.dispose();
    },
  };
}

/** A second Miniflare whose Worker runs forwarded D1 calls on its own D1 (`serveRemoteD1`, bench/worker/remote-d1.ts). */
async function startRemoteD1(compatibilityDate: string) {
  const before = new Set(workerdPids());
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: transformSync(readFileSync(join(ROOT, "bench/worker/remote-d1.ts"), "utf8"), { loader: "ts", format: "esm" }).code,
      compatibilityDate,
      d1Databases: { DB: "bench-remote-d1" },
      host: "127.0.0.1",
      port: 0,
      cf: false,
      log: new Log(LogLevel.WARN),
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  const url = new URL(await mf.ready);
  return { mf, address: `127.0.0.1:${url.port}`, db: await mf.getD1Database("DB"), pid: workerdPids().find((p) => !before.has(p)) };
}

function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function workerdPids(): number[] {
  const out: number[] = [];
  try {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const ppid = Number(stat.split(") ")[1]!.split(" ")[1]);
        if (comm.startsWith("workerd") && ppid === process.pid) out.push(Number(name));
      } catch {}
    }
  } catch {}
  return out;
}
