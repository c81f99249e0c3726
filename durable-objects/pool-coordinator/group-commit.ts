interface Pending {
  write: () => unknown;
  resolve: (result: Committed<unknown>) => void;
  reject: (err: unknown) => void;
}

/** A write's result, with the commit it went in: how many writes shared it and ms from its start to durable. */
export interface Committed<T> {
  value: T;
  size: number;
  ms: number;
}

/**
 * Group commit for the coordinator's own SQLite. Each Durable Object turn that writes is its own
 * commit (an fsync), and workerd does not merge commits across RPCs: concurrent claims would
 * each pay one. Writes handed in here run synchronously, together, in one transaction: a lone
 * write commits at once, writes that arrive while a commit is in flight go in the next one.
 * Each caller's promise settles once its write is durable.
 *
 * A write is a synchronous function, so what it reads and writes (the idle queue, the outbox)
 * cannot interleave with another claim's: taking the next idle instance inside it is safe.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private committing = false;
  /** Commits made and the writes they carried: each commit costs the coordinator about as much CPU as a claim's own work. */
  readonly stats = { commits: 0, writes: 0 };

  /** `onFailure`: a commit failed; state kept in memory beside the storage (the outbox's queue) may hold what its rolled-back writes added. */
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly onFailure: () => void = () => {},
  ) {}

  async run<T>(write: () => T): Promise<T> {
    return (await this.measured(write)).value;
  }

  /** As `run`, with the commit's size and duration (for the benchmark's claim floor). */
  measured<T>(write: () => T): Promise<Committed<T>> {
    return new Promise<Committed<T>>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (result: Committed<unknown>) => void, reject });
      if (!this.committing) void this.commit();
    });
  }

  private async commit(): Promise<void> {
    this.committing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        this.stats.commits++;
        this.stats.writes += batch.length;
        const started = performance.now();
        const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
        try {
          this.storage.transactionSync(() => {
            for (const p of batch) {
              try {
                results.push({ ok: true, value: p.write() });
              } catch (error) {
                results.push({ ok: false, error });
              }
            }
          });
          await this.storage.sync();
        } catch (err) {
          this.onFailure();
          for (const p of batch) p.reject(err);
          continue;
        }
        const ms = performance.now() - started;
        batch.forEach((p, i) => {
          const r = results[i]!;
          if (r.ok) p.resolve({ value: r.value, size: batch.length, ms });
          else p.reject(r.error);
        });
        // The output gate holds every outgoing message until the writes made before it are
        // durable: let the callers just committed send their provision calls before the next
        // commit's writes start, or each would wait for that commit as well.
        await new Promise((r) => setTimeout(r, 0));
      }
    } finally {
      this.committing = false;
    }
  }
}
