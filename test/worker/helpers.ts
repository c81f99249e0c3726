import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { Faults } from "../../local/supervisor/simulated";
import { FAKES_CONTROL } from "../support/fakes/credentials";
import type { InstanceStatus } from "../../worker/domain/lifecycle";

export const POOL_KEY = "test-pool-key-0123456789abcdef";
const SUPERVISOR = "http://supervisor.test";

export function coordinatorStub() {
  return env.POOL_COORDINATOR.get(env.POOL_COORDINATOR.idFromName("pool"));
}

/** A request to the Worker under test, as a client would send it. */
export function api(path: string, init: RequestInit & { json?: unknown; auth?: string | false } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.auth !== false) headers.set("authorization", `Bearer ${init.auth ?? POOL_KEY}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return exports.default.fetch(new Request(`https://pool.test${path}`, { ...init, headers, body }));
}

export async function json<T = any>(res: Response | Promise<Response>): Promise<{ status: number; body: T; headers: Headers }> {
  const r = await res;
  return { status: r.status, body: (await r.json()) as T, headers: r.headers };
}

/** Runs the coordinator's alarm now, arming it first if nothing had. */
export async function tick(): Promise<void> {
  const stub = coordinatorStub();
  if (!(await runDurableObjectAlarm(stub))) {
    await stub.status();
    await stub.reconcile();
  }
}

export async function setFaults(faults: Partial<Faults>): Promise<void> {
  await fetch(`${SUPERVISOR}/_control/faults`, { method: "PUT", body: JSON.stringify(faults), headers: { "content-type": "application/json" } });
}

export async function resetFakes(): Promise<void> {
  await fetch(`${SUPERVISOR}/_control/reset`, { method: "POST" });
  await fetch(`${FAKES_CONTROL}/reset`, { method: "POST" });
}

export interface SupervisorState {
  services: {
    id: string;
    name: string;
    status: string;
    conversationId: string | null;
    instanceId: string;
    pending: boolean;
    gatewayToken: string | null;
    image: string | null;
    deploys: (string | null)[];
  }[];
  calls: Record<string, number>;
}

export async function supervisorState(): Promise<SupervisorState> {
  return (await fetch(`${SUPERVISOR}/_control/state`)).json();
}

export async function supervisorControl(path: string, body?: unknown): Promise<Response> {
  return fetch(`${SUPERVISOR}/_control${path}`, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });
}

export async function counts(): Promise<Record<InstanceStatus, number>> {
  const { breaker: _breaker, ...byStatus } = (await json(api("/api/pool/counts", { auth: false }))).body;
  return byStatus;
}

/** Ticks until the pool has `n` idle instances (instances boot instantly in the fake). */
export async function fillPool(n: number): Promise<void> {
  await api("/api/pool/settings", { method: "PUT", json: { minIdle: n, maxTotal: Math.max(n, 10), maxCreatesPerTick: Math.min(100, n) } });
  for (let i = 0; i < 5 && (await counts()).idle < n; i++) await tick();
}

// --- provider fakes (test/support/fakes) ----------------------------------------------------

export type FakeProvider = "railway" | "openrouter" | "agentmail" | "telnyx" | "notion";

export interface FakeFault {
  op: string;
  status?: number;
  retryAfter?: number;
  headers?: Record<string, string>;
  delayMs?: number;
  times?: number;
  body?: unknown;
}

/** Makes a provider fake answer `op` with a failure (see test/support/fakes/faults.ts). */
export async function setProviderFaults(provider: FakeProvider, rules: FakeFault[]): Promise<void> {
  await fetch(`${FAKES_CONTROL}/faults/${provider}`, { method: "PUT", body: JSON.stringify(rules), headers: { "content-type": "application/json" } });
}

/** Everything the provider fakes hold: services, keys, inboxes, numbers and each call made. */
export async function providerState(): Promise<any> {
  return (await fetch(`${FAKES_CONTROL}/state`)).json();
}

export async function providerControl(path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${FAKES_CONTROL}${path}`, { method: "POST", body: JSON.stringify(body ?? {}), headers: { "content-type": "application/json" } });
  return res.json();
}
