import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { api, counts, fillPool, supervisorControl, supervisorState } from "../helpers";
import { checkInvariants, rows, settle } from "./support";

/** mulberry32: a tiny seeded PRNG, so a failing sequence can be replayed exactly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: T[]): T | undefined => xs[Math.floor(next() * xs.length)] };
}

const SEED = 20261121;
const OPERATIONS = 1_000;

type Op = "claim" | "join" | "replay" | "drain" | "kill" | "dismiss" | "reconcile" | "replenish" | "crash";
const WEIGHTS: [Op, number][] = [
  ["claim", 35],
  ["join", 6],
  ["replay", 6],
  ["drain", 8],
  ["kill", 12],
  ["dismiss", 10],
  ["reconcile", 5],
  ["replenish", 12],
  ["crash", 6],
];

/** Every answer the API may give to these operations; anything else (a 500 above all) is a bug. */
const EXPECTED: Record<Op, number[]> = {
  claim: [200, 502, 503],
  join: [200, 409, 502, 503],
  replay: [200, 502, 503],
  drain: [200],
  kill: [202, 404, 409],
  dismiss: [202, 404, 409],
  reconcile: [200],
  replenish: [200],
  crash: [200, 404],
};

it(`${OPERATIONS} claims, drains, kills, dismissals, ticks and replenishes in random order (seed ${SEED}) keep every invariant`, { timeout: 120_000 }, async () => {
  const rnd = prng(SEED);
  await fillPool(12);
  await api("/api/pool/settings", { method: "PUT", json: { minIdle: 8, maxTotal: 30, maxCreatesPerTick: 10 } });

  const total = WEIGHTS.reduce((a, [, w]) => a + w, 0);
  const choose = (): Op => {
    let r = rnd.int(total);
    for (const [op, w] of WEIGHTS) if ((r -= w) < 0) return op;
    return "claim";
  };

  const answered = new Map<string, { instanceId: string; conversationId: string }>();
  const replayable: { key: string; body: unknown }[] = [];
  const tally: Record<string, number> = {};
  const timing: Record<string, number> = {};
  const unexpected: string[] = [];
  let done = 0;
  let keySeq = 0;

  interface Targets {
    live: string[];
    crashed: string[];
    gone: string[];
  }
  /** Mostly instances that exist, so operations race on the same rows; sometimes a deleted or unknown one. */
  const target = (t: Targets, preferred: string[]) => {
    const r = rnd.next();
    if (r < 0.1) return rnd.pick(t.gone) ?? "i-unknown";
    if (r < 0.6 && preferred.length) return rnd.pick(preferred)!;
    return rnd.pick(t.live) ?? "i-unknown";
  };

  const run = async (op: Op, t: Targets, services: { id: string }[]): Promise<void> => {
    let res: Response;
    let key: string | undefined;
    const t0 = Date.now();
    switch (op) {
      case "claim":
      case "join": {
        key = `mix-${++keySeq}`;
        const body = op === "join" ? { joinUrl: `https://dev.convos.org/v2?i=invite-mix-${rnd.int(4)}` } : { agentName: `agent ${keySeq}` };
        replayable.push({ key, body });
        res = await api("/api/pool/claim", { method: "POST", json: body, headers: { "idempotency-key": key } });
        break;
      }
      case "replay": {
        const earlier = rnd.pick(replayable);
        if (!earlier) return run("reconcile", t, services);
        key = earlier.key;
        res = await api("/api/pool/claim", { method: "POST", json: earlier.body, headers: { "idempotency-key": key } });
        break;
      }
      case "drain":
        res = await api("/api/pool/drain", { method: "POST", json: { count: 1 + rnd.int(3) } });
        break;
      case "replenish":
        res = await api("/api/pool/replenish", { method: "POST", json: { count: 1 + rnd.int(3) } });
        break;
      case "reconcile":
        res = await api("/api/pool/reconcile", { method: "POST" });
        break;
      case "kill":
        res = await api(`/api/pool/instances/${target(t, t.live)}`, { method: "DELETE" });
        break;
      case "dismiss":
        res = await api(`/api/pool/crashed/${target(t, t.crashed)}`, { method: "DELETE" });
        break;
      case "crash":
        res = await supervisorControl(`/services/${rnd.pick(services)?.id ?? "sim-none"}/crash`);
        break;
    }
    const status = res.status;
    timing[op] = (timing[op] ?? 0) + (Date.now() - t0);
    tally[`${op} ${status}`] = (tally[`${op} ${status}`] ?? 0) + 1;
    if (!EXPECTED[op].includes(status)) unexpected.push(`${op} → ${status} ${await res.text()}`);
    else if (op === "claim" || op === "join" || op === "replay") {
      const body = (await res.json()) as { instanceId?: string; conversationId?: string };
      if (status === 200) {
        const first = answered.get(key!);
        // The same key always gets the same instance; different keys never share one.
        if (first) expect(body, `replay of ${key}`).toMatchObject(first);
        else answered.set(key!, { instanceId: body.instanceId!, conversationId: body.conversationId! });
      }
    } else await res.body?.cancel();
    done++;
  };

  while (done < OPERATIONS) {
    const all = await rows();
    const t: Targets = {
      live: all.filter((r) => r.status !== "deleted").map((r) => r.id),
      crashed: all.filter((r) => r.status === "crashed").map((r) => r.id),
      gone: all.filter((r) => r.status === "deleted").map((r) => r.id),
    };
    const services = (await supervisorState()).services;
    // Batches of 1–12 run at once: some operations race, others follow one another.
    const batch = Math.min(OPERATIONS - done, 1 + rnd.int(12));
    await Promise.all(Array.from({ length: batch }, () => run(choose(), t, services)));
  }

  expect(unexpected, "no answer outside the expected set (never a 500)").toEqual([]);
  // Both kinds of outcome actually happened, or the run proved little.
  for (const seen of ["claim 200", "claim 503", "kill 202", "dismiss 202", "drain 200", "replenish 200"]) expect(tally[seen] ?? 0, seen).toBeGreaterThan(0);

  const instances = [...answered.values()].map((a) => a.instanceId);
  expect(new Set(instances).size, "no instance handed to two claims").toBe(instances.length);
  const conversations = [...answered.values()].map((a) => a.conversationId);
  expect(new Set(conversations).size, "no conversation handed out twice").toBe(conversations.length);

  await settle();
  await api("/api/pool/reconcile", { method: "POST" });
  await settle();
  const final = new Map((await rows()).map((r) => [r.id, r]));
  for (const [key, a] of answered) {
    const row = final.get(a.instanceId)!;
    // Whatever happened to it later (killed, crashed), the row remembers the conversation it was given.
    expect(row.conversation_id, `instance of claim ${key}`).toBe(a.conversationId);
    expect(row.claim_id).toBe(key);
  }
  const checked = await checkInvariants();
  const c = await counts();
  console.log(JSON.stringify({ timing, seed: SEED, operations: done, tally, successfulClaims: answered.size, invariantFactsChecked: checked, final: c }));
  const events = await env.DB.prepare("SELECT count(*) AS n FROM instance_events").first<{ n: number }>();
  expect(events!.n).toBeGreaterThan(OPERATIONS / 10);
});
