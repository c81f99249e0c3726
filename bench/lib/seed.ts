import { BENCH_ENCRYPTION_KEY, type BenchD1 } from "./host.ts";
import { FAKE_BASE } from "./fake-outbound.ts";

/** Rows written straight into D1 (prepared batches), bypassing the pool's create path. */
export interface SeedRow {
  id: string;
  status: string;
  readyAt?: number | null;
  serviceId?: string | null;
  deploymentStatus?: string | null;
  lastHealthAt?: number | null;
  deadlineAt?: number | null;
  claimId?: string | null;
  conversationId?: string | null;
  nextTeardownAt?: number | null;
  /** Defaults to the fake instance under FAKE_BASE. */
  url?: string;
}

export const GATEWAY_TOKEN = "bench-gateway-token";

// worker/crypto/sealed.ts is plain WebCrypto and runs on Node 24 as is; it is imported by a
// computed path only so the Node typecheck (DOM lib) does not re-check a Workers-typed file.
const SEALED = new URL("../../worker/crypto/sealed.ts", import.meta.url).href;
const { seal } = (await import(SEALED)) as { seal(secret: string, plaintext: string, context: string): Promise<string> };

export async function clearInstances(db: BenchD1): Promise<void> {
  await db.batch([db.prepare("DELETE FROM instances"), db.prepare("DELETE FROM instance_events"), db.prepare("DELETE FROM claims")]);
}

export async function seedRows(db: BenchD1, rows: SeedRow[], prefix = "convos-agent"): Promise<void> {
  const now = Date.now();
  const sealed = await Promise.all(rows.map((r) => seal(BENCH_ENCRYPTION_KEY, GATEWAY_TOKEN, r.id)));
  // One statement per chunk, the rows passed as one JSON parameter (json_each): far fewer
  // statements than one INSERT per row, and no bound-parameter limit.
  const cols: [string, (r: SeedRow, i: number) => unknown][] = [
    ["id", (r) => r.id],
    ["status", (r) => r.status],
    ["status_reason", () => "bench seed"],
    ["status_actor", () => "bench"],
    ["status_changed_at", () => now],
    ["deadline_at", (r) => r.deadlineAt ?? null],
    ["created_at", () => now - 3_600_000],
    ["ready_at", (r) => r.readyAt ?? null],
    ["provider", () => "local"],
    ["service_name", (r) => `${prefix}-${r.id}`],
    ["service_id", (r) => r.serviceId ?? null],
    ["url", (r) => r.url ?? `${FAKE_BASE}/inst/${r.id}`],
    ["deployment_status", (r) => r.deploymentStatus ?? null],
    ["last_health_at", (r) => r.lastHealthAt ?? null],
    ["health_failures", () => 0],
    ["gateway_token_sealed", (_r, i) => sealed[i]],
    ["claim_id", (r) => r.claimId ?? null],
    ["conversation_id", (r) => r.conversationId ?? null],
    ["claimed_at", (r) => (r.conversationId ? now - 7_200_000 : null)],
    ["teardown_attempts", () => 0],
    ["next_teardown_at", (r) => r.nextTeardownAt ?? null],
  ];
  const sql = `INSERT OR REPLACE INTO instances (${cols.map(([c]) => c).join(", ")})
    SELECT ${cols.map((_, k) => `json_extract(value, '$[${k}]')`).join(", ")} FROM json_each(?)`;
  const CHUNK = 500;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK).map((r, j) => cols.map(([, get]) => get(r, i + j)));
    // Retried: Miniflare's Node↔workerd proxy has dropped requests under heavy load.
    await retry(() => db.prepare(sql).bind(JSON.stringify(part)).run());
  }
}

async function retry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500 * i));
    }
  }
}

export async function countWhere(db: BenchD1, where: string): Promise<number> {
  const row = await db.prepare(`SELECT count(*) AS n FROM instances WHERE ${where}`).first<{ n: number }>();
  return Number(row?.n ?? 0);
}
