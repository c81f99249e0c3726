import { describe, expect, it } from "vitest";
import { breakerAllows, breakerPhase, closedBreaker, probeLimit, recordFailure, recordSuccess } from "../../worker/domain/breaker";
import { bulkTransitionSet } from "../../worker/domain/bulk-transition";
import { returnsToPool } from "../../worker/domain/failed-claim";
import { checkJoinUrl as checkInviteUrl } from "../../worker/domain/invite-url";
import { canTransition, deadlineFor, failureStatus, INSTANCE_STATUSES, teardownBackoffMs, type InstanceStatus } from "../../worker/domain/lifecycle";
import { decideOperatorReplenish, decideReplenish, emptyCounts, liveCount, type StatusCounts } from "../../worker/domain/replenish";
import { defaultSettings, mergeSettings } from "../../worker/domain/settings";

describe("lifecycle transitions (SPEC §3)", () => {
  const allowed: [InstanceStatus, InstanceStatus][] = [
    ["creating", "starting"],
    ["starting", "idle"],
    ["idle", "claiming"],
    ["claiming", "claimed"],
    ["claiming", "idle"],
    ["claiming", "crashed"],
    ["claimed", "crashed"],
    ["creating", "dead"],
    ["starting", "dead"],
    ["idle", "dead"],
    ["dead", "deleting"],
    ["crashed", "deleting"],
    ["claimed", "deleting"],
    ["deleting", "deleted"],
  ];
  it.each(allowed)("%s → %s is allowed", (from, to) => expect(canTransition(from, to)).toBe(true));

  const refused: [InstanceStatus, InstanceStatus][] = [
    ["idle", "claimed"], // a claim always goes through the reservation
    ["claimed", "idle"], // a bound instance never returns to the pool
    ["claimed", "dead"], // user-facing failures are crashes, kept for the operator
    ["crashed", "idle"],
    ["dead", "idle"],
    ["deleted", "creating"],
    ["deleting", "idle"],
    ["creating", "idle"],
  ];
  it.each(refused)("%s → %s is refused", (from, to) => expect(canTransition(from, to)).toBe(false));

  it("every state but deleted can be torn down", () => {
    for (const s of INSTANCE_STATUSES) {
      if (s === "deleted" || s === "deleting") continue;
      expect(canTransition(s, "deleting") || canTransition(s, "dead") || canTransition(s, "crashed")).toBe(true);
    }
  });

  it("failures of user-facing instances are crashes, others are dead", () => {
    expect(failureStatus("claimed")).toBe("crashed");
    expect(failureStatus("claiming")).toBe("crashed");
    expect(failureStatus("idle")).toBe("dead");
    expect(failureStatus("starting")).toBe("dead");
  });

  it("transient states get deadlines, stable ones none", () => {
    const s = { stuckTimeoutMs: 900_000, claimTimeoutMs: 120_000 };
    expect(deadlineFor("creating", 1000, s)).toBe(901_000);
    expect(deadlineFor("starting", 1000, s)).toBe(901_000);
    expect(deadlineFor("claiming", 1000, s)).toBe(121_000);
    expect(deadlineFor("idle", 1000, s)).toBeNull();
    expect(deadlineFor("claimed", 1000, s)).toBeNull();
  });

  it("teardown retries back off exponentially up to a cap", () => {
    expect([1, 2, 3, 4].map((n) => teardownBackoffMs(n))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(teardownBackoffMs(50)).toBe(15 * 60_000);
  });
});

describe("replenish decisions", () => {
  const settings = { minIdle: 3, maxTotal: 10, maxCreatesPerTick: 5 };
  const counts = (c: Partial<StatusCounts>) => ({ ...emptyCounts(), ...c });
  const cases: [string, Partial<StatusCounts>, number, number, string][] = [
    ["empty pool fills to minIdle", {}, 0, 3, "none"],
    ["full pool creates nothing", { idle: 3 }, 0, 0, "none"],
    ["instances on the way count toward the target", { idle: 1, starting: 1, creating: 1 }, 0, 0, "none"],
    ["claimed instances do not count as available", { idle: 1, claimed: 4 }, 0, 2, "none"],
    ["never exceeds maxTotal", { idle: 0, claimed: 9 }, 0, 1, "maxTotal"],
    ["at maxTotal nothing is created", { claimed: 10 }, 0, 0, "maxTotal"],
    ["the buffer follows recent claims", { idle: 3 }, 12, 3, "none"],
    ["creates per tick are capped", { claimed: 0 }, 30, 5, "maxCreatesPerTick"],
  ];
  it.each(cases)("%s", (_name, c, recentClaims, create, limitedBy) => {
    const d = decideReplenish({ counts: counts(c), settings, recentClaims, breakerOpen: false });
    expect(d.create).toBe(create);
    expect(d.limitedBy).toBe(limitedBy);
  });

  it("an open breaker stops creation and says so", () => {
    expect(decideReplenish({ counts: counts({}), settings, recentClaims: 0, breakerOpen: true })).toMatchObject({ create: 0, limitedBy: "breaker" });
  });
});

describe("circuit breaker", () => {
  const s = { breakerThreshold: 3, breakerBackoffMs: 60_000 };
  it("opens after the threshold of consecutive failures and backs off exponentially", () => {
    let b = closedBreaker;
    b = recordFailure(b, 0, "boom", s);
    b = recordFailure(b, 1, "boom", s);
    expect(breakerPhase(b, 2)).toBe("closed");
    b = recordFailure(b, 2, "boom", s);
    expect(breakerPhase(b, 3)).toBe("open");
    expect(b.openUntil).toBe(2 + 60_000);
    expect(breakerAllows(b, 3)).toBe(false);
    // After the backoff one probe may go; if it fails the breaker reopens for twice as long.
    expect(breakerPhase(b, 60_003)).toBe("half-open");
    b = recordFailure(b, 60_003, "still broken", s);
    expect(b.openUntil).toBe(60_003 + 120_000);
    expect(b.lastError).toBe("still broken");
  });

  it("closes on the first success", () => {
    let b = closedBreaker;
    for (let i = 0; i < 3; i++) b = recordFailure(b, i, "x", s);
    expect(breakerPhase(recordSuccess(b), 10)).toBe("closed");
  });
});

describe("invite URLs", () => {
  it.each([
    ["https://dev.convos.org/v2?i=abcdefgh123", "dev", true],
    ["https://popup.convos.org/v2?i=abcdefgh123", "production", true],
    ["https://popup.convos.org/v2?i=abcdefgh123", "dev", false],
    ["https://dev.convos.org/v2?i=abcdefgh123", "production", false],
    ["http://dev.convos.org/v2?i=abcdefgh123", "dev", false],
    ["https://evil.example/v2?i=abcdefgh123", "dev", false],
    ["https://dev.convos.org/v1?i=abcdefgh123", "dev", false],
    ["https://dev.convos.org/v2", "dev", false],
    ["not a url", "dev", false],
    // What the URL parser would quietly "fix" is refused instead of stored verbatim.
    ["https://dev.convos.org:8443/v2?i=abcdefgh123", "dev", false],
    ["https://user:pass@dev.convos.org/v2?i=abcdefgh123", "dev", false],
    ["https://dev%2Econvos.org/v2?i=abcdefgh123", "dev", false],
    ["https:dev.convos.org/v2?i=abcdefgh123", "dev", false],
    ["https:\\\\dev.convos.org\\v2?i=abcdefgh123", "dev", false],
    ["https://dev.convos.org/v2?i=abcd\tefgh123", "dev", false],
    ["https://dev.convos.org/v2?i=abcdefgh123\n", "dev", false],
    [" https://dev.convos.org/v2?i=abcdefgh123", "dev", false],
    ["https://dev.convos.org./v2?i=abcdefgh123", "dev", false],
    ["https://dev.convos.org/v2/?i=abcdefgh123", "dev", false],
  ] as const)("%s on %s → %s", (url, env, ok) => expect(checkInviteUrl(url, env).ok).toBe(ok));

  it("gives every spelling of one invite the same canonical URL", () => {
    const canonical = "https://dev.convos.org/v2?i=abc_DEF-12*34";
    for (const spelling of [canonical, "https://DEV.Convos.ORG/v2?i=abc_DEF-12*34", "HTTPS://dev.convos.org/v2?i=abc_DEF-12*34#x", "https://dev.convos.org/v2?utm=1&i=abc%5FDEF-12*34"]) {
      expect(checkInviteUrl(spelling, "dev")).toEqual({ ok: true, url: canonical, slug: "abc_DEF-12*34" });
    }
  });

  it("names the mismatch when an invite belongs to the other network", () => {
    const r = checkInviteUrl("https://popup.convos.org/v2?i=abcdefgh123", "dev");
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/production invite.*dev network/);
  });
});

describe("settings", () => {
  it("takes defaults from wrangler vars and refuses minIdle above maxTotal", () => {
    const d = defaultSettings({ MIN_IDLE: "2", MAX_TOTAL: "4" });
    expect(d).toMatchObject({ minIdle: 2, maxTotal: 4, maxCreatesPerTick: 5, tickIntervalMs: 30_000 });
    expect(mergeSettings(d, { minIdle: 5 })).toMatchObject({ ok: false, field: "minIdle" });
    expect(mergeSettings(d, { maxTotal: 8, minIdle: 5 })).toMatchObject({ ok: true });
  });
});

describe("policy the coordinator applies", () => {
  const counts = (live: Partial<StatusCounts>) => ({ ...emptyCounts(), ...live });

  it("an operator's replenish is capped by maxTotal only", () => {
    expect(decideOperatorReplenish(counts({ idle: 3, claimed: 4 }), { maxTotal: 10 }, 5)).toEqual({ create: 3, limitedBy: "maxTotal" });
    expect(decideOperatorReplenish(counts({ idle: 3, crashed: 9, dead: 9 }), { maxTotal: 10 }, 5)).toEqual({ create: 5, limitedBy: "none" });
    expect(liveCount(counts({ creating: 1, starting: 1, idle: 1, claiming: 1, claimed: 1, crashed: 1, dead: 1, deleting: 1 }))).toBe(5);
  });

  it("a half-open breaker lets one probe through", () => {
    const s = { breakerThreshold: 3, breakerBackoffMs: 60_000 };
    const open = recordFailure(recordFailure(recordFailure(closedBreaker, 0, "x", s), 0, "x", s), 0, "x", s);
    expect(probeLimit(closedBreaker, 0, 5)).toBe(5);
    expect(probeLimit(open, open.openUntil!, 5)).toBe(1);
  });

  it("a failed claim returns its instance to the pool only when it never bound", () => {
    expect(returnsToPool({ conversationId: null, clean: true })).toBe(true);
    expect(returnsToPool({ conversationId: "c1", clean: true })).toBe(false);
    expect(returnsToPool({ conversationId: null, clean: false, pending: true })).toBe(false);
    expect(returnsToPool(null)).toBe(false);
  });

  it("a bulk status change goes through the state machine", () => {
    expect(bulkTransitionSet("dead", "deleting", { now: 5, reason: "r", actor: "pool" }, { stuckTimeoutMs: 1, claimTimeoutMs: 1 })).toMatchObject({ status: "deleting", statusChangedAt: 5 });
    expect(() => bulkTransitionSet("dead", "idle", { now: 5, reason: "r", actor: "pool" }, { stuckTimeoutMs: 1, claimTimeoutMs: 1 })).toThrow(/dead → idle/);
  });
});
