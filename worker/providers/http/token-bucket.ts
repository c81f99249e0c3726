/**
 * Client-side budget for a provider's rate limits: a per-second bucket (short waits are
 * absorbed) and a per-hour bucket (an empty one refuses at once, because waiting minutes
 * inside a tick helps nobody). The provider's own word wins: `Retry-After` and an exhausted
 * `X-RateLimit-Remaining` block every call until the given time.
 */
export interface TokenBucketOptions {
  perSecond: number;
  perHour: number;
  /** Longest wait for a per-second token before giving up on this call. */
  maxWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class TokenBucket {
  private secondTokens: number;
  private hourTokens: number;
  private lastRefill: number;
  private blockedUntil = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Requests let through; tests and operators read it. */
  granted = 0;
  denied = 0;

  constructor(private readonly opts: TokenBucketOptions) {
    if (!(opts.perSecond > 0) || !(opts.perHour > 0)) throw new Error("rate budget must be positive");
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
    this.secondTokens = opts.perSecond;
    this.hourTokens = opts.perHour;
    this.lastRefill = this.now();
  }

  /** Takes one token; returns why the request must not be sent, or null when it may. */
  async take(): Promise<string | null> {
    const maxWait = this.opts.maxWaitMs ?? 2_000;
    for (;;) {
      this.refill();
      const now = this.now();
      if (this.blockedUntil > now) {
        const wait = this.blockedUntil - now;
        if (wait > maxWait) return this.deny(`rate limited by the provider for another ${Math.ceil(wait / 1000)} s`);
        await this.sleep(wait);
        continue;
      }
      if (this.hourTokens < 1) {
        const wait = Math.ceil(((1 - this.hourTokens) * 3_600_000) / this.opts.perHour);
        return this.deny(`hourly request budget (${this.opts.perHour}/h) used up; next request in ${Math.ceil(wait / 1000)} s`);
      }
      if (this.secondTokens < 1) {
        const wait = Math.ceil(((1 - this.secondTokens) * 1000) / this.opts.perSecond);
        if (wait > maxWait) return this.deny(`per-second request budget (${this.opts.perSecond}/s) used up`);
        await this.sleep(wait);
        continue;
      }
      this.secondTokens -= 1;
      this.hourTokens -= 1;
      this.granted++;
      return null;
    }
  }

  blockFor(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
  }

  /** Reads `X-RateLimit-Remaining`/`-Reset` so a drained provider budget stops us too. */
  observe(headers: Headers, status: number): void {
    const remaining = headers.get("x-ratelimit-remaining");
    const reset = Number(headers.get("x-ratelimit-reset"));
    if (remaining !== null && Number(remaining) <= 0 && Number.isFinite(reset) && reset > 0) {
      // Epoch milliseconds, epoch seconds, or (some providers) seconds from now.
      const resetMs = reset > 1e12 ? reset : reset > 1e9 ? reset * 1000 : this.now() + reset * 1000;
      if (resetMs > this.now()) this.blockedUntil = Math.max(this.blockedUntil, resetMs);
    }
    if (status === 429 && remaining === null && this.blockedUntil <= this.now()) {
      // A bare 429: drop what we thought we had left this second.
      this.secondTokens = Math.min(this.secondTokens, 0);
    }
  }

  snapshot() {
    this.refill();
    return {
      perSecond: this.opts.perSecond,
      perHour: this.opts.perHour,
      hourRemaining: Math.floor(this.hourTokens),
      blockedUntil: this.blockedUntil > this.now() ? this.blockedUntil : null,
      granted: this.granted,
      denied: this.denied,
    };
  }

  private deny(reason: string): string {
    this.denied++;
    return reason;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.lastRefill);
    this.lastRefill = now;
    this.secondTokens = Math.min(this.opts.perSecond, this.secondTokens + (elapsed * this.opts.perSecond) / 1000);
    this.hourTokens = Math.min(this.opts.perHour, this.hourTokens + (elapsed * this.opts.perHour) / 3_600_000);
  }
}
