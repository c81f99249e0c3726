import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../worker/db/client";

type Query = BatchItem<"sqlite"> & PromiseLike<unknown[]>;

/**
 * Group commit for the claim path. A claim needs two D1 writes (reserve, then bind), and a D1
 * round trip costs far more than the statement itself. Statements that arrive while one round
 * trip is in flight go together in the next `db.batch()`: one round trip for many claims, with
 * no added wait for a lone claim (the first statement goes at once).
 *
 * A batch is one transaction, so a statement that fails (two joins of the same invite) rolls
 * back its neighbours; the batch is then replayed one statement at a time, and only the
 * offender sees its error.
 */
export class StatementBatcher {
  private queue: { query: Query; resolve: (rows: unknown[]) => void; reject: (err: unknown) => void }[] = [];
  private flushing = false;

  constructor(
    private readonly db: Database,
    private readonly maxBatch = 100,
  ) {}

  run<T>(query: PromiseLike<T[]> & BatchItem<"sqlite">): Promise<T[]> {
    return new Promise<T[]>((resolve, reject) => {
      this.queue.push({ query: query as unknown as Query, resolve: resolve as (rows: unknown[]) => void, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        if (batch.length === 1) {
          await Promise.resolve(batch[0]!.query).then(batch[0]!.resolve, batch[0]!.reject);
          continue;
        }
        try {
          const results = (await this.db.batch(batch.map((b) => b.query) as [Query, ...Query[]])) as unknown[][];
          batch.forEach((b, i) => {
            b.resolve(results[i] ?? []);
          });
        } catch {
          for (const b of batch) await Promise.resolve(b.query).then(b.resolve, b.reject);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
