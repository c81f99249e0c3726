import fs from "node:fs";
import { afterAll, beforeAll, it, expect } from "vitest";
import { startScriptedModel, type ScriptedModel } from "../support/scripted-model.ts";
import { fakeConvos, readTranscript, startRuntime, waitFor, type RuntimeHandle } from "./support.ts";

let r: RuntimeHandle;
let model: ScriptedModel;
let conversationId: string;
beforeAll(async () => {
  model = await startScriptedModel();
  r = await startRuntime({ gateway: "openclaw", env: { OPENROUTER_API_KEY: "", OPENCLAW_DEV_MODEL_URL: model.url, BANKR_API_KEY: "bk-test" } });
  await r.waitReady(240_000);
  const p = await r.call("POST", "/pool/provision", { agentName: "Ava", instructions: "Help." });
  conversationId = p.body.conversationId;
  await waitFor(async () => (await r.call("GET", "/convos/status")).body.streaming, "stream");
}, 300_000);
afterAll(async () => {
  fs.writeFileSync("/tmp/ss/gateway.log", r.output());
  fs.writeFileSync("/tmp/ss/transcript.json", JSON.stringify(readTranscript(r.convosHome), null, 1));
  fs.writeFileSync("/tmp/ss/requests.json", JSON.stringify(model.requests, null, 1));
  await model?.close();
  await r?.stop();
}, 40_000);
it("explores", async () => {
  const at = new Date(Date.now() + 8000).toISOString();
  model.script(
    () => ({ toolCalls: [{ name: "tool_call", arguments: { id: "reminders", args: { action: "set", text: "pack the tent", at: new Date(Date.now() + 6000).toISOString() } } }] }),
    { text: "Reminder set." },
    { text: "Reminder: pack the tent!" },
  );
  fakeConvos(r.convosHome, ["fake-inject", conversationId, "--text", "Ava remind us in 8 seconds to pack the tent", "--sender-name", "Maya", "--sender-inbox-id", "a".repeat(64), "--id", "0001" + "c".repeat(60)]);
  await new Promise((res) => setTimeout(res, 40_000));
  expect(1).toBe(1);
}, 120_000);
