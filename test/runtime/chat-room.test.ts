// The group-chat decisions without I/O: what is a turn, who is addressed, what the room is
// called and who is in it, how markdown reads as plain text, and the one-time greeting.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { inspectDownloaded, planAttachment, resolveWorkspaceFile, safeFileName, sniffImageType } from "../../runtime-container/plugins/convos/src/attachments.ts";
import { GreetingMarker, briefFromInstructions, greetOnce, greetingText } from "../../runtime-container/plugins/convos/src/greeting.ts";
import { markdownToPlainText } from "../../runtime-container/plugins/convos/src/plain-text.ts";
import { CONTENT_TYPES } from "../../runtime-container/plugins/convos/src/cli-protocol.ts";
import { fromServeMessage, type InboundMessage } from "../../runtime-container/plugins/convos/src/inbound-message.ts";
import { decideTurn, namesAgent, wantsAcknowledgement } from "../../runtime-container/plugins/convos/src/room-policy.ts";
import { RoomState } from "../../runtime-container/plugins/convos/src/room-state.ts";
import { profileUpdate } from "../../runtime-container/plugins/convos/src/profile.ts";
import { groupSystemPrompt, turnContextFields } from "../../runtime-container/plugins/convos/src/turn-context.ts";
import { tempDir } from "./support.ts";

const AGENT = "agent-inbox";

function room(members = ["maya", "jon"]) {
  const state = new RoomState({ selfName: "Ava" });
  state.ready({ inboxId: AGENT, name: "Weekend plans" });
  for (const id of members) state.member(id, id === "maya" ? "Maya" : "Jon");
  state.rememberOwn("agent-msg-1");
  return state;
}

/** A message as the real CLI prints it (`content` is its display string), read by the plugin. */
function message(content: string, type: keyof typeof CONTENT_TYPES = "text", sender = { id: "maya", name: "Maya" }): InboundMessage {
  return fromServeMessage("conv-1", {
    event: "message",
    id: "m1",
    senderInboxId: sender.id,
    senderProfile: { name: sender.name },
    contentType: CONTENT_TYPES[type],
    content,
    sentAt: new Date().toISOString(),
    deliveryStatus: 1,
  });
}
const text = (content: string) => message(content);
const reaction = (content: string) => message(content, "reaction");
const reply = (content: string) => message(content, "reply");
const update = (content: string) => message(content, "groupUpdated");

describe("what is a turn", () => {
  it("group updates are never turns", () => {
    expect(decideTurn(update("Maya added Jon"), room().facts())).toEqual({ turn: false, reason: "group_update" });
  });

  it("reactions are turns only on the agent's own messages, and never when taken back", () => {
    const facts = room().facts();
    expect(decideTurn(reaction("reacted 👍 to jons-msg"), facts)).toEqual({ turn: false, reason: "reaction_between_others" });
    const onOwn = decideTurn(reaction("reacted 👍 to agent-msg-1"), facts);
    expect(onOwn).toEqual({ turn: true, addressed: true, reason: "reaction_to_agent" });
    expect(wantsAcknowledgement(reaction("reacted 👍 to agent-msg-1"), onOwn)).toBe(false);
    expect(decideTurn(reaction("removed 👍 to agent-msg-1"), facts)).toEqual({ turn: false, reason: "reaction_removed" });
  });

  it("a reply to the agent or a message naming it is addressed and acknowledged", () => {
    const facts = room().facts();
    const toAgent = reply('reply to "Hike at 9?" (agent-msg-1): sounds good');
    const decision = decideTurn(toAgent, facts);
    expect(decision).toEqual({ turn: true, addressed: true, reason: "reply_to_agent" });
    expect(wantsAcknowledgement(toAgent, decision)).toBe(true);
    expect(decideTurn(text("ava, can you book it?"), facts)).toMatchObject({ addressed: true, reason: "names_agent" });
    expect(decideTurn(reply("reply to jons-msg: sounds good"), facts)).toEqual({ turn: true, addressed: false, reason: "ambient" });
  });

  it("ordinary chatter between people is an ambient turn the model may stay silent on", () => {
    const decision = decideTurn(text("Jon, are you driving?"), room().facts());
    expect(decision).toEqual({ turn: true, addressed: false, reason: "ambient" });
    expect(wantsAcknowledgement(text("x"), decision)).toBe(false);
  });

  it("alone with one person, everything they say is addressed to the agent", () => {
    expect(decideTurn(text("what's the weather tomorrow?"), room(["maya"]).facts())).toEqual({ turn: true, addressed: true, reason: "only_person" });
  });

  it("ignores the agent's own messages and empty text", () => {
    expect(decideTurn(message("hi", "text", { id: AGENT, name: "Ava" }), room().facts())).toEqual({ turn: false, reason: "own_message" });
    expect(decideTurn(text("   "), room().facts())).toEqual({ turn: false, reason: "empty" });
  });

  it("recognises the name as a word, not inside another word", () => {
    expect(namesAgent("Hey @Ava!", "Ava")).toBe(true);
    expect(namesAgent("AVA?", "Ava")).toBe(true);
    expect(namesAgent("we went to Java and Avalon", "Ava")).toBe(false);
    expect(namesAgent("ask trip  planner", "Trip Planner")).toBe(true);
    expect(namesAgent("anything", null)).toBe(false);
  });
});

describe("what the agent knows of the room", () => {
  it("follows renames, joins and departures announced by group updates", () => {
    const state = room();
    state.observe(update('Maya changed group name to "Lisbon trip"; Maya added Priya'));
    expect(state.conversationName).toBe("Lisbon trip");
    expect(state.memberNames()).toEqual(["Jon", "Maya", "Priya"]);
    state.observe(update("Jon left the group; Maya removed Priya"));
    expect(state.memberNames()).toEqual(["Maya"]);
    expect(state.facts().memberIds).toEqual(new Set(["maya"]));
  });

  it("counts members known only by name, so a newcomer makes the room a group", () => {
    const state = room(["maya"]);
    state.observe(update("Maya added Priya"));
    expect(decideTurn(text("what's the plan?"), state.facts())).toEqual({ turn: true, addressed: false, reason: "ambient" });
  });

  it("admin changes neither add nor remove members", () => {
    const state = room();
    state.observe(update("Maya made Jon an admin; Maya removed Jon as admin"));
    expect(state.memberNames()).toEqual(["Jon", "Maya"]);
  });

  it("remembers its own messages across a restart, so replies to them stay addressed", () => {
    const file = path.join(tempDir("own"), "convos-own-messages.json");
    const before = new RoomState({ selfName: "Ava", ownMessagesFile: file });
    before.rememberOwn("agent-msg-9");
    const after = new RoomState({ selfName: "Ava", ownMessagesFile: file });
    after.ready({ inboxId: AGENT, name: "Weekend plans" });
    after.member("maya", "Maya");
    after.member("jon", "Jon");
    expect(decideTurn(reply("reply to agent-msg-9: yes please"), after.facts())).toEqual({ turn: true, addressed: true, reason: "reply_to_agent" });
  });

  it("learns names from senders and its own name from profile updates", () => {
    const state = room([]);
    state.observe(message("hi", "text", { id: "priya", name: "Priya" }));
    state.member(AGENT, "Ava 2");
    expect(state.memberNames()).toEqual(["Priya"]);
    expect(state.selfName).toBe("Ava 2");
  });
});

describe("markdown becomes readable plain text", () => {
  it("drops emphasis and heading markers, keeps lists and links readable", () => {
    const md = [
      "## Plan for **Saturday**",
      "",
      "- Hike at *9*, meet at the [trailhead](https://maps.example/t)",
      "* Lunch: __market__ ~~or pier~~",
      "1. Bring `sunscreen_spf50`",
      "",
      "",
      "> check the weather",
      "---",
      "See <https://weather.example> or https://x.example/a_b_c",
    ].join("\n");
    expect(markdownToPlainText(md)).toBe(
      [
        "Plan for Saturday",
        "",
        "• Hike at 9, meet at the trailhead (https://maps.example/t)",
        "• Lunch: market or pier",
        "1. Bring sunscreen_spf50",
        "",
        "│ check the weather",
        "See https://weather.example or https://x.example/a_b_c",
      ].join("\n"),
    );
  });

  it("keeps code verbatim and turns tables into rows", () => {
    expect(markdownToPlainText("```js\nconst a = **b**;\n```")).toBe("const a = **b**;");
    expect(markdownToPlainText("| Day | Plan |\n|---|---|\n| Sat | **Hike** |")).toBe("Day · Plan\nSat · Hike");
  });

  it("leaves plain text, snake_case and arithmetic alone", () => {
    for (const s of ["Meet at 9, ok?", "file_name_v2.txt", "2 * 3 * 4 = 24", "a_b and c_d"]) expect(markdownToPlainText(s)).toBe(s);
  });
});

describe("the greeting", () => {
  it("says who the agent is, its brief and how to reach it", () => {
    expect(greetingText("Ava", "Help the group plan trips. Keep a shared list.")).toBe(
      'Hi everyone, I\'m Ava, an AI agent in this chat. My brief: Help the group plan trips. Say "Ava" or reply to one of my messages when you need me.',
    );
    expect(greetingText(null, "")).toBe("Hi everyone, I'm an AI agent in this chat. Reply to one of my messages when you need me.");
    expect(briefFromInstructions("# Role\n- " + "x".repeat(300))!.length).toBeLessThanOrEqual(160);
  });

  it("is sent once per conversation (create, then an accepted join), and retried if the send failed", async () => {
    const marker = GreetingMarker.besideBinding(path.join(tempDir("greet"), "convos-binding.json"));
    const sent: string[] = [];
    type Send = (text: string) => Promise<{ messageId: string | null }>;
    const send: Send = async (text) => (sent.push(text), { messageId: `m${sent.length}` });
    const failing: Send = async () => {
      throw new Error("stream_unavailable");
    };
    const INSTR = "Plan trips.";
    const greet = (conversationId: string, s: Send = send) => greetOnce({ conversationId, marker, name: "Ava", instructions: INSTR, send: s });
    await expect(greet("c1", failing)).rejects.toThrow(/stream_unavailable/u);
    expect(await greet("c1")).toBe(true);
    expect(await greet("c1")).toBe(false); // a restart: the stream is ready again
    expect(await greet("c2")).toBe(true); // a new conversation (after a reset)
    expect(sent).toEqual([greetingText("Ava", INSTR), greetingText("Ava", INSTR)]);
  });

  it("is recorded once per conversation on disk", () => {
    const dir = tempDir("greeting");
    const marker = GreetingMarker.besideBinding(path.join(dir, "convos-binding.json"));
    expect(marker.greeted("c1")).toBe(false);
    marker.record("c1", "msg-1");
    expect(new GreetingMarker(marker.file).greeted("c1")).toBe(true);
    expect(marker.greeted("c2")).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(["convos-greeting.json"]);
  });
});

describe("what the model is told each turn", () => {
  it("carries the agent's name and its owner's instructions as the group system prompt", () => {
    const prompt = groupSystemPrompt("Ava", "Plan trips.\nBe brief.");
    expect(prompt).toContain('Your name in this Convos group chat is "Ava"');
    expect(prompt).toContain("<instructions>\nPlan trips.\nBe brief.\n</instructions>");
    expect(groupSystemPrompt(null, "  ")).not.toContain("<instructions>");
  });

  it("names the room, its members, the reply target, the addressing and the time", () => {
    const state = room();
    const msg = reply('reply to "Hike at 9?" (agent-msg-1): sounds good');
    const fields = turnContextFields({
      msg,
      decision: decideTurn(msg, state.facts()),
      room: { selfName: "Ava", conversationName: "Weekend plans", memberNames: state.memberNames() },
      instructions: null,
      now: new Date("2026-12-02T10:00:00Z"),
    });
    expect(fields).toMatchObject({
      GroupSubject: "Weekend plans",
      GroupMembers: "Jon, Maya (and you, Ava)",
      ReplyToId: "agent-msg-1",
      ReplyToBody: "Hike at 9?",
      ReplyToSender: "you (Ava)",
      ImplicitMentionKinds: ["reply_to_bot"],
      ChannelStructuredContext: [
        { label: "Convos turn", source: "convos", type: "turn", payload: { addressing: "addressed to you: it replies to one of your messages", current_time: "2026-12-02T10:00:00.000Z" } },
      ],
    });
    expect(fields.WasMentioned).toBeUndefined();
  });
});

describe("files in and out", () => {
  const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);

  it("refuses what is declared too big before downloading, and expects images by type or name", () => {
    expect(planAttachment({ filename: "a.mov", mimeType: null, bytes: 20 * 1024 * 1024 })).toEqual({
      action: "refuse",
      reason: "too_large",
      line: '"a.mov" is too big for me to open (20.0 MB; I can take files up to 10.0 MB).',
    });
    expect(planAttachment({ filename: "IMG.JPG", mimeType: null, bytes: 10 })).toEqual({ action: "download", expect: "image" });
    expect(planAttachment({ filename: null, mimeType: "application/pdf", bytes: null })).toEqual({ action: "download", expect: "file" });
  });

  it("trusts bytes, not labels", () => {
    expect(sniffImageType(PNG_HEAD)).toBe("image/png");
    expect(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe("image/jpeg");
    expect(sniffImageType(Buffer.from("GIF89a......"))).toBe("image/gif");
    expect(sniffImageType(Buffer.from("RIFF\0\0\0\0WEBPVP8 "))).toBe("image/webp");
    expect(sniffImageType(Buffer.from("<html>"))).toBeNull();
    const ws = tempDir("inspect");
    const fakeImage = path.join(ws, "cat.png");
    fs.writeFileSync(fakeImage, "not a png");
    expect(inspectDownloaded(fakeImage, ws, { filename: "cat.png", mimeType: "image/png", bytes: null }, "image")).toMatchObject({ ok: false, reason: "not_an_image" });
    expect(fs.existsSync(fakeImage)).toBe(false);
    const real = path.join(ws, "a.png");
    fs.writeFileSync(real, PNG_HEAD);
    expect(inspectDownloaded(real, ws, { filename: "a.png", mimeType: null, bytes: null }, "image")).toEqual({
      ok: true,
      stored: { kind: "image", path: real, relativePath: "a.png", filename: "a.png", contentType: "image/png", bytes: 12 },
    });
  });

  it("keeps downloaded names inside the attachments folder", () => {
    expect(safeFileName("../../etc/passwd", "abc123")).toBe("abc123-passwd");
    expect(safeFileName(".env", "m1")).toBe("m1-env");
    expect(safeFileName(null, "m1")).toBe("m1-attachment");
  });

  it("sends only files inside the workspace, symlinks included", () => {
    const root = tempDir("ws-root");
    const ws = path.join(root, "workspace");
    fs.mkdirSync(ws);
    fs.writeFileSync(path.join(ws, "plan.txt"), "x");
    fs.writeFileSync(path.join(root, "convos-binding.json"), "{}");
    fs.symlinkSync(path.join(root, "convos-binding.json"), path.join(ws, "link.json"));
    expect(resolveWorkspaceFile(ws, "plan.txt")).toBe(fs.realpathSync(path.join(ws, "plan.txt")));
    expect(() => resolveWorkspaceFile(ws, "../convos-binding.json")).toThrow(/outside the workspace/u);
    expect(() => resolveWorkspaceFile(ws, "link.json")).toThrow(/outside the workspace/u);
    expect(() => resolveWorkspaceFile(ws, "missing.txt")).toThrow(/no file/u);
  });
});

describe("profile updates", () => {
  it("accepts a one-line name and an https or workspace image, and names what is wrong", () => {
    const ws = tempDir("profile");
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
    fs.writeFileSync(path.join(ws, "me.png"), png);
    fs.writeFileSync(path.join(ws, "notes.txt"), "hello");
    expect(profileUpdate({ name: " Ava Bot " }, ws)).toEqual({ name: "Ava Bot" });
    expect(profileUpdate({ image: "https://img.example/a.png" }, ws)).toEqual({ image: "https://img.example/a.png" });
    // The CLI fetch()es the image: a workspace file goes as a data: URL.
    expect(profileUpdate({ image: "me.png" }, ws)).toEqual({ image: `data:image/png;base64,${png.toString("base64")}` });
    expect(() => profileUpdate({ image: "notes.txt" }, ws)).toThrow(/image: notes.txt is not a PNG, JPEG, GIF or WebP image/u);
    expect(() => profileUpdate({}, ws)).toThrow(/give a name and\/or an image/u);
    expect(() => profileUpdate({ name: "a\nb" }, ws)).toThrow(/name: name must be one line/u);
    expect(() => profileUpdate({ image: "http://img.example/a.png" }, ws)).toThrow(/https URL or an image file/u);
    expect(() => profileUpdate({ image: "../../etc/passwd" }, ws)).toThrow(/image: .*outside the workspace|image: no file/u);
  });
});
