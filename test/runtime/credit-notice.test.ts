// The agent whose model key runs out, end to end: a real `openclaw gateway` (booted once for
// this file) with the convos plugin and the fake convos CLI, a scripted model endpoint that
// answers as OpenRouter does for an exhausted key (402, `{ error: { code, message } }`), and
// the real pool (the Worker under Miniflare, as `npm start` runs it) holding this instance's
// row and token. The chat must get one plain notice, never OpenClaw's error text, and the
// pool must mark the instance.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREDIT_NOTICE } from "../../runtime-container/plugins/convos/src/credit-notice.ts";
import { fetchOwnCredit } from "../../runtime-container/plugins/convos/src/pool-client.ts";
import { createFakeOpenRouter, OPENROUTER_HOST } from "../support/fakes/openrouter.ts";
import { LOCAL_POOL_KEY, type LocalSystem, startLocalSystem } from "../support/local-system.ts";

import { OPENROUTER_402, startScriptedModel, type ScriptedModel } from "../support/scripted-model.ts";
import { OPENCLAW_INSTALLED, fakeConvos, readTranscript, startRuntime, waitFor, type RuntimeHandle, type TranscriptEntry } from "./support.ts";

const MAYA = { id: "a".repeat(64), name: "Maya" };
const JON = { id: "b".repeat(64), name: "Jon" };

const MANAGEMENT_KEY = "sk-or-v1-management-local-test";
const openrouter = createFakeOpenRouter({ managementKey: MANAGEMENT_KEY });
let pool: LocalSystem;
let r: RuntimeHandle;
let model: ScriptedModel;
let instanceId: string;
let token: string;
let conversationId: string;
let seq = 0;

function say(from: { id: string; name: string }, text: string): string {
  const id = `${(++seq).toString(16).padStart(4, "0")}${"d".repeat(60)}`;
  fakeConvos(r.convosHome, ["fake-inject", conversationId, "--text", text, "--sender-name", from.name, "--sender-inbox-id", from.id, "--id", id]);
  return id;
}
const mark = () => readTranscript(r.convosHome).length;
const sentSince = (m: number): TranscriptEntry[] =>
  readTranscript(r.convosHome)
    .slice(m)
    .filter((e) => e.conversationId === conversationId && e.kind === "sent");
const turnFinished = (id: string) =>
  waitFor(
    () => new RegExp(`turn for message ${id} finished`, "u").test(r.output()),
    () => `turn for ${id}\n${r.output().slice(-4000)}`,
    120_000,
    100,
  );
const instance = async () => (await pool.api(`/api/pool/instances/${instanceId}`)).json() as Promise<{ creditsExhaustedAt: number | null; events: { reason: string | null; actor: string | null }[] }>;
const metrics = async () => (await pool.api("/metrics")).text();
// Whatever OpenClaw would have said about the failure, in any of its wordings.
const ERROR_TEXT = /⚠️|billing error|402|insufficient credits|payment required|error/iu;

beforeAll(async () => {
  if (!OPENCLAW_INSTALLED) throw new Error("openclaw is not installed in runtime-container/node_modules: run `npm install` at the repo root");
  pool = await startLocalSystem(
    { MIN_IDLE: "1", MAX_TOTAL: "2", OPENROUTER_MANAGEMENT_KEY: MANAGEMENT_KEY },
    { outboundService: (req) => (new URL(req.url).host === OPENROUTER_HOST ? openrouter.fetch(req) : new Response("no such host in this test", { status: 502 })) },
  );
  // One instance in the pool: its row holds the sealed gateway token the real runtime below uses.
  await pool.api("/api/pool/replenish", { method: "POST", json: { count: 1 } });
  const state = (await (await fetch(`${pool.supervisorUrl}/_control/state`)).json()) as { services: { instanceId: string; gatewayToken: string | null }[] };
  const svc = state.services.find((s) => s.gatewayToken);
  if (!svc) throw new Error(`no instance with a token in the simulated host: ${JSON.stringify(state)}`);
  instanceId = svc.instanceId;
  token = svc.gatewayToken!;

  model = await startScriptedModel();
  r = await startRuntime({
    gateway: "openclaw",
    env: { OPENROUTER_API_KEY: "", OPENCLAW_DEV_MODEL_URL: model.url, POOL_URL: pool.baseUrl, INSTANCE_ID: instanceId, GATEWAY_TOKEN: token },
  });
  await r.waitReady(240_000);
  const provisioned = await r.call("POST", "/pool/provision", { agentName: "Ava", instructions: "Help the group plan trips." }, token);
  expect(provisioned.status, JSON.stringify(provisioned.body)).toBe(200);
  conversationId = provisioned.body.conversationId;
  await waitFor(async () => (await r.call("GET", "/convos/status", undefined, token)).body.streaming, "conversation stream");
  // The greeting goes out without the model; wait for it so it is not counted below.
  await waitFor(() => sentSince(0).length > 0, "the greeting", 60_000, 100);
}, 300_000);

afterAll(async () => {
  if (process.env.CHAT_AGENT_DEBUG_DIR && r) {
    fs.writeFileSync(path.join(process.env.CHAT_AGENT_DEBUG_DIR, "credit-gateway.log"), r.output());
    fs.writeFileSync(path.join(process.env.CHAT_AGENT_DEBUG_DIR, "credit-transcript.json"), JSON.stringify(readTranscript(r.convosHome), null, 1));
  }
  await model?.close();
  await r?.stop();
  await pool?.stop();
}, 60_000);

describe("an agent whose model credits are used up", () => {
  it("says so once in plain words, never OpenClaw's error text, and the pool marks the instance", async () => {
    model.setFallback(OPENROUTER_402);
    const start = mark();
    const first = say(MAYA, "Ava, where should we go this weekend?");
    await turnFinished(first);
    expect(model.requests.length).toBeGreaterThan(0);
    const sent = sentSince(start);
    expect(sent.map((e) => e.text)).toEqual([CREDIT_NOTICE]);
    expect((sent[0] as { replyTo?: string }).replyTo).toBe(first);

    // The pool heard it from the instance, with the instance's own token.
    const marked = await waitFor(async () => ((await instance()).creditsExhaustedAt ? instance() : null), "the pool to mark the instance", 30_000, 200);
    expect(marked.events.filter((e) => e.reason?.startsWith("credits exhausted")).map((e) => e.actor)).toEqual(["instance"]);
    expect(marked.events.find((e) => e.reason?.startsWith("credits exhausted"))!.reason).toContain("402");
    expect(await metrics()).toContain("pool_instances_credits_exhausted 1");

    // More messages while the key stays exhausted: no second notice, no error text either.
    const second = say(JON, "Ava, are you there?");
    await turnFinished(second);
    const third = say(MAYA, "Ava??");
    await turnFinished(third);
    const all = sentSince(start);
    expect(all.map((e) => e.text)).toEqual([CREDIT_NOTICE]);
    for (const e of all) expect(e.text).not.toMatch(ERROR_TEXT);
    expect((await instance()).events.filter((e) => e.reason?.startsWith("credits exhausted"))).toHaveLength(1);
  }, 300_000);

  it("the instance reads its remaining credit with its token; a top-up through the pool clears the mark and the dashboard shows both", async () => {
    const cfg = { poolUrl: pool.baseUrl, instanceId, gatewayToken: token };
    const key = openrouter.state().keys[0]!;
    openrouter.setUsage(key.hash, 20);
    expect(await fetchOwnCredit(cfg)).toEqual({ credit: { limitUsd: 20, usageMonthlyUsd: 20, remainingUsd: 0, limitReset: "monthly", exhausted: true } });
    expect(await fetchOwnCredit({ ...cfg, gatewayToken: "not-the-token" })).toEqual({ credit: null, error: "pool answered 401" });

    const operator = await loginToDashboard();
    const overview = await operator("/admin");
    const row = (html: string) => new RegExp(`<tr data-instance="${instanceId}"[^>]*>([\\s\\S]*?)</tr>`, "u").exec(html)?.[1] ?? "";
    expect(row(overview)).toContain("data-credits-exhausted");
    expect(overview).toMatch(/data-testid="fleet-exhausted">1</u);

    const topUp = await pool.api(`/api/pool/instances/${instanceId}/credits/top-up`, { method: "POST", json: { addUsd: 10 } });
    expect(topUp.status).toBe(200);
    expect(openrouter.state().keys[0]!.limit).toBe(30);
    expect((await instance()).creditsExhaustedAt).toBeNull();
    expect(await metrics()).toContain("pool_instances_credits_exhausted 0");
    expect(await fetchOwnCredit(cfg)).toEqual({ credit: { limitUsd: 30, usageMonthlyUsd: 20, remainingUsd: 10, limitReset: "monthly", exhausted: false } });
    const after = await operator("/admin");
    expect(row(after)).toContain(instanceId);
    expect(row(after)).not.toContain("data-credits-exhausted");
  }, 60_000);
});

/** Logs in to the pool's dashboard as an operator; returns a page fetcher carrying the session. */
async function loginToDashboard(): Promise<(path: string) => Promise<string>> {
  const res = await fetch(`${pool.baseUrl}/admin/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: pool.baseUrl },
    body: new URLSearchParams({ key: LOCAL_POOL_KEY }).toString(),
    redirect: "manual",
  });
  const session = res.headers.getSetCookie().find((c) => c.startsWith("__Host-pool_admin="));
  if (res.status !== 303 || !session) throw new Error(`dashboard login failed: ${res.status}`);
  const cookie = session.split(";")[0]!;
  return async (p) => (await fetch(`${pool.baseUrl}${p}`, { headers: { cookie } })).text();
}
