import { describe, expect, it } from "vitest";
import { CLAIM_MAX_ATTEMPTS, CLAIM_RETRY_WINDOW_MS, mayTryAnother, probeVerdict, provisionVerdict } from "../../worker/domain/claim-attempts";
import { CLAIMED_CHECK_INTERVAL_MS, claimedCheckDue, claimedVerdict, DEGRADED_RECHECK_MS, STREAM_DOWN_LIMIT_MS, type ClaimedRow } from "../../worker/domain/claimed-health";
import { canTransition, failureStatus } from "../../worker/domain/lifecycle";
import { createInstanceClient } from "../../worker/instances/client";

/** The plain decisions behind §2 and §3, without I/O. */
describe("what a claim does with the instance it reserved", () => {
  it("an instance that never got or never took the request is untouched: dead, not crashed", () => {
    expect(probeVerdict({ ok: false, reason: "timed out" })).toMatchObject({ verdict: "untouched", skip: "probe_failed" });
    expect(probeVerdict({ ok: true })).toBeNull();
    expect(provisionVerdict({ kind: "not_ready", reason: "503" })).toMatchObject({ verdict: "untouched", skip: "not_ready" });
    expect(provisionVerdict({ kind: "unreachable", reason: "ECONNREFUSED" })).toMatchObject({ verdict: "untouched", skip: "unreachable" });
    // The state machine lets a reserved instance go straight to dead; the generic failure rule would say crashed.
    expect(canTransition("claiming", "dead")).toBe(true);
    expect(failureStatus("claiming")).toBe("crashed");
  });

  it("an instance that may have started on the claim is not skipped", () => {
    for (const kind of ["already_bound", "failed", "timed_out"] as const) expect(provisionVerdict({ kind, reason: "x" })).toEqual({ verdict: "touched" });
  });

  it("tries at most CLAIM_MAX_ATTEMPTS instances, none after the window", () => {
    expect(mayTryAnother(1, 0, 10)).toBe(true);
    expect(mayTryAnother(CLAIM_MAX_ATTEMPTS - 1, 0, 10)).toBe(true);
    expect(mayTryAnother(CLAIM_MAX_ATTEMPTS, 0, 10)).toBe(false);
    expect(mayTryAnother(1, 0, CLAIM_RETRY_WINDOW_MS)).toBe(false);
  });
});

describe("what the tick concludes about a claimed instance", () => {
  const row = (over: Partial<ClaimedRow> = {}): ClaimedRow => ({ conversationId: "c1", claimStatus: "created", degradedSince: null, lastHealthAt: 0, claimedAt: 0, ...over });
  const up = { health: { ok: true as const }, status: { conversationId: "c1", pending: false, clean: false, streaming: true } };
  const now = 1_000_000_000;

  it("healthy when it answers with its conversation and its stream", () => {
    expect(claimedVerdict(row(), up, now)).toEqual({ action: "healthy" });
  });

  it("lost conversation → crash with the reason: unbound, bound to another, a pending join that ended without one", () => {
    expect(claimedVerdict(row(), { ...up, status: { conversationId: null, clean: true } }, now)).toMatchObject({ action: "crash", reason: expect.stringMatching(/came back unbound/) });
    expect(claimedVerdict(row(), { ...up, status: { conversationId: "c2", clean: false, streaming: true } }, now)).toMatchObject({
      action: "crash",
      reason: expect.stringMatching(/another conversation \(c2\)/),
    });
    const waiting = row({ conversationId: null, claimStatus: "pending_acceptance" });
    expect(claimedVerdict(waiting, { ...up, status: { conversationId: null, pending: false, clean: false } }, now)).toMatchObject({
      action: "crash",
      reason: expect.stringMatching(/refused or expired/),
    });
    expect(claimedVerdict(waiting, { ...up, status: { conversationId: null, pending: false, clean: true } }, now)).toMatchObject({ action: "crash", reason: expect.stringMatching(/came back blank/) });
  });

  it("a pending join still waiting is healthy; accepted, it is recorded", () => {
    const waiting = row({ conversationId: null, claimStatus: "pending_acceptance" });
    expect(claimedVerdict(waiting, { ...up, status: { conversationId: null, pending: true, clean: false } }, now)).toEqual({ action: "healthy" });
    expect(claimedVerdict(waiting, { ...up, status: { conversationId: "c9", pending: false, clean: false, streaming: true } }, now)).toEqual({ action: "healthy", acceptedConversationId: "c9" });
  });

  it("stream down or no answer → degraded since the first time seen, crashed once that is STREAM_DOWN_LIMIT_MS ago", () => {
    const down = { ...up, status: { ...up.status, streaming: false } };
    expect(claimedVerdict(row(), down, now)).toEqual({ action: "degraded", since: now, reason: "conversation stream down" });
    expect(claimedVerdict(row({ degradedSince: now - 1000 }), down, now)).toEqual({ action: "degraded", since: now - 1000, reason: "conversation stream down" });
    expect(claimedVerdict(row({ degradedSince: now - STREAM_DOWN_LIMIT_MS }), down, now)).toMatchObject({ action: "crash", reason: expect.stringMatching(/^degraded for more than 10 minutes/) });
    expect(claimedVerdict(row(), { health: { ok: false, reason: "timed out" }, status: null }, now)).toMatchObject({ action: "degraded", reason: "not answering: timed out" });
    expect(claimedVerdict(row(), { health: { ok: true }, status: null }, now)).toMatchObject({ action: "degraded" });
  });

  it("is checked slowly when healthy, more often when degraded", () => {
    expect(claimedCheckDue(row({ lastHealthAt: now - CLAIMED_CHECK_INTERVAL_MS + 1 }), now)).toBe(false);
    expect(claimedCheckDue(row({ lastHealthAt: now - CLAIMED_CHECK_INTERVAL_MS }), now)).toBe(true);
    expect(claimedCheckDue(row({ lastHealthAt: now - DEGRADED_RECHECK_MS, degradedSince: now - DEGRADED_RECHECK_MS }), now)).toBe(true);
    expect(claimedCheckDue(row({ lastHealthAt: null, claimedAt: now }), now)).toBe(false);
  });
});

describe("how the pool reads an instance's answer to a provision", () => {
  const answering = (res: () => Response | Promise<Response>) => createInstanceClient({ fetch: (async () => res()) as typeof fetch });
  const provision = (client: ReturnType<typeof createInstanceClient>) => client.provision("https://i.example", "token", { agentName: "A", instructions: "" });
  const body = (status: number, value: unknown) => () => new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

  it("503 not_ready is the front server refusing before it did anything", async () => {
    expect(await provision(answering(body(503, { error: { code: "not_ready", message: "gateway starting" } })))).toMatchObject({ ok: false, kind: "not_ready" });
  });

  it("a 5xx not in the front server's error shape, or no answer at all, is the host answering for a gone instance", async () => {
    expect(await provision(answering(() => new Response("Application failed to respond", { status: 502 })))).toMatchObject({ ok: false, kind: "unreachable" });
    expect(await provision(answering(() => Promise.reject(new TypeError("connect ECONNREFUSED"))))).toMatchObject({ ok: false, kind: "unreachable" });
  });

  it("the front server's own errors, and its other 503s, may have touched the instance", async () => {
    expect(await provision(answering(body(502, { error: { code: "gateway_unavailable", message: "x" } })))).toMatchObject({ ok: false, kind: "failed" });
    expect(await provision(answering(body(503, { error: { code: "stream_unavailable", message: "x" } })))).toMatchObject({ ok: false, kind: "failed" });
  });

  it("a pending join has no conversation yet; anything else without one is refused", async () => {
    expect(await provision(answering(body(200, { status: "pending_acceptance", conversationId: null, inviteUrl: null, joined: false })))).toMatchObject({ ok: true });
    expect(await provision(answering(body(200, { status: "created", conversationId: null, inviteUrl: null, joined: false })))).toMatchObject({ ok: false, kind: "failed" });
  });
});
