import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../worker/providers/http/token-bucket";

/** A clock the test moves by hand; sleeping advances it. */
function clock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, sleep: async (ms: number) => void (now += ms), advance: (ms: number) => void (now += ms) };
}

describe("token bucket", () => {
  it("spreads a burst over seconds and refuses past the hourly budget without waiting", async () => {
    const c = clock();
    const bucket = new TokenBucket({ perSecond: 10, perHour: 25, now: c.now, sleep: c.sleep });
    const start = c.now();
    for (let i = 0; i < 25; i++) expect(await bucket.take()).toBeNull();
    // 25 requests at 10/s: the last ones waited for the per-second refill.
    expect(c.now() - start).toBeGreaterThanOrEqual(1_400);
    expect(await bucket.take()).toMatch(/hourly request budget \(25\/h\) used up/);
    c.advance(3_600_000 / 25);
    expect(await bucket.take()).toBeNull();
  });

  it("stops at X-RateLimit-Remaining: 0 until the reset, in epoch seconds, epoch ms or seconds from now", async () => {
    for (const reset of [(n: number) => Math.ceil(n / 1000) + 60, (n: number) => n + 60_000, () => 60]) {
      const c = clock();
      const bucket = new TokenBucket({ perSecond: 10, perHour: 1000, now: c.now, sleep: c.sleep });
      bucket.observe(new Headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset(c.now())) }), 200);
      expect(await bucket.take()).toMatch(/rate limited by the provider/);
      c.advance(61_000);
      expect(await bucket.take()).toBeNull();
    }
  });

  it("waits out a short block, refuses a long one", async () => {
    const c = clock();
    const bucket = new TokenBucket({ perSecond: 10, perHour: 1000, now: c.now, sleep: c.sleep, maxWaitMs: 2_000 });
    bucket.blockFor(1_500);
    expect(await bucket.take()).toBeNull();
    bucket.blockFor(30_000);
    expect(await bucket.take()).toMatch(/for another 30 s/);
  });
});
