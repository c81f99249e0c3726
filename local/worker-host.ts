import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type BuildOptions } from "esbuild";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

/**
 * Runs the pool Worker on this machine with Miniflare's API: the same workerd, D1 and
 * Durable Objects as `wrangler dev`, configured from wrangler.toml, with the migrations
 * applied on start. Used by `npm start`, the browser and end-to-end suites and the benchmarks.
 */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface WorkerHostOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Keep D1 and Durable Object state here between runs; in memory when absent. */
  persistDir?: string;
  /** Vars and secrets layered over wrangler.toml's `[vars]`. */
  vars?: Record<string, string>;
  /** Answers the Worker's outbound fetches (fakes); real network when absent. */
  outboundService?: (request: Request) => Promise<Response> | Response;
  /** wrangler.toml environment to take vars and bindings from. */
  environment?: string;
  verbose?: boolean;
}

export interface WorkerHost {
  url: URL;
  mf: Miniflare;
  dispose(): Promise<void>;
}

/** How the Worker is bundled for Miniflare (the same shape wrangler builds); benchmarks extend it. */
export const WORKER_BUILD: BuildOptions = {
  entryPoints: [join(ROOT, "worker/index.ts")],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2024",
  conditions: ["workerd", "worker", "browser"],
  external: ["cloudflare:*", "node:*"],
  jsx: "automatic",
  jsxImportSource: "hono/jsx",
  // The pool ↔ runtime contract lives in runtime-container/ and would otherwise bring that
  // package's copy of zod into the bundle beside ours (wrangler.toml's [alias] says the same).
  alias: { zod: "./node_modules/zod/index.js" },
  absWorkingDir: ROOT,
  logLevel: "warning",
};

export async function bundleWorker(outfile = join(ROOT, ".local/build/worker.mjs"), extra: BuildOptions = {}): Promise<string> {
  await build({ ...WORKER_BUILD, ...extra, outfile });
  return outfile;
}

/**
 * Bindings, Durable Objects, D1 and compatibility settings from wrangler.toml, in Miniflare's
 * shape. Secrets are left to the caller: wrangler would otherwise add the checkout's .dev.vars,
 * and a developer's real provider keys would reach test and benchmark Workers. Naming an env
 * file that does not exist turns that lookup off.
 */
export function wranglerWorkerOptions(environment?: string) {
  const noDevVars = { envFiles: [join(ROOT, ".local/no-dev-vars")] } as Parameters<typeof unstable_getMiniflareWorkerOptions>[2];
  return unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml"), environment, noDevVars).workerOptions;
}

export async function startWorkerHost(opts: WorkerHostOptions = {}): Promise<WorkerHost> {
  const scriptPath = await bundleWorker();
  const workerOptions = wranglerWorkerOptions(opts.environment);
  const persist = opts.persistDir;
  const { modulesRules: _rules, ...fromWrangler } = workerOptions as Record<string, unknown>;
  const v4 = {
    ...fromWrangler,
    modules: true,
    scriptPath,
    bindings: { ...((workerOptions as { bindings?: object }).bindings ?? {}), ...(opts.vars ?? {}) },
    host: "127.0.0.1",
    // No network here: do not fetch the real `request.cf` object.
    cf: false,
    port: opts.port ?? 0,
    ...(persist ? { resourcePersistencePath: persist } : {}),
    log: new Log(opts.verbose ? LogLevel.INFO : LogLevel.WARN),
    ...(opts.outboundService ? { outboundService: opts.outboundService as never } : {}),
  };
  const mf = new Miniflare(convertV4MiniflareOptions(v4 as Parameters<typeof convertV4MiniflareOptions>[0]));
  const url = await mf.ready;
  await applyMigrations(await mf.getD1Database("DB"));
  return { url, mf, dispose: () => mf.dispose() };
}

/** Applies drizzle-kit's migrations in order, recording them like `wrangler d1 migrations apply`. */
export async function applyMigrations(db: D1Like): Promise<string[]> {
  await db.prepare("CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)").run();
  const applied = new Set(((await db.prepare("SELECT name FROM d1_migrations").all()).results as { name: string }[]).map((r) => r.name));
  const dir = join(ROOT, "migrations");
  const files = (await readdir(dir)).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
  const done: string[] = [];
  for (const file of files) {
    if (applied.has(file)) continue;
    const sql = await readFile(join(dir, file), "utf8");
    const statements = sql
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter((s) => s.replace(/--.*$/gm, "").trim() !== "");
    await db.batch([...statements.map((s) => db.prepare(s)), db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(file)]);
    done.push(file);
  }
  return done;
}

interface D1Like {
  prepare(sql: string): { bind(...v: unknown[]): unknown; run(): Promise<unknown>; all(): Promise<{ results: unknown[] }> };
  batch(statements: unknown[]): Promise<unknown>;
}
