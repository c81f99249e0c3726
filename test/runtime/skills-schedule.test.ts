// Scheduling, quiet-by-default and honest skills with a real `openclaw gateway` (booted once,
// restarted once for the survive-a-restart case) driven by the scripted model: a reminder
// the agent sets for the group arrives in the conversation (the fake CLI's transcript) when
// due, also after a restart of the whole runtime; an explosion removes what is scheduled; an
// idle agent makes no model call; a skill whose credential is missing is neither offered to
// the model nor reported to the pool.
import fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ModelRequest, type ScriptedModel, startScriptedModel, systemPrompt } from "../support/scripted-model.ts";
import { BROWSER_CAPABILITY, OPENCLAW_INSTALLED, fakeConvos, tempDir, readTranscript, startRuntime, type RuntimeHandle, type TranscriptEntry, waitFor } from "./support.ts";

const MAYA = { id: "a".repeat(64), name: "Maya" };
// BANKR has its key, AGENTMAIL and TELNYX have none: payments is on, email and SMS are off.
const ENV = { OPENROUTER_API_KEY: "", BANKR_API_KEY: "bk-test-key", AGENTMAIL_API_KEY: "", TELNYX_API_KEY: "" };

let r: RuntimeHandle;
let model: ScriptedModel;
let stateDir: string;
let conversationId: string;
let seq = 0;

const boot = async () => {
  r = await startRuntime({ gateway: "openclaw", stateDir, env: { ...ENV, OPENCLAW_DEV_MODEL_URL: model.url } });
  await r.waitReady(240_000);
};
const say = (text: string) => {
  const id = `${(++seq).toString(16).padStart(4, "0")}${"d".repeat(60)}`;
  fakeConvos(r.convosHome, ["fake-inject", conversationId, "--text", text, "--sender-name", MAYA.name, "--sender-inbox-id", MAYA.id, "--id", id]);
  return id;
};
const sent = (): Array<TranscriptEntry & { replyTo?: string }> => readTranscript(r.convosHome).filter((e) => e.conversationId === conversationId && e.kind === "sent");
const turnFinished = (id: string) =>
  waitFor(
    () => new RegExp(`turn for message ${id} finished`, "u").test(r.output()),
    () => `turn ${id}\n${r.output().slice(-3000)}`,
    120_000,
    100,
  );
/** The model calls the convos `reminders` tool (a deferred tool: called through tool_call). */
const reminders = (args: Record<string, unknown> | (() => Record<string, unknown>)) => () => ({
  toolCalls: [{ name: "tool_call", arguments: { id: "reminders", args: typeof args === "function" ? args() : args } }],
});
/** OpenClaw's scheduler store, read directly: what is really scheduled, whatever the plugin says. */
const scheduled = (): Array<{ name: string; enabled: number; payload_kind: string }> => {
  const db = new DatabaseSync(path.join(stateDir, "openclaw", "state", "openclaw.sqlite"), { readOnly: true });
  try {
    return db.prepare("select name, enabled, payload_kind from cron_jobs").all() as never;
  } finally {
    db.close();
  }
};
const reminderJobs = () => scheduled().filter((j) => j.name.startsWith("convos-reminder:"));
const toolResult = (q: ModelRequest) => JSON.stringify(q.messages.filter((m) => m.role === "tool"));

beforeAll(async () => {
  if (!OPENCLAW_INSTALLED) throw new Error("openclaw is not installed in runtime-container/node_modules: run `npm install` at the repo root");
  model = await startScriptedModel();
  stateDir = tempDir("skills-schedule");
  await boot();
  // /pool/health can say ready while the identity is still being registered (the service is
  // busy, so not "clean", so the identity check is skipped); the pool would see a 409 then too.
  await waitFor(async () => {
    const status = (await r.call("GET", "/convos/status")).body;
    return status.clean && status.identity?.state === "registered";
  }, "the XMTP identity");
  const provisioned = await r.call("POST", "/pool/provision", { agentName: "Ava", instructions: "Help the group plan a camping trip." });
  expect(provisioned.status, JSON.stringify(provisioned.body)).toBe(200);
  conversationId = provisioned.body.conversationId;
  await waitFor(async () => (await r.call("GET", "/convos/status")).body.streaming, "conversation stream");
  await waitFor(() => sent().length === 1, "the greeting", 60_000, 100);
}, 300_000);

afterAll(async () => {
  if (process.env.SKILLS_SCHEDULE_DEBUG_DIR && r) {
    fs.writeFileSync(path.join(process.env.SKILLS_SCHEDULE_DEBUG_DIR, "gateway.log"), r.output());
    fs.writeFileSync(path.join(process.env.SKILLS_SCHEDULE_DEBUG_DIR, "requests.json"), JSON.stringify(model.requests, null, 1));
  }
  await model?.close();
  expect(await r?.stop()).toBe(0);
  fs.rmSync(stateDir, { recursive: true, force: true });
}, 40_000);

afterEach(() => expect(model.pending()).toBe(0));

describe("quiet by default", () => {
  it("an idle agent makes no model call: no heartbeat cadence, no dreaming, no background reviews", async () => {
    const before = model.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    expect(model.requests.length).toBe(before);
    expect(model.requests).toHaveLength(0);
    // OpenClaw's own account of why: the recurring heartbeat is off, and nothing else it
    // schedules by itself would wake the agent (the nightly dreaming and weekly skill review).
    expect(r.output()).toMatch(/\[heartbeat\]\S* \S*disabled/u);
    const spenders = scheduled().filter((j) => j.enabled && j.payload_kind === "agentTurn");
    expect(spenders).toEqual([]);
    expect(scheduled().map((j) => j.name)).not.toContain("Memory Dreaming Promotion");
  }, 60_000);
});

describe("honest skills", () => {
  it("reports only what this instance has to the pool", async () => {
    const health = await r.health();
    expect(health.body).toMatchObject({ ready: true, bound: true });
    // No OpenRouter key here: no search, no voice notes; the machine's Chromium makes the browser real.
    expect(health.body.capabilities).toEqual([...BROWSER_CAPABILITY, "files", "payments", "scheduling"]);
  });

  it("offers the model only skills whose credential is present, and the reminders tool", async () => {
    model.script({ text: "I can't send email from this chat, but I can remind you." });
    const id = say("Ava, can you email the campsite for us?");
    await turnFinished(id);
    const q = model.requests.at(-1)!;
    const skills = [...systemPrompt(q).matchAll(/<skill>\s*<name>([^<]+)<\/name>/gu)].map((m) => m[1]);
    expect(skills).toContain("bankr");
    expect(skills).not.toContain("agentmail");
    expect(skills).not.toContain("telnyx-cli");
    expect(systemPrompt(q)).toMatch(/- reminders \(convos\)/u);
    // The workspace tells it to say so plainly when asked for something it does not have.
    expect(systemPrompt(q)).toContain("say so plainly in one sentence");
    expect(sent().at(-1)).toMatchObject({ text: "I can't send email from this chat, but I can remind you.", replyTo: id });
  }, 150_000);
});

describe("scheduling", () => {
  it("delivers a reminder set a few seconds ahead into the conversation", async () => {
    const before = sent().length;
    model.script(
      reminders(() => ({ action: "set", text: "pack the tent", at: new Date(Date.now() + 5_000).toISOString() })),
      { text: "Will do — in a few seconds." },
    );
    const id = say("Ava, remind us in a few seconds to pack the tent");
    await turnFinished(id);
    expect(toolResult(model.requests.at(-1)!)).toMatch(/Done: scheduled at \S+: pack the tent/u);
    expect(reminderJobs()).toHaveLength(1);
    // When due, the scheduler wakes the agent with the reminder and its answer goes to the chat.
    model.script({ text: "⏰ Reminder: pack the tent!" });
    await waitFor(() => sent().length >= before + 2, "the reminder in the chat", 90_000, 200);
    expect(
      sent()
        .slice(before)
        .map((e) => e.text),
    ).toEqual(["Will do — in a few seconds.", "⏰ Reminder: pack the tent!"]);
    const wake = model.requests.at(-1)!;
    expect(JSON.stringify(wake.messages)).toContain("pack the tent");
    // One-off: gone from the scheduler once delivered.
    await waitFor(() => reminderJobs().length === 0, "the one-off job to be removed after delivery", 20_000, 200);
  }, 180_000);

  it("keeps a reminder across a restart of the runtime and delivers it after", async () => {
    const dueAt = Date.now() + 100_000;
    model.script(reminders({ action: "set", text: "buy marshmallows", at: new Date(dueAt).toISOString() }), { text: "Set for later." });
    const id = say("Ava, remind us later to buy marshmallows");
    await turnFinished(id);
    expect(reminderJobs()).toHaveLength(1);
    const before = sent().length;
    expect(await r.stop()).toBe(0);
    await boot();
    expect(reminderJobs()).toHaveLength(1);
    model.script({ text: "Reminder: buy marshmallows 🔥" });
    await waitFor(() => sent().length > before, "the reminder after the restart", Math.max(dueAt - Date.now(), 0) + 120_000, 500);
    expect(sent().at(-1)!.text).toBe("Reminder: buy marshmallows 🔥");
    expect(Date.now()).toBeGreaterThanOrEqual(dueAt);
  }, 420_000);

  it("removes what is scheduled when the conversation explodes", async () => {
    model.script(reminders({ action: "set", text: "weekly packing check", cron: "0 9 * * 1", tz: "Europe/Lisbon" }), { text: "Every Monday at 9." });
    const id = say("Ava, every Monday at 9 remind us to check the packing list");
    await turnFinished(id);
    expect(reminderJobs()).toHaveLength(1);
    const exploded = await r.call("POST", "/convos/explode", {});
    expect(exploded.status).toBe(200);
    await waitFor(() => reminderJobs().length === 0, "the reminders to be removed", 30_000, 200);
    expect(r.output()).toMatch(/removed 1 scheduled reminder\b/u);
  }, 150_000);
});
