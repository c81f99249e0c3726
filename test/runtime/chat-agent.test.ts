// The agent in a group chat, end to end: a real `openclaw gateway` (booted once for this file)
// with the convos plugin and the fake convos CLI, driven by a scripted model. Each case makes a
// member do something (write, reply, react, share a file, change the group), chooses what the
// model answers, and asserts what reached the conversation (the fake's transcript) and what
// the model was given. The same boot also checks the gateway's readiness, the WebSocket proxy
// and a clean shutdown of the whole process tree.
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { greetingText } from "../../runtime-container/plugins/convos/src/greeting.ts";
import { imageParts, lastUserMessage, messageText, startScriptedModel, systemPrompt, type ModelRequest, type ScriptedModel } from "../support/scripted-model.ts";
import {
  BROWSER_CAPABILITY,
  OPENCLAW_INSTALLED,
  alive,
  descendants,
  fakeConvos,
  openWebSocket,
  readTranscript,
  startRuntime,
  tempDir,
  waitFor,
  type RuntimeHandle,
  type TranscriptEntry,
} from "./support.ts";

const INSTRUCTIONS = "Help the group plan weekend trips. Keep a shared packing list.";
const MAYA = { id: "a".repeat(64), name: "Maya" };
const JON = { id: "b".repeat(64), name: "Jon" };

let r: RuntimeHandle;
let model: ScriptedModel;
let conversationId: string;
let seq = 0;
let readyMs = 0;
let healthBeforeClaim: unknown;

/** A member acts in the conversation (fake-only `fake-inject`); returns the message id. */
function inject(from: { id: string; name: string }, args: string[]): string {
  const id = `${(++seq).toString(16).padStart(4, "0")}${"c".repeat(60)}`;
  fakeConvos(r.convosHome, ["fake-inject", conversationId, ...args, "--sender-name", from.name, "--sender-inbox-id", from.id, "--id", id]);
  return id;
}
const say = (from: { id: string; name: string }, text: string) => inject(from, ["--text", text]);

/** Transcript entries of the conversation written after `mark` (an index from `mark()`). */
const since = (mark: number): TranscriptEntry[] =>
  readTranscript(r.convosHome)
    .slice(mark)
    .filter((e) => e.conversationId === conversationId && e.kind !== "command" && e.kind !== "injected");
const mark = () => readTranscript(r.convosHome).length;
const logLine = (pattern: RegExp) =>
  waitFor(
    () => pattern.test(r.output()),
    () => `log ${pattern}\n${r.output().slice(-3000)}`,
    120_000,
    100,
  );
const turnFinished = (id: string) => logLine(new RegExp(`turn for message ${id} finished`, "u"));
const notATurn = (id: string, reason: string) => logLine(new RegExp(`message ${id} \\(\\w+\\) is not a turn: ${reason}`, "u"));
const requestFor = (needle: string): ModelRequest => {
  const found = model.requests.find((q) => messageText(lastUserMessage(q) ?? { role: "user", content: "" }).includes(needle) || JSON.stringify(q.messages.slice(-3)).includes(needle));
  if (!found) throw new Error(`no model request about ${needle}`);
  return found;
};
/** A model step calling OpenClaw's message tool (deferred tools are called through tool_call). */
const messageTool = (args: Record<string, unknown>) => ({ toolCalls: [{ name: "tool_call", arguments: { id: "message", args } }] });
/** Images in the user messages of a request that mention `needle` (the turn's own message). */
const imagesWith = (q: ModelRequest, needle: string) => imageParts({ ...q, messages: q.messages.filter((m) => m.role === "user" && JSON.stringify(m.content).includes(needle)) });
/** Everything the model was given in a request, as one searchable string. */
const given = (q: ModelRequest) => JSON.stringify(q.messages);

beforeAll(async () => {
  if (!OPENCLAW_INSTALLED) throw new Error("openclaw is not installed in runtime-container/node_modules: run `npm install` at the repo root");
  model = await startScriptedModel();
  // An upload provider lets `attach` work (the fake CLI checks for one as the real one does).
  r = await startRuntime({
    gateway: "openclaw",
    env: { OPENROUTER_API_KEY: "", AGENTMAIL_API_KEY: "", TELNYX_API_KEY: "", BANKR_API_KEY: "", OPENCLAW_DEV_MODEL_URL: model.url, CONVOS_UPLOAD_PROVIDER: "convos-api" },
  });
  readyMs = await r.waitReady(240_000);
  healthBeforeClaim = (await r.health()).body;
  const provisioned = await r.call("POST", "/pool/provision", { agentName: "Ava", instructions: INSTRUCTIONS });
  expect(provisioned.status, JSON.stringify(provisioned.body)).toBe(200);
  conversationId = provisioned.body.conversationId;
  await waitFor(async () => (await r.call("GET", "/convos/status")).body.streaming, "conversation stream");
}, 300_000);

afterAll(async () => {
  if (process.env.CHAT_AGENT_DEBUG_DIR && r) {
    fs.writeFileSync(path.join(process.env.CHAT_AGENT_DEBUG_DIR, "gateway.log"), r.output());
    fs.writeFileSync(path.join(process.env.CHAT_AGENT_DEBUG_DIR, "transcript.json"), JSON.stringify(readTranscript(r.convosHome), null, 1));
    fs.writeFileSync(path.join(process.env.CHAT_AGENT_DEBUG_DIR, "requests.json"), JSON.stringify(model.requests, null, 1));
  }
  await model?.close();
  // SIGTERM stops the front server, the gateway and everything it started (agent serve).
  const tree = r ? descendants(r.child.pid!) : [];
  expect(await r?.stop()).toBe(0);
  await waitFor(() => tree.every((pid) => !alive(pid)), "gateway process tree to exit", 15_000);
}, 40_000);

// Every scripted answer was asked for: a turn that never reached the model would leave one.
afterEach(() => expect(model.pending()).toBe(0));

describe("the instance with a real OpenClaw gateway", () => {
  it("becomes ready with the convos plugin loaded, unbound until claimed", () => {
    expect(readyMs).toBeGreaterThan(0);
    // The browser is reported only where its binary is (the image's Chromium, here Debian's).
    expect(healthBeforeClaim).toEqual({ ready: true, version: "0.1.0", bound: false, capabilities: [...BROWSER_CAPABILITY, "files", "scheduling"] });
    expect(r.output()).toMatch(/http server listening \(\d+ plugins: [^)]*\bconvos\b/u);
    process.stdout.write(`[chat-agent.test] /pool/health ready ${readyMs} ms after spawn\n`);
  });

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

describe("the agent in a group chat", () => {
  it("introduces itself once, from its name and instructions, without asking the model", async () => {
    const greeting = await waitFor(() => since(0).find((e) => e.kind === "sent"), "the greeting", 60_000, 100);
    expect(greeting.text).toBe(greetingText("Ava", INSTRUCTIONS));
    expect(greeting.text).toContain("Ava");
    expect(greeting.text).toContain("Help the group plan weekend trips");
    expect(model.requests).toHaveLength(0);
  });

  it("learns the room from a group update without taking a turn", async () => {
    const id = inject(MAYA, ["--event", "member_added", "--member-inbox-id", JON.id, "--member-name", JON.name]);
    await notATurn(id, "group_update");
    // Jon's app publishes his profile: the agent learns his name from the profile update.
    inject(JON, ["--event", "profile", "--name", JON.name]);
    expect(model.requests).toHaveLength(0);
  });

  it("answers a message that names it: 👀 first, a threaded plain-text reply, then the 👀 goes", async () => {
    model.script({ text: "**Saturday**: hike at 9\n- bring water\n- see [the trail](https://trails.example/x)" });
    const start = mark();
    const id = say(MAYA, "Ava, what should we do on Saturday?");
    await turnFinished(id);
    await waitFor(() => since(start).some((e) => e.kind === "reaction" && e.action === "remove"), "the 👀 to be taken back", 10_000);
    expect(since(start).map((e) => [e.kind, e.kind === "sent" ? e.text : e.emoji, e.kind === "sent" ? (e as { replyTo?: string }).replyTo : e.action])).toEqual([
      ["reaction", "👀", "add"],
      ["sent", "Saturday: hike at 9\n• bring water\n• see the trail (https://trails.example/x)", id],
      ["reaction", "👀", "remove"],
    ]);
    for (const e of since(start).filter((x) => x.kind === "reaction")) expect(e.messageId).toBe(id);

    const q = requestFor("what should we do on Saturday?");
    const system = systemPrompt(q);
    expect(system).toContain('Your name in this Convos group chat is "Ava"');
    expect(system).toContain(INSTRUCTIONS);
    expect(system).toContain("Activation: always-on");
    expect(system).toContain('If no text reply is needed, including after a reaction or other action, reply with exactly "NO_REPLY"');
    const context = given(q);
    expect(context).toMatch(/group_subject\\*":\\*"Ava/u);
    expect(context).toMatch(/group_members\\*":\\*"Jon, Maya \(and you, Ava\)/u);
    expect(context).toMatch(/explicitly_mentioned_bot\\*":true/u);
    expect(context).toContain("addressed to you: it names you");
    const now = /current_time\\*":\\*"([0-9T:.-]+Z)/u.exec(context)?.[1];
    expect(Math.abs(Date.parse(now!) - Date.now())).toBeLessThan(120_000);
    expect(context).toContain(id);
    expect(context).toMatch(/is_group_chat\\*":true/u);
    expect(r.output()).toMatch(new RegExp(`inbound message ${id} from ${MAYA.id.slice(0, 12)} dispatched to agent main \\(names_agent\\)`, "u"));
  }, 150_000);

  it("stays silent on chatter between people when the model answers NO_REPLY", async () => {
    model.script({ text: "NO_REPLY" });
    const start = mark();
    const id = say(JON, "Maya, are you driving or should I?");
    await turnFinished(id);
    const q = requestFor("are you driving or should I?");
    expect(given(q)).toContain("not addressed to you");
    expect(given(q)).not.toMatch(/explicitly_mentioned_bot\\*":true/u);
    expect(since(start)).toEqual([]);
  }, 150_000);

  it("does not take a turn for reactions between members", async () => {
    const mayas = say(MAYA, "I'll bring snacks");
    await turnFinished(mayas);
    const before = model.requests.length;
    const id = inject(JON, ["--reaction", "👍", "--to", mayas]);
    await notATurn(id, "reaction_between_others");
    expect(model.requests.length).toBe(before);
  });

  it("sees a reaction to its own message as a turn, without 👀, and may let it be", async () => {
    const own = since(0).find((e) => e.kind === "sent")!;
    model.script({ text: "NO_REPLY" });
    const start = mark();
    const id = inject(MAYA, ["--reaction", "❤️", "--to", (own as { id?: string }).id!]);
    await turnFinished(id);
    const q = requestFor("reacted ❤️ to your message");
    expect(given(q)).toContain("a reaction to one of your messages");
    expect(since(start)).toEqual([]);
  }, 150_000);

  it("can answer with a reaction alone: nothing but the emoji reaches the chat", async () => {
    let thanksId = "";
    model.script(() => messageTool({ action: "react", messageId: thanksId, emoji: "🙏" }), { text: "NO_REPLY" });
    const start = mark();
    thanksId = say(MAYA, "thanks Ava, perfect!");
    await turnFinished(thanksId);
    await waitFor(() => since(start).some((e) => e.kind === "reaction" && e.emoji === "👀" && e.action === "remove"), "the 👀 to be taken back", 10_000);
    expect(since(start).map((e) => [e.kind, e.emoji, e.action, e.messageId])).toEqual([
      ["reaction", "👀", "add", thanksId],
      ["reaction", "🙏", "add", thanksId],
      ["reaction", "👀", "remove", thanksId],
    ]);
  }, 150_000);

  it("treats a reply to its message as addressed and sees what was replied to", async () => {
    const own = since(0)
      .filter((e) => e.kind === "sent")
      .at(-1)! as TranscriptEntry & { id: string };
    // The group gets a new name first: not a turn, but the next turn knows it.
    const renamed = inject(MAYA, ["--event", "rename", "--name", "Lisbon trip"]);
    await notATurn(renamed, "group_update");
    model.script({ text: "Done, 9 it is." });
    const start = mark();
    const id = inject(JON, ["--text", "can we make it 10?", "--reply-to", own.id]);
    await turnFinished(id);
    const q = requestFor("can we make it 10?");
    expect(given(q)).toMatch(/group_subject\\*":\\*"Lisbon trip/u);
    expect(given(q)).toContain("addressed to you: it replies to one of your messages");
    expect(given(q)).toContain(own.id);
    expect(
      since(start)
        .filter((e) => e.kind === "sent")
        .map((e) => [e.text, (e as { replyTo?: string }).replyTo]),
    ).toEqual([["Done, 9 it is.", id]]);
  }, 150_000);

  it("updates its profile when asked, through its message tool", async () => {
    model.script(messageTool({ action: "set-profile", displayName: "Ava the Planner" }), { text: "Done — call me Ava the Planner." });
    const start = mark();
    const id = say(MAYA, "Ava, please rename yourself to Ava the Planner");
    await turnFinished(id);
    const entries = since(start);
    expect(entries.find((e) => e.kind === "update-profile")).toMatchObject({ name: "Ava the Planner" });
    expect(entries.filter((e) => e.kind === "sent").map((e) => e.text)).toEqual(["Done — call me Ava the Planner."]);
  }, 150_000);

  it("updates its profile over HTTP with the pool's bearer, and names bad input", async () => {
    const start = mark();
    expect((await r.call("POST", "/convos/profile", { name: "Ava" }, null)).status).toBe(401);
    const bad = await r.call("POST", "/convos/profile", { nickname: "x" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
    expect((await r.call("POST", "/convos/profile", { image: "file:///etc/passwd" })).status).toBe(400);
    const ok = await r.call("POST", "/convos/profile", { name: "Ava" });
    expect(ok).toEqual({ status: 200, body: { ok: true, name: "Ava", imageUpdated: false } });
    expect(
      since(start)
        .filter((e) => e.kind === "update-profile")
        .map((e) => e.name),
    ).toEqual(["Ava"]);
  });

  describe("files", () => {
    const files = tempDir("chat-files");
    // A 1×1 PNG: real image bytes, so the agent's type check accepts it.
    const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==", "base64");
    const file = (name: string, data: Buffer | string) => {
      const p = path.join(files, name);
      fs.writeFileSync(p, data);
      return p;
    };
    const workspace = () => path.join(r.stateDir, "workspace");

    it("shows an image a member shares to the model as an image, stored in the workspace", async () => {
      model.script({ text: "What a view!" });
      const start = mark();
      const id = inject(MAYA, ["--attachment", file("summit.png", PNG)]);
      await turnFinished(id);
      const q = requestFor("shared an image: summit.png");
      expect(imagesWith(q, "summit.png")).toEqual([`data:image/png;base64,${PNG.toString("base64")}`]);
      const stored = fs.readdirSync(path.join(workspace(), "attachments")).find((n) => n.endsWith("summit.png"))!;
      expect(fs.readFileSync(path.join(workspace(), "attachments", stored)).equals(PNG)).toBe(true);
      expect(given(q)).toContain(`attachments/${stored}`);
      expect(
        since(start)
          .filter((e) => e.kind === "sent")
          .map((e) => [e.text, (e as { replyTo?: string }).replyTo]),
      ).toEqual([["What a view!", id]]);
    }, 150_000);

    it("saves other files in the workspace and tells the agent their name and place", async () => {
      model.script({ text: "NO_REPLY" });
      const id = inject(JON, ["--attachment", file("packing-list.txt", "tent\nstove\n"), "--remote"]);
      await turnFinished(id);
      const q = requestFor("shared a file: packing-list.txt");
      expect(imagesWith(q, "packing-list.txt")).toEqual([]);
      const stored = fs.readdirSync(path.join(workspace(), "attachments")).find((n) => n.endsWith("packing-list.txt"))!;
      expect(fs.readFileSync(path.join(workspace(), "attachments", stored), "utf8")).toBe("tent\nstove\n");
      expect(given(q)).toContain(`saved in your workspace as attachments/${stored}`);
    }, 150_000);

    it("answers an oversized file or a fake image with a polite line, without a turn", async () => {
      const before = model.requests.length;
      const start = mark();
      const big = inject(MAYA, ["--attachment", file("video.mov", Buffer.alloc(11 * 1024 * 1024, 1)), "--remote"]);
      const fake = inject(MAYA, ["--attachment", file("cat.png", "not really a png")]);
      await waitFor(() => since(start).filter((e) => e.kind === "sent").length >= 2, "two polite lines", 60_000, 100);
      const lines = since(start).filter((e) => e.kind === "sent");
      expect(lines.map((e) => (e as { replyTo?: string }).replyTo)).toEqual([big, fake]);
      expect(lines[0]!.text).toMatch(/^"video\.mov" is too big for me to open \(11\.0 MB; I can take files up to 10\.0 MB\)\.$/u);
      expect(lines[1]!.text).toContain('I couldn\'t open "cat.png"');
      expect(model.requests.length).toBe(before);
      expect(fs.readdirSync(path.join(workspace(), "attachments")).filter((n) => n.endsWith("cat.png") || n.endsWith("video.mov"))).toEqual([]);
    }, 150_000);

    it("sends a file from its workspace when asked, and refuses one outside it", async () => {
      fs.writeFileSync(path.join(workspace(), "itinerary.txt"), "Sat: hike\nSun: market\n");
      /** Maya asks for a file; the model sends `filePath` and says `answer`; what reached the chat. */
      const askForFile = async (filePath: string, answer: string) => {
        model.script(messageTool({ action: "sendAttachment", filePath }), { text: answer });
        const start = mark();
        await turnFinished(say(MAYA, `Ava, can you send us ${filePath}?`));
        return {
          attachments: since(start).filter((e) => e.kind === "attachment"),
          texts: since(start)
            .filter((e) => e.kind === "sent")
            .map((e) => e.text),
        };
      };
      const ok = await askForFile("itinerary.txt", "Here it is.");
      expect(ok.attachments).toMatchObject([{ filename: "itinerary.txt", size: 22 }]);
      expect(ok.texts).toEqual(["Here it is."]);
      expect(fs.readdirSync(path.join(workspace(), ".convos-outbox"))).toEqual([]);
      // A prompt cannot make it post its own state files: only workspace files go out.
      const refused = await askForFile("../convos-binding.json", "I can only send files from my workspace.");
      expect(refused).toEqual({ attachments: [], texts: ["I can only send files from my workspace."] });
    }, 150_000);
  });

  it("does not introduce itself again when its stream restarts", async () => {
    const greetings = () => since(0).filter((e) => e.kind === "sent" && e.text === greetingText("Ava", INSTRUCTIONS)).length;
    expect(greetings()).toBe(1);
    const restartsBefore = (await r.call("GET", "/convos/status")).body.serveRestarts as number;
    fakeConvos(r.convosHome, ["fake-inject", conversationId, "--event", "crash"]);
    await waitFor(
      async () => {
        const status = (await r.call("GET", "/convos/status")).body;
        return status.serveRestarts > restartsBefore && status.streaming;
      },
      "agent serve to be back",
      60_000,
      200,
    );
    // A turn after the restart: a second greeting, decided on `ready`, would be in the chat first.
    model.script({ text: "Still here." });
    const id = say(MAYA, "Ava, are you still there?");
    await turnFinished(id);
    expect(greetings()).toBe(1);
    expect(fs.existsSync(path.join(r.stateDir, "convos-greeting.json"))).toBe(true);
  }, 150_000);
});
