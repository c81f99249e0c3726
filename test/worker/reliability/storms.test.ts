import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { login, text } from "../admin/helpers";
import { api, coordinatorStub, counts, json, providerState, setProviderFaults, tick, type FakeFault } from "../helpers";
import { checkInvariants, useRailway } from "./support";

/**
 * Provider storms against the whole coordinator (alarm, breaker, cleanup, dashboard) on the
 * real Railway/OpenRouter/AgentMail/Telnyx clients and their wire fakes. Time is faked
 * (Date only: the coordinator runs in this isolate, so its clock, its breaker's and its rate
 * limiter's move with the test's), so ten minutes pass in a few seconds.
 */

const TICK_MS = 30_000;
let clock = 0;

/** The coordinator's context captures Date.now when built: one fake clock per test, never restarted. */
function startClock() {
  // The clock also runs in real time: a rate limiter that sleeps for a token must see time pass.
  vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
  clock = Date.now();
}
function advance(ms: number) {
  clock = Date.now() + ms;
  vi.setSystemTime(clock);
}
afterEach(() => vi.useRealTimers());

const railwayCalls = async (): Promise<{ op: string; status: number }[]> => (await providerState()).railway.calls;
const info = async () => (await json(api("/api/pool/info", { auth: false }))).body;

/** Brings the pool to `n` idle instances on Railway under normal weather. */
async function healthyPool(n: number) {
  await api("/api/pool/settings", {
    method: "PUT",
    json: { minIdle: n, maxTotal: 6, maxCreatesPerTick: 2, breakerThreshold: 3, breakerBackoffMs: 60_000, tickIntervalMs: TICK_MS },
  });
  // One context for the whole test: its rate limiter remembers what Railway told it.
  await useRailway();
  for (let i = 0; i < 4 && (await counts()).idle < n; i++) {
    advance(TICK_MS);
    await tick();
  }
  expect((await counts()).idle).toBe(n);
}

describe("Railway answers 429 to everything for ten minutes", { timeout: 60_000 }, () => {
  it("no crash, at most one request per Retry-After window, the breaker opens and says why, then closes and the pool refills with nothing leaked", async () => {
    startClock();
    await healthyPool(1);
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 3 } });
    const before = (await railwayCalls()).length;
    await setProviderFaults("railway", [{ op: "*", status: 429, retryAfter: 60 }]);

    const phases = new Set<string>();
    const stormEnds = clock + 10 * 60_000;
    let ticks = 0;
    while (clock < stormEnds) {
      advance(TICK_MS);
      await tick();
      ticks++;
      const i = await info();
      phases.add(i.breaker.phase);
      // The pool never grows past its ceiling, whatever fails.
      const c = await counts();
      expect(c.creating + c.starting + c.idle + c.claiming + c.claimed).toBeLessThanOrEqual(6);
      expect(i.lastTick.trigger).toBe("alarm");
    }
    const stormCalls = (await railwayCalls()).slice(before);
    console.log(JSON.stringify({ stormTicks: ticks, stormRailwayRequests: stormCalls.length }));
    expect(ticks).toBe(20);
    expect(stormCalls.every((c) => c.status === 429)).toBe(true);
    // Retry-After: 60 over ten minutes: one request per window at most, never one per tick or per create.
    expect(stormCalls.length).toBeLessThanOrEqual(11);
    expect(phases.has("open")).toBe(true);

    const during = await info();
    expect(during.lastTick.listError).toMatch(/429|rate limited/);
    expect(during.breaker.lastError).toMatch(/429|rate limit/i);
    // The idle instance that was there keeps serving: a provider outage is not a verdict on it.
    expect((await counts()).idle).toBeGreaterThanOrEqual(1);
    // The operator sees why on the dashboard.
    const op = await login("10.3.3.3");
    const page = text((await op.get("/admin")).html);
    expect(page).toMatch(/provider list failed: .*(429|rate limited)/);
    expect(page).toMatch(/rate limit/i);
    advance(60_000);

    await setProviderFaults("railway", []);
    // Past the breaker's backoff: one probe, then a full wave.
    for (let i = 0; i < 6 && (await counts()).idle < 3; i++) {
      advance(5 * 60_000);
      await tick();
    }
    expect((await info()).breaker.phase).toBe("closed");
    expect((await counts()).idle).toBe(3);
    await checkInvariants({ host: "railway" });
  });
});

describe("5xx bursts, timeouts, malformed and incomplete answers", { timeout: 60_000 }, () => {
  const weathers: [string, FakeFault[], RegExp][] = [
    ["a burst of 503s on the observation (retried, then fine)", [{ op: "project", status: 503, times: 2 }], /^$/],
    ["an observation that times out", [{ op: "project", delayMs: 800 }], /timed out/],
    ["an observation answering HTML instead of JSON", [{ op: "project", status: 200, body: "<html>502 Bad Gateway</html>" }], /unexpected body/],
    ["an observation missing its fields", [{ op: "project", status: 200, body: { data: { project: {} } } }], /unexpected (body|shape)/],
    ["a GraphQL error without data", [{ op: "project", status: 200, body: { errors: [{ message: "Problem processing request" }] } }], /Problem processing request|unexpected/],
  ];

  for (const [name, faults, listError] of weathers) {
    it(`${name}: the tick completes, healthy instances stay, nothing leaks`, async () => {
      startClock();
      await healthyPool(2);
      await setProviderFaults("railway", faults);
      advance(TICK_MS);
      await tick();
      const last = (await info()).lastTick;
      expect(last.listError ?? "").toMatch(listError);
      expect((await counts()).idle).toBe(2);
      await setProviderFaults("railway", []);
      advance(TICK_MS);
      await tick();
      expect((await info()).lastTick.listError).toBeNull();
      await checkInvariants({ host: "railway" });
    });
  }

  it("creates failing with 500s, malformed and field-less answers open the breaker; their keys, inboxes and numbers are released", async () => {
    startClock();
    await healthyPool(1);
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 4, maxCreatesPerTick: 3 } });
    await setProviderFaults("railway", [
      { op: "serviceCreate", status: 500, times: 1 },
      { op: "serviceCreate", status: 200, body: "not json at all", times: 1 },
      { op: "serviceCreate", status: 200, body: { data: { serviceCreate: {} } }, times: 1 },
    ]);
    advance(TICK_MS);
    await tick();
    const i = await info();
    expect(i.lastTick.createFailures).toBe(3);
    expect(i.breaker.phase).toBe("open");
    expect(i.breaker.lastError).toMatch(/railway/);
    const state = await providerState();
    // Only the one healthy instance holds resources: the failed creates gave theirs back.
    expect(state.openrouter.keys.length).toBe(1);
    expect(state.agentmail.inboxes.length).toBe(1);
    await checkInvariants({ host: "railway" });

    advance(61_000);
    await tick(); // half-open probe succeeds
    expect((await info()).breaker.phase).toBe("closed");
    for (let k = 0; k < 3 && (await counts()).idle < 4; k++) {
      advance(TICK_MS);
      await tick();
    }
    expect((await counts()).idle).toBe(4);
    await checkInvariants({ host: "railway" });
    expect((await coordinatorStub().getMetrics()).creates.failed).toBeGreaterThanOrEqual(3);
  });
});

describe("Railway failing every delete", { timeout: 60_000 }, () => {
  it("teardowns back off instead of hammering, keep everything recorded, and finish once Railway recovers", async () => {
    startClock();
    await healthyPool(2);
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0 } });
    await setProviderFaults("railway", [{ op: "serviceDelete", status: 500 }]);
    expect((await json(api("/api/pool/drain", { method: "POST", json: { count: 2 } }))).body.drained).toHaveLength(2);
    let ticks = 0;
    for (const end = clock + 10 * 60_000; clock < end; ticks++) {
      advance(TICK_MS);
      await tick();
    }
    const deletes = (await railwayCalls()).filter((c) => c.op === "serviceDelete");
    // 20 ticks in ten minutes, two instances. Backoff from 5 s doubling (to a 15-minute cap)
    // allows 7 or 8 attempts each (each up to 4 requests with the client's own retries),
    // where one attempt per tick would be 20 each.
    expect(ticks).toBe(20);
    expect(deletes.length).toBeGreaterThan(0);
    expect(deletes.length).toBeLessThanOrEqual(2 * 9 * 4);
    const attempts = (await env.DB.prepare("SELECT teardown_attempts AS n FROM instances WHERE status = 'deleting'").all<{ n: number }>()).results.map((r) => r.n);
    console.log(JSON.stringify({ deleteStormTicks: ticks, deleteRequests: deletes.length, teardownAttempts: attempts }));
    expect(attempts).toHaveLength(2);
    for (const n of attempts) expect(n).toBeLessThanOrEqual(9);
    expect((await counts()).deleting).toBe(2);
    // While they wait, the rows still record their services: nothing has been forgotten.
    await checkInvariants({ host: "railway" });

    await setProviderFaults("railway", []);
    for (let i = 0; i < 4 && (await counts()).deleting > 0; i++) {
      advance(20 * 60_000);
      await tick();
    }
    expect((await counts()).deleting).toBe(0);
    const state = await providerState();
    expect(state.railway.services).toHaveLength(0);
    expect(state.openrouter.keys).toHaveLength(0);
    expect(state.agentmail.inboxes).toHaveLength(0);
    await checkInvariants({ host: "railway" });
  });
});
