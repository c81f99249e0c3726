import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { canTransition, INSTANCE_STATUSES, type InstanceStatus } from "../../../worker/domain/lifecycle";
import { createInstanceClient, type InstanceClientOptions } from "../../../worker/instances/client";
import { api, coordinatorStub, json, providerState, supervisorState } from "../helpers";
import { providerContext } from "../providers/support";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Row {
  id: string;
  status: InstanceStatus;
  service_name: string;
  service_id: string | null;
  conversation_id: string | null;
  claim_id: string | null;
  join_url: string | null;
}

export async function rows(): Promise<Row[]> {
  return (await env.DB.prepare("SELECT id, status, service_name, service_id, conversation_id, claim_id, join_url FROM instances ORDER BY id").all<Row>()).results;
}

export async function rowsIn(status: InstanceStatus): Promise<Row[]> {
  return (await rows()).filter((r) => r.status === status);
}

/** Polls until `check` holds (or fails the test after `ms`): for state reached by in-flight work. */
export async function until(what: string, check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await sleep(10);
  }
}

/** Time passes for every instance with a deadline: all of them are now overdue. */
export const expireAllDeadlines = () => env.DB.prepare("UPDATE instances SET deadline_at = 1 WHERE deadline_at IS NOT NULL").run();

/** Waits for the coordinator's background work (teardowns started by kill/drain) to settle. */
export async function settle(): Promise<void> {
  await runInDurableObject(coordinatorStub(), async () => {});
  await sleep(50);
}

/**
 * The pool's invariants, checked against D1 and the fake compute host. Returns how many
 * individual facts were checked, so suites can report the number.
 *
 * - one row per instance, one status per row, and the public counts equal the rows;
 * - every claimed instance has a conversation id;
 * - each instance's events chain (from of one = to of the previous, each an allowed
 *   transition, the first from nothing to creating) and the last one's `to` is its status;
 * - no service on the host without a row that owns it, and no live row whose service is gone.
 */
export async function checkInvariants(opts: { host?: "local" | "railway" | "none" } = {}): Promise<number> {
  let checked = 0;
  // D1 is level with the coordinator: no claim's bind is still held back (outbox.ts).
  expect(await coordinatorStub().settle(), "statements still waiting for D1").toBe(0);
  checked++;
  const all = await rows();
  const ids = new Set(all.map((r) => r.id));
  expect(ids.size, "one row per instance").toBe(all.length);
  checked++;

  const { breaker: _breaker, ...counts } = (await json(api("/api/pool/counts", { auth: false }))).body as Record<string, number>;
  for (const s of INSTANCE_STATUSES) {
    expect(counts[s] ?? 0, `count of ${s}`).toBe(all.filter((r) => r.status === s).length);
    checked++;
  }
  expect(
    Object.values(counts).reduce((a, b) => a + b, 0),
    "counts add up to the rows",
  ).toBe(all.length);
  checked++;

  for (const r of all.filter((r) => r.status === "claimed")) {
    expect(r.conversation_id, `claimed ${r.id} has a conversation`).toBeTruthy();
    checked++;
  }

  const events = (await env.DB.prepare("SELECT instance_id, from_status, to_status FROM instance_events ORDER BY id").all<{ instance_id: string; from_status: string | null; to_status: string }>())
    .results;
  const byInstance = new Map<string, typeof events>();
  for (const e of events) {
    expect(ids.has(e.instance_id), `event of unknown instance ${e.instance_id}`).toBe(true);
    byInstance.set(e.instance_id, [...(byInstance.get(e.instance_id) ?? []), e]);
  }
  for (const r of all) {
    const chain = byInstance.get(r.id) ?? [];
    expect(chain.length, `${r.id} has events`).toBeGreaterThan(0);
    expect(chain[0]!.from_status, `${r.id} starts from nothing`).toBeNull();
    expect(chain[0]!.to_status).toBe("creating");
    for (let i = 1; i < chain.length; i++) {
      expect(chain[i]!.from_status, `${r.id} event ${i} chains`).toBe(chain[i - 1]!.to_status);
      expect(canTransition(chain[i]!.from_status as InstanceStatus, chain[i]!.to_status as InstanceStatus), `${r.id}: ${chain[i]!.from_status}→${chain[i]!.to_status} allowed`).toBe(true);
      checked += 2;
    }
    expect(chain.at(-1)!.to_status, `${r.id}'s last event is its status`).toBe(r.status);
    checked += 3;
  }

  const host = opts.host ?? "local";
  if (host !== "none") {
    const services: { id: string; name: string }[] = host === "local" ? (await supervisorState()).services : (await providerState()).railway.services;
    const owners = new Map(all.filter((r) => r.status !== "deleted" && r.service_id).map((r) => [r.service_id!, r]));
    for (const s of services) {
      expect(owners.get(s.id)?.service_name, `service ${s.name} has a row that owns it`).toBe(s.name);
      checked++;
    }
    const present = new Set(services.map((s) => s.id));
    for (const r of all.filter((r) => ["starting", "idle", "claiming", "claimed"].includes(r.status) && r.service_id)) {
      expect(present.has(r.service_id!), `${r.status} ${r.id}'s service exists`).toBe(true);
      checked++;
    }
  }
  if (host === "railway") checked += await checkNoLeakedResources(all);
  return checked;
}

/** Every key, inbox and phone number the providers hold belongs to a row that is not deleted. */
async function checkNoLeakedResources(all: Row[]): Promise<number> {
  let checked = 0;
  const state = await providerState();
  const live = all.filter((r) => r.status !== "deleted");
  const names = new Set(live.map((r) => r.service_name));
  for (const k of state.openrouter.keys as { name: string }[]) {
    expect(names.has(k.name), `OpenRouter key ${k.name} belongs to a live row`).toBe(true);
    checked++;
  }
  for (const i of state.agentmail.inboxes as { inbox_id: string }[]) {
    expect(names.has(i.inbox_id.split("@")[0]!), `inbox ${i.inbox_id} belongs to a live row`).toBe(true);
    checked++;
  }
  const assigned = (await env.DB.prepare("SELECT instance_id FROM phone_numbers WHERE instance_id IS NOT NULL").all<{ instance_id: string }>()).results;
  const liveIds = new Set(live.map((r) => r.id));
  for (const n of assigned) {
    expect(liveIds.has(n.instance_id), `phone number of ${n.instance_id} belongs to a live row`).toBe(true);
    checked++;
  }
  return checked;
}

/**
 * Points the coordinator at the real Railway/OpenRouter/AgentMail/Telnyx clients talking to
 * their wire fakes (the test env's own compute is the local supervisor). A reset coordinator
 * is built from env again, so call this after every abort.
 */
export async function useRailway(): Promise<void> {
  await runInDurableObject(coordinatorStub(), (instance) => {
    (instance as unknown as { pool: unknown }).pool = providerContext();
  });
}

/** Swaps the coordinator's instance client, e.g. for shorter timeouts than production's. */
export async function useInstanceClient(opts: InstanceClientOptions): Promise<void> {
  await runInDurableObject(coordinatorStub(), (instance) => {
    (instance as unknown as { pool: { instances: unknown } }).pool.instances = createInstanceClient(opts);
  });
}
