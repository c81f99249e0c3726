// The Worker the benchmarks run: the production app and coordinator plus the benchmark-only
// routes under /_bench and the reference Durable Object. Production deploys worker/index.ts,
// which does not import this. The only other difference: the Worker's and the coordinator's
// D1 binding counts its round trips and statements (./counting-d1.ts), which GET
// /_bench/counters returns.
import { PoolCoordinator as ProductionCoordinator } from "../../durable-objects/pool-coordinator";
import { app } from "../../worker/app";
import worker from "../../worker/index";
import { emptyOutboxStats, outboxView, type OutboxView } from "../../durable-objects/pool-coordinator/outbox";
import { database } from "../../worker/db/client";
import { countingD1, emptyD1Counters, type D1Counters } from "./counting-d1";
import { remoteD1 } from "./remote-d1";
import { benchRoutes } from "./routes";

export { BenchFloor } from "./floor";

// One set of counters per isolate: the Worker and the coordinator run in the same one here.
const counters: D1Counters = ((globalThis as { __benchCounters?: D1Counters }).__benchCounters ??= emptyD1Counters());
const counted = new WeakMap<object, Env>();
function countedEnv(env: Env): Env {
  let wrapped = counted.get(env);
  if (!wrapped) {
    // BENCH_D1: D1 in its own process (bench/lib/host.ts `d1: "remote"`), reached as production reaches D1, one request per call.
    const bench = env as Env & { BENCH_D1?: Fetcher };
    wrapped = { ...env, DB: countingD1(bench.BENCH_D1 ? remoteD1(bench.BENCH_D1) : env.DB, counters) };
    counted.set(env, wrapped);
  }
  return wrapped;
}

/** The production coordinator, unchanged, handed the counting D1 binding. */
export class PoolCoordinator extends ProductionCoordinator {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, countedEnv(env));
  }

  /**
   * The outbox's figures after sending what waits, so a run's D1 round trips can be split into
   * the claim path's own and the flushes'. `reset` starts the lag samples and the high-water
   * mark afresh (per concurrency); the round-trip counters keep counting.
   */
  /** The benchmark replaces D1's rows behind the coordinator's back (a writer no pool has): drop what the queue holds and load D1's idle rows. */
  async benchResync(): Promise<number> {
    await this.outbox.flush();
    this.idleQueue.clear();
    return (await this.idleQueue.refill(database(this.env.DB))).size;
  }

  async benchOutbox(reset = false): Promise<OutboxView & { commits: number; committedWrites: number }> {
    await this.outbox.flush();
    const view = { ...outboxView(this.outbox.stats, this.outbox.pending()), commits: this.commit.stats.commits, committedWrites: this.commit.stats.writes };
    if (reset) {
      this.outbox.stats.lagMs.length = 0;
      this.outbox.stats.maxPending = emptyOutboxStats().maxPending;
    }
    return view;
  }
}

app.route("/_bench", benchRoutes);

export default {
  ...worker,
  fetch: (request, env, ctx) => worker.fetch(request, countedEnv(env), ctx),
  scheduled: (controller, env, ctx) => worker.scheduled(controller, countedEnv(env), ctx),
} satisfies ExportedHandler<Env>;
