import { describe, expect, it } from "vitest";
import { api, counts, fillPool, json, supervisorControl, supervisorState, tick } from "./helpers";
import { checkInvariants } from "./reliability/support";

/**
 * SPEC §3: a claim is served by a healthy instance whenever one exists. The three faults seen on
 * `npm start` (a killed process, a killed gateway, a stopped process), each on the idle instance
 * the claim reserves first, with healthy ones behind it.
 */
const claim = (body: unknown = {}) => json(api("/api/pool/claim", { method: "POST", json: body }));
const detail = async (id: string) => (await json(api(`/api/pool/instances/${id}`))).body;

/** The idle instances in the order claims take them (oldest ready first). */
async function idleInClaimOrder(): Promise<string[]> {
  const agents = (await json(api("/api/pool/agents?status=idle"))).body.agents as { id: string; readyAt: number }[];
  return agents.sort((a, b) => a.readyAt - b.readyAt || a.id.localeCompare(b.id)).map((a) => a.id);
}

async function fault(instanceId: string, kind: "hang" | "refuse" | "not_ready" | null) {
  const svc = (await supervisorState()).services.find((s) => s.instanceId === instanceId)!;
  await supervisorControl(`/services/${svc.id}/fault`, { fault: kind });
}

async function metric(name: string): Promise<string[]> {
  const text = await (await api("/metrics")).text();
  return text.split("\n").filter((l) => l.startsWith(name));
}

describe("a claim skips an idle instance that was never touched", () => {
  for (const [kind, what] of [
    ["refuse", "whose process is gone (connection refused)"],
    ["not_ready", "whose gateway is down (503 not_ready)"],
    ["hang", "that is stopped (no answer at all)"],
  ] as const) {
    it(`${what}: the next idle one serves the claim; the first is dead, not crashed, and history says why`, async () => {
      await fillPool(3);
      const [first, second] = await idleInClaimOrder();
      await fault(first!, kind);

      const started = Date.now();
      const res = await claim({ agentName: "Ada" });
      const took = Date.now() - started;
      expect(res.status).toBe(200);
      expect(res.body.instanceId).toBe(second);
      // A hung instance costs the readiness probe (2 s), not the provision timeout (75 s).
      expect(took).toBeLessThan(kind === "hang" ? 4_000 : 1_000);

      const dead = await detail(first!);
      expect(dead.status).toBe("dead");
      const last = dead.events.at(-1);
      expect(last).toMatchObject({ from: "claiming", to: "dead" });
      // Whichever answered first, the probe or the provision call, proved it.
      expect(last.reason).toMatch(kind === "hang" ? /readiness probe failed: .*timed out/ : /readiness probe failed|never touched/);
      expect(dead.events.some((e: { to: string }) => e.to === "crashed")).toBe(false);
      const skipped = await metric("pool_claim_skipped_instances_total{");
      expect(skipped.reduce((n, line) => n + Number(line.split(" ").at(-1)), 0)).toBe(1);

      // The dead one is torn down and replaced like any dead instance.
      await tick();
      await tick();
      expect((await detail(first!)).status).toBe("deleted");
      expect((await counts()).idle).toBe(3);
      await checkInvariants();
    });
  }

  it("a join claim moves on too (the invite's reservation is released with the dead instance)", async () => {
    await fillPool(2);
    const [first, second] = await idleInClaimOrder();
    await fault(first!, "refuse");
    const res = await claim({ joinUrl: "https://dev.convos.org/v2?i=retriedInvite0001" });
    expect(res).toMatchObject({ status: 200, body: { instanceId: second, status: "joined" } });
    // The replacement the claim started in the background has finished by the end of a tick.
    await tick();
    await checkInvariants();
  });

  it("every idle instance dead: the pool says it is empty (503, Retry-After) and has already started replacements", async () => {
    await fillPool(2);
    for (const id of await idleInClaimOrder()) await fault(id, "refuse");
    const res = await claim();
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("pool_empty");
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect((await counts()).dead).toBe(2);
    await expect.poll(async () => (await counts()).starting, { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
    await checkInvariants();
  });

  it("tries at most 3 instances in one request, then answers 502 naming the last one", async () => {
    await fillPool(5);
    const order = await idleInClaimOrder();
    for (const id of order.slice(0, 4)) await fault(id, "not_ready");
    const res = await claim();
    expect(res.status).toBe(502);
    expect(res.body.error.message).toMatch(/3 tried/);
    expect(res.body.error.details.instanceId).toBe(order[2]);
    expect((await counts()).dead).toBe(3);
    // The fourth was never reserved; the fifth is still there for the next claim... behind the fourth.
    expect((await detail(order[3]!)).status).toBe("idle");
    const next = await claim();
    expect(next).toMatchObject({ status: 200, body: { instanceId: order[4] } });
    await checkInvariants();
  });
});
