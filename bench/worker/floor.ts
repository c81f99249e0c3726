import { DurableObject } from "cloudflare:workers";
import { GroupCommit } from "../../durable-objects/pool-coordinator/group-commit";
import { createInstanceClient } from "../../worker/instances/client";
import { SharedDeadlines } from "../../worker/lib/deadlines";

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

export class BenchFloor extends DurableObject<Env> {
  // The same client and timeouts a claim's provision call goes through (durable-objects/pool-coordinator/context.ts).
  private readonly instances = createInstanceClient({ deadlines: new SharedDeadlines() });
  // The coordinator's own group commit, so the floor commits its writes the way a claim does.
  private readonly commits: GroupCommit;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS floor_claims (id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    this.commits = new GroupCommit(ctx.storage);
  }

  noop(): number {
    return 0;
  }

  async floor(instanceUrl: string, id: string): Promise<FloorAnswer> {
    const t0 = Date.now();
    const commit = await this.commits.measured(() => {
      this.ctx.storage.sql.exec("INSERT INTO floor_claims (id, at) VALUES (?, ?)", id, t0);
    });
    const t1 = Date.now();
    const provisioned = await this.instances.provision(instanceUrl, "bench-floor-token", { agentName: "Bench", instructions: "be brief" });
    const t2 = Date.now();
    return { ok: provisioned.ok, conversationId: provisioned.ok ? provisioned.result.conversationId : null, provisionMs: t2 - t1, totalMs: t2 - t0, commitSize: commit.size, commitMs: commit.ms };
  }
}
