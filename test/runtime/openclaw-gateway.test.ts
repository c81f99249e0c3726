// One end-to-end run against a real `openclaw gateway run` with our convos plugin loaded and
// the fake convos CLI: provision through the front server, a chat member writes, and the
// message reaches the agent inside OpenClaw, whose answer comes back into the chat.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPENCLAW_INSTALLED, alive, descendants, fakeConvos, openWebSocket, readTranscript, startRuntime, waitFor, type RuntimeHandle } from "./support.ts";

describe("with the real OpenClaw gateway", () => {
  let r: RuntimeHandle;
  let readyMs = 0;

  beforeAll(async () => {
    if (!OPENCLAW_INSTALLED) {
      throw new Error("openclaw is not installed in runtime-container/node_modules: run `npm install` at the repo root (its postinstall installs runtime-container)");
    }
    // No model key on purpose: the agent's turn fails, and OpenClaw says so in the chat,
    // which proves the whole inbound → agent → outbound path without a network.
    r = await startRuntime({ gateway: "openclaw", env: { OPENROUTER_API_KEY: "" } });
    readyMs = await r.waitReady(240_000);
  }, 250_000);

  afterAll(async () => {
    const tree = r ? descendants(r.child.pid!) : [];
    const code = await r?.stop();
    expect(code).toBe(0);
    await waitFor(() => tree.every((pid) => !alive(pid)), "gateway process tree to exit", 15_000);
  }, 40_000);

  it("becomes ready with the convos plugin loaded", async () => {
    expect(readyMs).toBeGreaterThan(0);
    expect((await r.health()).body).toEqual({ ready: true, version: "0.1.0", bound: false });
    expect(r.output()).toMatch(/http server listening \(\d+ plugins: [^)]*\bconvos\b/u);
    process.stdout.write(`[openclaw-gateway.test] /pool/health ready ${readyMs} ms after spawn\n`);
  });

  it("delivers a chat message to the agent and the agent's answer back to the chat", async () => {
    const provisioned = await r.call("POST", "/pool/provision", { agentName: "Ava", instructions: "Help the group plan." });
    expect(provisioned.status).toBe(200);
    expect(provisioned.body.status).toBe("created");
    const conversationId: string = provisioned.body.conversationId;
    await waitFor(async () => (await r.call("GET", "/convos/status")).body.streaming, "conversation stream");

    fakeConvos(r.convosHome, ["fake-inject", conversationId, "--text", "Hi Ava, what should we do Saturday?", "--sender-name", "Maya", "--id", "e2e-msg-1"]);
    await waitFor(() => /inbound message e2e-msg-1 from [0-9a-f]+ dispatched to agent main/u.test(r.output()), () => `plugin to hand the message to OpenClaw\n${r.output().slice(-4000)}`, 90_000, 200);
    await waitFor(() => /message processed: channel=convos chatId=convos:[0-9a-f]+ messageId=e2e-msg-1/u.test(r.output()), () => `OpenClaw to process the message\n${r.output().slice(-4000)}`, 120_000, 200);
    const reply = await waitFor(
      () => readTranscript(r.convosHome).find((e) => e.kind === "sent" && e.conversationId === conversationId),
      () => `the agent's answer in the chat\n${r.output().slice(-4000)}`,
      60_000,
      200,
    );
    expect(reply.text?.length).toBeGreaterThan(0);
  }, 300_000);

  it("proxies WebSocket upgrades to the gateway", async () => {
    const ws = openWebSocket(`ws://127.0.0.1:${r.port}/`, { origin: `http://127.0.0.1:${r.port}` });
    const opened = await new Promise<boolean>((resolve) => {
      ws.on("open", () => resolve(true));
      ws.on("unexpected-response", () => resolve(false));
      ws.on("error", () => resolve(false));
    });
    ws.close();
    expect(opened).toBe(true);
  });
});
