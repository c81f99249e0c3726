/**
 * Deadlines: "call this in `ms` unless cancelled first", for timeouts of outbound calls and the
 * claim's readiness probe.
 *
 * Why not `AbortSignal.timeout`: its timer stays active until it fires, long after the call it
 * guarded has answered, and workerd allows an I/O context 10,000 active timers. A Durable
 * Object's I/O context outlives its requests, so at ~133 claims/s with a 75 s provision timeout
 * the coordinator could set no timer at all: every claim failed until old ones ran out. Here a
 * call that finished cancels its deadline at once.
 */
export interface Deadlines {
  /** Calls `fire` after `ms` unless the returned cancel runs first. */
  after(ms: number, fire: () => void): () => void;
}

/** One timer per deadline, set and cleared in the caller's I/O context: right anywhere, including a stateless Worker's requests. */
export const perCallDeadlines: Deadlines = {
  after(ms, fire) {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  },
};

interface Pending {
  at: number;
  fire: () => void;
}

/**
 * Every deadline on one timer, armed for the earliest. Setting and clearing a workerd timer costs
 * more than the rest of a short call's bookkeeping; here a deadline is a Set entry, and the timer
 * is re-armed only for a deadline earlier than the one it waits for. A cancelled deadline leaves
 * the timer as it is: it fires, finds nothing due, and re-arms for what is left.
 *
 * Only for one long-lived I/O context (a Durable Object's): a timer armed in one stateless
 * request would fire, or be cancelled, with that request, whoever else was waiting on it.
 */
export class SharedDeadlines implements Deadlines {
  private readonly pending = new Set<Pending>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(private readonly now: () => number = Date.now) {}

  after(ms: number, fire: () => void): () => void {
    const entry: Pending = { at: this.now() + ms, fire };
    this.pending.add(entry);
    if (entry.at < this.armedFor) this.arm(entry.at);
    return () => {
      this.pending.delete(entry);
    };
  }

  /** Deadlines not yet fired nor cancelled. */
  get size(): number {
    return this.pending.size;
  }

  private arm(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedFor = at;
    this.timer = setTimeout(() => this.fireDue(), Math.max(0, at - this.now()));
  }

  private fireDue(): void {
    this.timer = null;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.now();
    const due: Pending[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.pending) {
      if (entry.at <= now) due.push(entry);
      else if (entry.at < next) next = entry.at;
    }
    for (const entry of due) this.pending.delete(entry);
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    for (const entry of due) entry.fire();
  }
}

/**
 * An AbortSignal that aborts with a TimeoutError after `ms` (as `AbortSignal.timeout` does), and
 * `clear` to call once the guarded call is over, body read and all.
 */
export function timeoutSignal(deadlines: Deadlines, ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const clear = deadlines.after(ms, () => controller.abort(new DOMException("The operation timed out.", "TimeoutError")));
  return { signal: controller.signal, clear };
}
