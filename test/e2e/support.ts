import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { isAlive } from "../../local/supervisor/process-table.ts";
import { FAKE_CONVOS_CLI, processesUnder } from "../../local/supervisor/processes.ts";
import { type LocalPool, startSystem } from "../../local/system.ts";
import { waitFor as pollUntil } from "../support/wait.ts";

export const SECRETS = {
  POOL_API_KEY: "e2e-pool-key-0123456789abcdef",
  POOL_ENCRYPTION_KEY: "e2e-encryption-key-0123456789abcdef0123",
  SESSION_SECRET: "e2e-session-secret-0123456789abcdef0123",
  LOCAL_SUPERVISOR_TOKEN: "e2e-supervisor-token-0123456789",
};

/**
 * The whole system on free ports in a scratch state dir: stub gateways, the fake convos CLI
 * whatever the developer's shell points CONVOS_CLI at (no XMTP network here), and alarms out
 * of the way: the test drives every tick through /api/pool/reconcile.
 */
export async function startE2eSystem(name: string, minIdle: number, runtimeEnv: Record<string, string> = {}): Promise<{ pool: LocalPool; stateDir: string }> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), `pool-e2e-${name}-`));
  const pool = await startSystem({
    port: 0,
    supervisorPort: 0,
    stateDir,
    secrets: SECRETS,
    vars: { MIN_IDLE: String(minIdle), MAX_TOTAL: "10", TICK_INTERVAL_MS: "3600000" },
    runtimeEnv: { OPENCLAW_GATEWAY: "stub", CONVOS_CLI: FAKE_CONVOS_CLI, ...runtimeEnv },
  });
  return { pool, stateDir };
}

/** Whatever failed, nothing may keep running and nothing is left on disk. */
export async function stopE2eSystem(pool: LocalPool | undefined, stateDir: string | undefined): Promise<void> {
  await pool?.stop();
  if (!stateDir) return;
  for (const pid of processesUnder(path.join(stateDir, "instances"))) process.kill(pid, "SIGKILL");
  rmSync(stateDir, { recursive: true, force: true });
}

/** Whole-system waits are slower than unit ones: longer default timeout and interval. */
export function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 30_000, intervalMs = 200, explain?: () => Promise<string> | string): Promise<NonNullable<T>> {
  return pollUntil(fn, what, timeoutMs, intervalMs, explain);
}

export interface Agent {
  id: string;
  status: string;
  statusReason: string | null;
  serviceId: string | null;
  url: string | null;
  conversationId: string | null;
  inviteUrl: string | null;
  readyAt: number | null;
  claimStatus: string | null;
  joined: boolean | null;
  degraded: { since: number; reason: string } | null;
}

export async function json<T = any>(res: Response | Promise<Response>): Promise<T> {
  const r = await res;
  const text = await r.text();
  if (!r.ok) throw new Error(`${r.url} answered ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** One reconcile pass, the same the alarm would run. */
export async function tick(pool: LocalPool): Promise<void> {
  await json(pool.api("/api/pool/reconcile", { method: "POST", json: {} }));
}

export async function agents(pool: LocalPool, status?: string): Promise<Agent[]> {
  const q = status ? `?status=${status}&limit=500` : "?limit=500";
  return (await json<{ agents: Agent[] }>(pool.api(`/api/pool/agents${q}`))).agents;
}

export async function agent(pool: LocalPool, id: string): Promise<Agent & { events: { from: string | null; to: string; reason: string | null }[] }> {
  return json(pool.api(`/api/pool/instances/${id}`));
}

/** Ticks until `check` holds, as an operator watching the dashboard would see it happen. */
export async function tickUntil<T>(pool: LocalPool, check: () => Promise<T>, what: string, timeoutMs = 45_000): Promise<NonNullable<T>> {
  return waitFor(
    async () => {
      await tick(pool);
      return check();
    },
    what,
    timeoutMs,
    300,
    async () => JSON.stringify((await agents(pool)).map((a) => ({ id: a.id, status: a.status, reason: a.statusReason }))),
  );
}

/** What the supervisor knows about an instance's service: pid, env, state dir. */
export function serviceOf(pool: LocalPool, a: Agent) {
  if (!a.serviceId) throw new Error(`instance ${a.id} has no service`);
  const svc = pool.processes!.inspect(a.serviceId);
  if (!svc) throw new Error(`the supervisor does not know service ${a.serviceId} of ${a.id}`);
  return svc;
}

/** Calls an instance's own HTTP surface with its gateway token, as the pool and the agent's owner do. */
export async function instanceCall(pool: LocalPool, a: Agent, method: string, route: string, body?: unknown, token?: string | null) {
  const svc = serviceOf(pool, a);
  const bearer = token === undefined ? svc.variables.GATEWAY_TOKEN : token;
  const res = await fetch(`${a.url}${route}`, {
    method,
    headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

export type TranscriptEntry = { kind: string; conversationId?: string; text?: string };

/** The fake convos CLI's record of what the instance did on "XMTP" (CONVOS_HOME under its volume). */
export function transcript(stateDir: string): TranscriptEntry[] {
  const file = path.join(stateDir, "convos", "fake-transcript.ndjson");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TranscriptEntry);
}

export const alive = (pids: Iterable<number>) => [...pids].filter(isAlive);
