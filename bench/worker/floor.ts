import { DurableObject } from "cloudflare:workers";
import { createInstanceClient } from "../../worker/instances/client";

/**
 * The benchmark's reference Durable Object (issue 17): what a coordinated, durable claim cannot
 * avoid, and nothing else. `floor()` is the claim floor: one durable write of one row in this
 * object's own SQLite, group-committed with the writes of concurrent calls, then the one
 * provision call to the (fake) instance through the same instance client and outbound path a
 * claim uses, then the answer. `noop()` is the bare Worker → Durable Object RPC.
 * Bench-only: exported by bench/worker/entry.ts, bound as BENCH_FLOOR by bench/lib/host.ts.
 */
export interface FloorAnswer {
  ok: boolean;
  conversationId: string | null;
  /** ms spent in the provision call, for Server-Timing (the claim reports the same split). */
  provisionMs: number;
  totalMs: number;
  /** How many writes shared this call's commit. */
  commitSize: number;
  /** ms from that commit's first write to `storage.sync()` resolving. */
  commitMs: number;
}

interface PendingWrite {
  id: string;
  at: number;
  resolve: (commit: { size: number; ms: number }) => void;
  reject: (err: unknown) => void;
}

export class BenchFloor extends DurableObject<Env> {
  private readonly instances = createInstanceClient();
  private queue: PendingWrite[] = [];
  private committing = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS floor_claims (id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
  }

  noop(): number {
    return 0;
  }

  async floor(instanceUrl: string, id: string): Promise<FloorAnswer> {
    const t0 = Date.now();
    const commit = await this.durableWrite(id, t0);
    const t1 = Date.now();
    const provisioned = await this.instances.provision(instanceUrl, "bench-floor-token", { agentName: "Bench", instructions: "be brief" });
    const t2 = Date.now();
    return { ok: provisioned.ok, conversationId: provisioned.ok ? provisioned.result.conversationId : null, provisionMs: t2 - t1, totalMs: t2 - t0, commitSize: commit.size, commitMs: commit.ms };
  }

  /**
   * Each Durable Object turn that writes is its own SQLite commit (an fsync), and workerd does not
   * merge commits across RPCs, so writes are grouped here the way StatementBatcher groups D1
   * statements: a lone write commits at once; writes that arrive while a commit is in flight go
   * together in the next one. Resolves once the write is durable (`storage.sync()`).
   */
  private durableWrite(id: string, at: number): Promise<{ size: number; ms: number }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id, at, resolve, reject });
      if (!this.committing) void this.commit();
    });
  }

  private async commit(): Promise<void> {
    this.committing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        const started = performance.now();
        try {
          this.ctx.storage.transactionSync(() => {
            for (const w of batch) this.ctx.storage.sql.exec("INSERT INTO floor_claims (id, at) VALUES (?, ?)", w.id, w.at);
          });
          await this.ctx.storage.sync();
          const commit = { size: batch.length, ms: performance.now() - started };
          for (const w of batch) w.resolve(commit);
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
        // The output gate holds every outgoing message until all writes made before it are
        // durable: let the callers just committed send their provision calls before the next
        // commit's writes start, or each would wait for the following commit as well.
        await new Promise((r) => setTimeout(r, 0));
      }
    } finally {
      this.committing = false;
    }
  }
}
