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
  const stmt = db.prepare(
    `INSERT INTO instances (id, status, status_reason, status_actor, status_changed_at, deadline_at, created_at, ready_at, provider,
       service_name, service_id, url, deployment_status, last_health_at, health_failures, gateway_token_sealed, claim_id,
       conversation_id, claimed_at, teardown_attempts, next_teardown_at)
     VALUES (?, ?, 'bench seed', 'bench', ?, ?, ?, ?, 'local', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, 0, ?)`,
  );
  const CHUNK = 400;
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db.batch(
      rows.slice(i, i + CHUNK).map((r, j) =>
        stmt.bind(
          r.id,
          r.status,
          now,
          r.deadlineAt ?? null,
          now - 3_600_000,
          r.readyAt ?? null,
          `${prefix}-${r.id}`,
          r.serviceId ?? null,
          `${FAKE_BASE}/inst/${r.id}`,
          r.deploymentStatus ?? null,
          r.lastHealthAt ?? null,
          sealed[i + j]!,
          r.claimId ?? null,
          r.conversationId ?? null,
          r.conversationId ? now - 7_200_000 : null,
          r.nextTeardownAt ?? null,
        ),
      ),
    );
  }
}

export async function countWhere(db: BenchD1, where: string): Promise<number> {
  const row = await db.prepare(`SELECT count(*) AS n FROM instances WHERE ${where}`).first<{ n: number }>();
  return Number(row?.n ?? 0);
}
