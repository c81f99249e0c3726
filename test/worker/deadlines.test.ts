import { describe, expect, it } from "vitest";
import { createInstanceClient } from "../../worker/instances/client";
import { createHttpClient } from "../../worker/providers/http";
import { type Deadlines, perCallDeadlines, SharedDeadlines } from "../../worker/lib/deadlines";

/**
 * The instance calls' timeouts, in real workerd. An I/O context may hold 10,000 active timers, and
 * a Durable Object's outlives its requests: a timeout that stayed armed after its call answered
 * (AbortSignal.timeout's does, for 75 s on a provision) made every claim fail once ~10,000 claims
 * had come within that window.
 */
const answered = (async (input: RequestInfo | URL) => {
  const path = new URL(String(input instanceof Request ? input.url : input)).pathname;
  if (path === "/pool/provision") return Response.json({ status: "created", conversationId: "conv-1", inviteUrl: "https://dev.convos.org/v2?i=x", joined: false });
  return Response.json({ ready: true, version: "t", bound: false });
}) as typeof fetch;

/** Answers only when the call is aborted, with the abort's reason (what fetch does). */
const hanging = ((_input: RequestInfo | URL, init?: RequestInit) =>
  new Promise<Response>((_resolve, reject) => {
    init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
  })) as typeof fetch;

const PAST_THE_LIMIT = 10_050;

describe.each([
  ["one timer per call", () => perCallDeadlines],
  ["one shared timer", () => new SharedDeadlines()],
] as [string, () => Deadlines][])("instance calls' timeouts (%s)", (_name, make) => {
  it(`${PAST_THE_LIMIT} provisions in one I/O context all succeed: a finished call holds no timer`, async () => {
    const client = createInstanceClient({ fetch: answered, deadlines: make() });
    const failures: string[] = [];
    for (let i = 0; i < PAST_THE_LIMIT; i++) {
      const out = await client.provision("http://inst.test", "token", { agentName: "A", instructions: "" });
      if (!out.ok) failures.push(out.reason);
    }
    expect(failures.slice(0, 3)).toEqual([]);
    // And a timer can still be set here afterwards.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }, 120_000);

  it("a call that never answers still times out, as a timeout", async () => {
    const client = createInstanceClient({ fetch: hanging, deadlines: make(), provisionTimeoutMs: 30, healthTimeoutMs: 30 });
    const t0 = Date.now();
    expect(await client.provision("http://inst.test", "token", { agentName: "A", instructions: "" })).toEqual({ ok: false, kind: "timed_out", reason: "provision failed: timed out" });
    expect(await client.health("http://inst.test")).toEqual({ ok: false, reason: "health check failed: timed out" });
    expect(await client.convosStatus("http://inst.test", "token")).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(80);
  });
});

describe("provider calls' timeouts", () => {
  it(`${PAST_THE_LIMIT} provider requests in one I/O context all succeed, and one that never answers still times out`, async () => {
    const client = createHttpClient({ provider: "test", baseUrl: "http://provider.test", headers: {}, fetch: (async () => Response.json({ ok: true })) as typeof fetch, retries: 0 });
    let failures = 0;
    for (let i = 0; i < PAST_THE_LIMIT; i++) await client.request({ method: "GET", path: "/x", what: "read" }).catch(() => failures++);
    expect(failures).toBe(0);
    const stalled = createHttpClient({ provider: "test", baseUrl: "http://provider.test", headers: {}, fetch: hanging, timeoutMs: 30, retries: 0 });
    await expect(stalled.request({ method: "GET", path: "/x", what: "read" })).rejects.toThrow(/read \(GET \/x\) timed out after 30 ms/);
  }, 120_000);
});

describe("SharedDeadlines", () => {
  it("fires each deadline at its time, an earlier one added after a later one included, and never a cancelled one", async () => {
    const deadlines = new SharedDeadlines();
    const fired: string[] = [];
    const t0 = Date.now();
    const at: Record<string, number> = {};
    const mark = (name: string) => () => {
      fired.push(name);
      at[name] = Date.now() - t0;
    };
    deadlines.after(120, mark("late"));
    const cancel = deadlines.after(60, mark("cancelled"));
    deadlines.after(30, mark("early"));
    deadlines.after(90, mark("middle"));
    cancel();
    expect(deadlines.size).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fired).toEqual(["early", "middle", "late"]);
    expect(at.early).toBeGreaterThanOrEqual(30);
    expect(at.middle).toBeGreaterThanOrEqual(90);
    expect(at.late).toBeGreaterThanOrEqual(120);
    expect(deadlines.size).toBe(0);
  });

  it("a deadline set from a firing one is kept", async () => {
    const deadlines = new SharedDeadlines();
    let second = false;
    deadlines.after(10, () => deadlines.after(10, () => (second = true)));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(second).toBe(true);
  });
});
