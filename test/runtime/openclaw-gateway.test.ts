// One end-to-end run against a real `openclaw gateway run` with our convos plugin loaded and
// the fake convos CLI: provision through the front server, a chat member writes, the message
// reaches the agent inside OpenClaw (with sender, message id and group context), the agent's
// model answers, and the answer comes back into the chat through the plugin.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeModel } from "./fake-model.ts";
import { OPENCLAW_INSTALLED, alive, descendants, fakeConvos, openWebSocket, readTranscript, startRuntime, waitFor, type RuntimeHandle } from "./support.ts";

const ANSWER = "Saturday: hike at 9, then lunch at the market at 1.";

describe("with the real OpenClaw gateway", () => {
  let r: RuntimeHandle;
  let readyMs = 0;
  const model = fakeModel(ANSWER);

  beforeAll(async () => {
    if (!OPENCLAW_INSTALLED) {
      throw new Error("openclaw is not installed in runtime-container/node_modules: run `npm install` at the repo root (its postinstall installs runtime-container)");
    }
    await new Promise<void>((resolve) => model.server.listen(0, "127.0.0.1", resolve));
    const modelUrl = `http://127.0.0.1:${(model.server.address() as { port: number }).port}/v1`;
    r = await startRuntime({ gateway: "openclaw", env: { OPENROUTER_API_KEY: "", OPENCLAW_DEV_MODEL_URL: modelUrl } });
    readyMs = await r.waitReady(240_000);
  }, 250_000);

  afterAll(async () => {
    model.server.close();
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
    const reply = await waitFor(
      // The agent introduces itself first; the answer is the message threaded to the question.
      () => readTranscript(r.convosHome).find((e) => e.kind === "sent" && e.conversationId === conversationId && (e as { replyTo?: string }).replyTo === "e2e-msg-1"),
      () => `the agent's answer in the chat\n${r.output().slice(-4000)}`,
      180_000,
      200,
    );
    expect(reply.text).toBe(ANSWER);
    expect(r.output()).toMatch(/inbound message e2e-msg-1 from [0-9a-f]{12} dispatched to agent main \(names_agent\)/u);
    // What the model saw: the member's words, who said them, the message id and that it is a group chat.
    const prompt = JSON.stringify(model.requests.at(-1)?.messages);
    expect(prompt).toContain("Hi Ava, what should we do Saturday?");
    expect(prompt).toContain("Maya");
    expect(prompt).toContain("e2e-msg-1");
    expect(prompt).toMatch(/is_group_chat\\*":true/u);
  }, 200_000);

  it("proxies WebSocket upgrades to the gateway", async () => {
    const ws = openWebSocket(`ws://127.0.0.1:${r.port}/`);
    const firstFrame = await new Promise<string>((resolve, reject) => {
      ws.on("message", (data: Buffer) => resolve(data.toString()));
      ws.on("unexpected-response", () => reject(new Error("upgrade refused")));
      ws.on("error", reject);
    });
    ws.close();
    // OpenClaw greets every WebSocket client with a connect challenge.
    expect(JSON.parse(firstFrame)).toMatchObject({ type: "event", event: "connect.challenge" });
  });
});
